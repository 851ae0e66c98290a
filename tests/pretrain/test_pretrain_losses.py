"""Loss terms against hand-computed values."""

from __future__ import annotations

import math

import torch
from torch import nn

from qcpt.pretrain.losses import masked_lm_loss, next_token_loss, pair_infonce


def test_pair_infonce_matches_a_hand_computed_value():
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    c = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    loss = pair_infonce(p, c, temperature=0.5)
    vectors = [p[0], p[1], c[0], c[1]]
    partner = [2, 3, 0, 1]
    expected = 0.0
    for i, v in enumerate(vectors):
        scores = {j: float(v @ w) / 0.5 for j, w in enumerate(vectors) if j != i}
        expected += -scores[partner[i]] + math.log(sum(math.exp(s) for s in scores.values()))
    assert math.isclose(float(loss), expected / 4, rel_tol=1e-6)


def test_masked_lm_loss_is_the_sum_over_masked_positions_only():
    torch.manual_seed(0)
    head = nn.Linear(4, 7)
    hidden = torch.randn(2, 3, 4)
    labels = torch.tensor([[-100, 3, -100], [5, -100, 1]])
    total, count = masked_lm_loss(hidden, labels, head)
    logits = head(hidden)
    expected = nn.functional.cross_entropy(
        logits.view(-1, 7), labels.view(-1), ignore_index=-100, reduction="sum"
    )
    assert int(count) == 3
    torch.testing.assert_close(total, expected)
    empty, none = masked_lm_loss(hidden, torch.full((2, 3), -100), head)
    assert int(none) == 0 and float(empty) == 0.0


def test_next_token_loss_predicts_token_t_plus_1_and_skips_padding():
    torch.manual_seed(0)
    head = nn.Linear(4, 9)
    hidden = torch.randn(2, 4, 4)
    ids = torch.tensor([[2, 5, 6, 3], [2, 7, 3, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    total, count = next_token_loss(hidden, ids, mask, head)
    logits = head(hidden)
    pairs = [(0, 0, 5), (0, 1, 6), (0, 2, 3), (1, 0, 7), (1, 1, 3)]
    expected = sum(
        nn.functional.cross_entropy(logits[b, t], torch.tensor(y), reduction="sum")
        for b, t, y in pairs
    )
    assert int(count) == 5
    torch.testing.assert_close(total, expected)
