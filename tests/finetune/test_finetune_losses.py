"""The contrastive loss against cross-entropy computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from qcpt.finetune.losses import contrastive_loss

# Two queries, group size 2: passages [pos_0, neg_0, pos_1, neg_1], temperature 0.5.
QUERIES = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
PASSAGES = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [1.0, 1.0]])


def hand_computed_loss() -> float:
    """scores / 0.5: q0 -> [2, 1, 0, 2] (target 0), q1 -> [0, 1, 2, 2] (target 2).

    Each row's cross-entropy is log(e^2 + e^1 + e^0 + e^2) - 2 = log(2e^2 + e + 1) - 2, so the
    mean over the two queries is that same number (about 0.9176).
    """
    return math.log(2 * math.e**2 + math.e + 1) - 2


def test_loss_equals_hand_computed_cross_entropy():
    loss = contrastive_loss(QUERIES, PASSAGES, group_size=2, temperature=0.5)
    assert loss.item() == pytest.approx(hand_computed_loss(), rel=1e-6)
    assert hand_computed_loss() == pytest.approx(0.91758, abs=1e-5)


def test_query_offset_points_at_the_global_positive():
    """Query 1 alone, scored against the whole batch: its positive is passage 1 x 2 = 2."""
    loss = contrastive_loss(QUERIES[1:], PASSAGES, group_size=2, temperature=0.5, query_offset=1)
    assert loss.item() == pytest.approx(hand_computed_loss(), rel=1e-6)


def test_in_batch_passages_are_negatives():
    """Moving the other group's passages towards query 0 raises query 0's loss."""
    closer = PASSAGES.clone()
    closer[3] = torch.tensor([3.0, 0.0])
    before = contrastive_loss(QUERIES[:1], PASSAGES, group_size=2, temperature=0.5)
    after = contrastive_loss(QUERIES[:1], closer, group_size=2, temperature=0.5)
    assert after > before


def test_bf16_vectors_are_scored_in_float32():
    loss = contrastive_loss(QUERIES.bfloat16(), PASSAGES.bfloat16(), group_size=2, temperature=0.5)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(hand_computed_loss(), rel=1e-6)
