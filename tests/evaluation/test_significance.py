"""Paired t-test, bootstrap interval, Benjamini-Hochberg and RRF against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from qcpt.evaluation import reciprocal_rank_fusion
from qcpt.evaluation.significance import (
    adjust_p_values,
    bootstrap_interval,
    paired_comparison,
)


def test_paired_t_test_matches_the_hand_computed_case():
    # differences 0.1, 0.1, 0.3, -0.1: mean 0.1, sd sqrt(0.08 / 3), t = 0.1 / (sd / 2)
    system = {"q1": 0.5, "q2": 0.6, "q3": 0.9, "q4": 0.4, "only-here": 1.0}
    baseline = {"q1": 0.4, "q2": 0.5, "q3": 0.6, "q4": 0.5}
    result = paired_comparison(system, baseline)
    t = 0.1 / (math.sqrt(0.08 / 3) / 2)
    # Student's t with 3 degrees of freedom: CDF(t) = 1/2 + (u / (1 + u^2) + atan(u)) / pi,
    # u = t / sqrt(3)
    u = t / math.sqrt(3)
    p = 2 * (1 - (0.5 + (u / (1 + u * u) + math.atan(u)) / math.pi))
    assert result["queries"] == 4  # only the common queries
    assert result["mean_difference"] == pytest.approx(0.1)
    assert result["t"] == pytest.approx(t) == pytest.approx(1.2247449)
    assert result["p_value"] == pytest.approx(p) == pytest.approx(0.308068, abs=1e-6)
    assert result["ci_low"] <= 0.1 <= result["ci_high"]


def test_identical_systems_give_p_one_and_a_point_interval():
    scores = {"a": 0.2, "b": 0.7}
    result = paired_comparison(scores, scores)
    assert result["p_value"] == 1.0 and result["ci_low"] == result["ci_high"] == 0.0


def test_bootstrap_interval_covers_the_mean_and_narrows_with_more_queries():
    small = bootstrap_interval([0.0, 1.0] * 10)
    large = bootstrap_interval([0.0, 1.0] * 1000)
    assert small[0] < 0.5 < small[1] and large[0] < 0.5 < large[1]
    assert large[1] - large[0] < (small[1] - small[0]) / 5
    assert bootstrap_interval([0.3, 0.3, 0.3]) == (0.3, 0.3)


def test_benjamini_hochberg_matches_the_hand_computed_case():
    # sorted 0.01, 0.03, 0.04, 0.2 -> p * 4 / rank = 0.04, 0.06, 0.0533, 0.2, then the
    # running minimum from the largest rank down
    adjusted = adjust_p_values([0.01, 0.04, 0.03, 0.2])
    assert adjusted == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])
    assert adjust_p_values([]) == []


def test_reciprocal_rank_fusion_scores_one_over_60_plus_rank():
    first = {"q1": {"d1": 3.0, "d2": 2.0}, "q2": {"d3": 1.0, "d1": 0.5}}
    second = {"q1": {"d2": 9.0, "d3": 1.0}, "q2": {"d1": 2.0}}
    fused = reciprocal_rank_fusion([first, second])
    # the values ranx 0.3.21 fuse(method="rrf") gives for these runs
    assert fused["q1"] == pytest.approx({"d2": 1 / 62 + 1 / 61, "d1": 1 / 61, "d3": 1 / 62})
    assert list(fused["q1"]) == ["d2", "d1", "d3"]
    assert fused["q2"]["d1"] == pytest.approx(0.03252247488101534)
    assert list(reciprocal_rank_fusion([first, second], depth=1)["q1"]) == ["d2"]
