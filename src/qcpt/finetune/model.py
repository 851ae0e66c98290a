"""Bi-encoder with shared weights: one Hugging Face encoder for queries and passages."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from torch import nn

from qcpt.encoder import freeze_pooler, pool
from qcpt.errors import QcptError


class BiEncoder(nn.Module):
    """Encodes tokenised queries and passages with one encoder; [CLS] or mean pooling.

    ``forward(query, passages)`` takes two tokenizer outputs (dicts of tensors) and returns
    ``(query_vectors, passage_vectors)``, L2-normalised when ``normalize``. A pooler layer the
    encoder may have (BERT's) does not feed the vectors, so it is frozen: distributed training
    then needs no search for unused parameters, and the saved checkpoint keeps it unchanged.

    Reference: Karpukhin et al. 2020 (DPR).
    """

    def __init__(self, encoder, pooling: Literal["cls", "mean"] = "cls", normalize: bool = False):
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise QcptError(f"unknown pooling {pooling!r}; use cls or mean")
        self.encoder = encoder
        self.pooling = pooling
        self.normalize = normalize
        freeze_pooler(encoder)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, pooling: Literal["cls", "mean"] = "cls", normalize: bool = False
    ) -> BiEncoder:
        """Load the encoder with ``AutoModel.from_pretrained`` in float32 (the trained copy)."""
        from transformers import AutoModel

        try:
            encoder = AutoModel.from_pretrained(str(path), dtype=torch.float32)
        except OSError as error:
            raise QcptError(f"cannot load encoder {str(path)!r}: {error}") from error
        return cls(encoder, pooling, normalize)

    def encode(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        """Vectors (batch, hidden) of one tokenised batch."""
        hidden = self.encoder(**tokens).last_hidden_state
        vectors = pool(hidden, tokens["attention_mask"], self.pooling)
        return nn.functional.normalize(vectors, dim=-1) if self.normalize else vectors

    def forward(
        self, query: dict[str, torch.Tensor], passages: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(query), self.encode(passages)

    def activation_checkpointing_enable(
        self,
        activation_checkpointing_kwargs: dict | None = None,
        every_n_layers: int = 1,
        offload: bool = False,
    ):
        """Recompute the encoder's activations in the backward pass (called by the Trainer)."""
        self.encoder.activation_checkpointing_enable(
            activation_checkpointing_kwargs=activation_checkpointing_kwargs,
            every_n_layers=every_n_layers,
            offload=offload,
        )
