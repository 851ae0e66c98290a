"""Next-token loss of an autoregressive decoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def next_token_loss(
    hidden: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor, head: nn.Module
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy of predicting token t + 1 from the decoder state at t, and the count.

    Inputs: decoder states ``hidden`` (batch, length, dim) over ``[encoder vector, context
    tokens 1..]``, the context's ``input_ids`` and ``attention_mask`` (batch, length) and the
    vocabulary head. Targets are the context tokens 1..length-1 (the [CLS] at 0 is replaced by
    the encoder vector and never predicted); padding is skipped. Returns ``(sum, count)``.

    Reference: Wu et al., "Query-as-context Pre-training for Dense Passage Retrieval" (2023),
    CoT-MAE-qc's decoder.
    """
    targets = input_ids[:, 1:]
    selected = attention_mask[:, 1:].bool()
    count = selected.sum()
    if not bool(count):
        return hidden.sum() * 0.0, count
    logits = head(hidden[:, :-1][selected])
    return F.cross_entropy(logits.float(), targets[selected], reduction="sum"), count
