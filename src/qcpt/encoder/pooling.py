"""The vector of a passage or query: pooling of the last layer's token states.

Inference reads the encoder's last layer only ([CLS] as the papers, or the mean of the tokens
where the base model was trained with it); heads and decoders of pre-training are discarded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qcpt.errors import QcptError

if TYPE_CHECKING:  # torch is imported by the callers that hold tensors, not by `qcpt --help`
    import torch
    from torch import nn


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """[CLS] vector (position 0) or the mean of the non-padding token vectors."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    raise QcptError(f"unknown pooling {pooling!r}; use cls or mean")


def freeze_pooler(encoder: nn.Module) -> None:
    """Stop training a BERT-style ``pooler`` layer: no qcpt vector reads it, and a trained but
    unused layer only costs optimizer state (and DDP's unused-parameter checks)."""
    from torch import nn

    pooler = getattr(encoder, "pooler", None)
    if isinstance(pooler, nn.Module):
        pooler.requires_grad_(False)
