"""Masked-language-model loss, computed on the masked positions only."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_INDEX = -100


def masked_lm_loss(
    hidden: torch.Tensor, labels: torch.Tensor, head: nn.Module
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy of the MLM ``head`` at the masked positions, and their count.

    Inputs: token states ``hidden`` (batch, length, dim), ``labels`` (batch, length) holding the
    original token id at masked positions and -100 elsewhere, and the MLM head (states ->
    vocabulary logits). Only the masked positions go through the head: with 15-30 % masking
    this skips most of the vocabulary projection, the largest matrix of a small encoder.
    Returns ``(sum, count)``; the caller divides by the count of the whole (global) batch, so
    chunked and multi-process runs give the loss of the full batch.

    Reference: Devlin et al., "BERT" (2019); Gao & Callan, "Condenser" (2021).
    """
    selected = labels != IGNORE_INDEX
    count = selected.sum()
    if not bool(count):
        return hidden.sum() * 0.0, count
    logits = head(hidden[selected])
    return F.cross_entropy(logits.float(), labels[selected], reduction="sum"), count
