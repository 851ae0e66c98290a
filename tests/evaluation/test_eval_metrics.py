"""Metrics against values computed by hand (trec_eval definitions, as ir-measures computes them).

Qrels (grades):   q1: d1=3, d2=1, d3=2, d4=0     q2: d5=1     q3: d6=2 (q3 is not in the run)
Run (score order): q1: d2, d9, d1, d4, d3          q2: q2 (a self-hit), d7, d5
                   q9: d1 (not in the qrels, must be ignored)

nDCG uses the grade as gain and 1/log2(rank + 1) as discount, the ideal ranking from the qrels:
  q1: DCG = 1/log2(2) + 3/log2(4) + 2/log2(6) = 1 + 1.5 + 0.773706 = 3.273706
      IDCG = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.261860 + 0.5 = 4.761860
      nDCG@10 = 3.273706 / 4.761860 = 0.687485
  q2: d5 (gain 1) at rank 3: DCG = 1/log2(4) = 0.5, IDCG = 1 -> 0.5
      without the self-hit d5 is at rank 2: 1/log2(3) = 0.630930
"""

from __future__ import annotations

import math

import pytest

from qcpt.errors import QcptError
from qcpt.evaluation import DEFAULT_MEASURES, evaluate_run, parse_measures

QRELS = {
    "q1": {"d1": 3, "d2": 1, "d3": 2, "d4": 0},
    "q2": {"d5": 1},
    "q3": {"d6": 2},
}
RUN = {
    "q1": {"d2": 0.9, "d9": 0.8, "d1": 0.7, "d4": 0.6, "d3": 0.5},
    "q2": {"q2": 1.0, "d7": 0.8, "d5": 0.6},
    "q9": {"d1": 1.0},
}
MEASURES = ["nDCG@10", "RR@10", "R@2", "R@3", "AP"]

NDCG_Q1 = (1 + 3 / math.log2(4) + 2 / math.log2(6)) / (3 + 2 / math.log2(3) + 1 / math.log2(4))
# q1 binary (grade >= 1): relevant d2, d1, d3 found at ranks 1, 3, 5 -> precisions 1/1, 2/3, 3/5.
AP_Q1 = (1 / 1 + 2 / 3 + 3 / 5) / 3


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-6)


def test_hand_computed_values_min_relevance_1():
    result = evaluate_run(QRELS, RUN, MEASURES, per_query=True)
    assert NDCG_Q1 == approx(0.6874847)
    # q1 relevant {d1, d2, d3}; hits at ranks 1, 3, 5.
    # q2 relevant {d5}; hit at rank 3.  q3 missing: 0 everywhere.
    assert result.per_query["q1"] == {
        "nDCG@10": approx(NDCG_Q1),  # 0.687485
        "RR@10": approx(1.0),  # first hit at rank 1
        "R@2": approx(1 / 3),  # d2 of 3
        "R@3": approx(2 / 3),  # d2, d1 of 3
        "AP": approx(AP_Q1),  # (1/1 + 2/3 + 3/5) / 3 = 0.755556
    }
    assert result.per_query["q2"] == {
        "nDCG@10": approx(0.5),
        "RR@10": approx(1 / 3),
        "R@2": approx(0.0),
        "R@3": approx(1.0),
        "AP": approx(1 / 3),
    }
    assert result.per_query["q3"] == {name: 0.0 for name in MEASURES}
    # Means over the 3 qrels queries, q3 counted as 0.
    assert result.aggregate == {
        "nDCG@10": approx((NDCG_Q1 + 0.5) / 3),  # 0.395828
        "RR@10": approx((1 + 1 / 3) / 3),  # 0.444444
        "R@2": approx((1 / 3) / 3),  # 0.111111
        "R@3": approx((2 / 3 + 1) / 3),  # 0.555556
        "AP": approx((AP_Q1 + 1 / 3) / 3),  # 0.362963
    }
    assert list(result.aggregate) == MEASURES
    assert result.num_queries == 3
    assert result.num_queries_without_results == 1
    assert result.num_run_queries_not_in_qrels == 1
    assert set(result.per_query) == {"q1", "q2", "q3"}


def test_min_relevance_2_changes_binary_measures_only():
    result = evaluate_run(QRELS, RUN, MEASURES, min_relevance=2, per_query=True)
    # q1 relevant {d1 (3), d3 (2)}: hits at ranks 3 and 5. q2 has no grade >= 2: binary 0.
    assert result.per_query["q1"] == {
        "nDCG@10": approx(NDCG_Q1),  # graded: unchanged
        "RR@10": approx(1 / 3),
        "R@2": approx(0.0),
        "R@3": approx(1 / 2),
        "AP": approx((1 / 3 + 2 / 5) / 2),  # 0.366667
    }
    assert result.per_query["q2"] == {
        "nDCG@10": approx(0.5),
        "RR@10": 0.0,
        "R@2": 0.0,
        "R@3": 0.0,
        "AP": 0.0,
    }
    assert result.aggregate == {
        "nDCG@10": approx((NDCG_Q1 + 0.5) / 3),  # 0.395828
        "RR@10": approx((1 / 3) / 3),  # 0.111111
        "R@2": approx(0.0),
        "R@3": approx((1 / 2) / 3),  # 0.166667
        "AP": approx((1 / 3 + 2 / 5) / 2 / 3),  # 0.122222
    }
    assert result.settings.min_relevance == 2
    assert result.settings.resolved["R@3"] == "R(rel=2)@3"


def test_ignore_identical_ids_removes_self_hit():
    result = evaluate_run(QRELS, RUN, MEASURES, ignore_identical_ids=True, per_query=True)
    # q2 ranking becomes d7, d5: d5 at rank 2.
    assert result.per_query["q2"] == {
        "nDCG@10": approx(1 / math.log2(3)),  # 0.630930
        "RR@10": approx(1 / 2),
        "R@2": approx(1.0),
        "R@3": approx(1.0),
        "AP": approx(1 / 2),
    }
    assert result.aggregate == {
        "nDCG@10": approx((NDCG_Q1 + 1 / math.log2(3)) / 3),  # 0.439471
        "RR@10": approx((1 + 1 / 2) / 3),  # 0.5
        "R@2": approx((1 / 3 + 1) / 3),  # 0.444444
        "R@3": approx((2 / 3 + 1) / 3),  # 0.555556
        "AP": approx((AP_Q1 + 1 / 2) / 3),  # 0.418519
    }


def test_self_hit_only_query_counts_as_without_results():
    run = {"q1": RUN["q1"], "q2": {"q2": 1.0}}
    result = evaluate_run(QRELS, run, ["RR@10"], ignore_identical_ids=True)
    assert result.num_queries_without_results == 2  # q2 (only its self-hit) and q3
    assert result.aggregate["RR@10"] == approx(1 / 3)  # (1 + 0 + 0) / 3


def test_run_only_queries_are_ignored():
    base = evaluate_run(QRELS, {k: v for k, v in RUN.items() if k != "q9"}, MEASURES)
    extra = dict(RUN, q10={"d5": 3.0, "d6": 2.0})
    result = evaluate_run(QRELS, extra, MEASURES, per_query=True)
    assert result.aggregate == {name: approx(value) for name, value in base.aggregate.items()}
    assert result.num_queries == 3
    assert result.num_run_queries_not_in_qrels == 2
    assert "q9" not in result.per_query and "q10" not in result.per_query


def test_missing_query_counts_as_zero_in_the_mean():
    only_q1 = evaluate_run(QRELS, {"q1": RUN["q1"]}, ["RR@10"])
    # q1 = 1, q2 and q3 missing = 0 -> 1/3, not 1.
    assert only_q1.aggregate["RR@10"] == approx(1 / 3)
    assert only_q1.num_queries_without_results == 2


def test_cutoff_excludes_later_hits():
    qrels = {"q": {"d11": 1}}
    run = {"q": {f"d{i}": 100.0 - i for i in range(1, 12)}}  # d11 at rank 11
    result = evaluate_run(qrels, run, ["RR@10", "RR@11", "R@10", "R@50"])
    assert result.aggregate == {"RR@10": 0.0, "RR@11": approx(1 / 11), "R@10": 0.0, "R@50": 1.0}


def test_default_measures_and_map_alias():
    result = evaluate_run(QRELS, RUN)
    assert tuple(result.aggregate) == DEFAULT_MEASURES
    # R@50/100/1000: all of q1 and q2 found, q3 missing -> 2/3.
    for name in ("R@50", "R@100", "R@1000"):
        assert result.aggregate[name] == approx(2 / 3)
    alias = evaluate_run(QRELS, RUN, ["MAP", "AP"])
    assert alias.aggregate == {"MAP": approx(0.3629630), "AP": approx(0.3629630)}
    assert alias.settings.measures == ("MAP", "AP")


def test_to_json():
    result = evaluate_run(QRELS, RUN, ["RR@10"], min_relevance=2)
    data = result.to_json()
    assert data["aggregate"] == {"RR@10": approx(1 / 9)}
    assert "per_query" not in data
    assert data["num_queries"] == 3
    assert data["num_queries_without_results"] == 1
    assert data["num_run_queries_not_in_qrels"] == 1
    assert data["settings"]["measures"] == ["RR@10"]
    assert data["settings"]["ir_measures"] == {"RR@10": "RR(rel=2)@10"}
    assert data["settings"]["min_relevance"] == 2
    assert data["settings"]["ignore_identical_ids"] is False
    with_queries = evaluate_run(QRELS, RUN, ["RR@10"], per_query=True).to_json()
    assert with_queries["per_query"]["q2"] == {"RR@10": approx(1 / 3)}


def test_empty_qrels_is_an_error():
    with pytest.raises(QcptError, match="nothing to evaluate"):
        evaluate_run({"q1": {}}, RUN)


def test_uncomputable_measure_is_a_qcpt_error():
    with pytest.raises(QcptError, match="could not compute"):
        evaluate_run(QRELS, RUN, ["R(rel=0)@5"])


# --- parse_measures -------------------------------------------------------------------------


def test_parse_measures_sets_rel_on_binary_measures_only():
    parsed = dict(parse_measures(["nDCG@10", "RR@10", "R@1000", "AP", "P@5", "Judged@10"], 2))
    assert list(parsed) == ["nDCG@10", "RR@10", "R@1000", "AP", "P@5", "Judged@10"]
    assert "rel" not in parsed["nDCG@10"].params
    assert "rel" not in parsed["Judged@10"].params
    for name in ("RR@10", "R@1000", "AP", "P@5"):
        assert parsed[name].params["rel"] == 2, name
    assert parsed["R@1000"].params["cutoff"] == 1000
    assert repr(parsed["RR@10"]) == "RR(rel=2)@10"


def test_parse_measures_keeps_explicit_rel_and_spelling():
    parsed = parse_measures(["R(rel=3)@10", "MAP", "MAP"], min_relevance=2)
    assert [name for name, _ in parsed] == ["R(rel=3)@10", "MAP"]
    assert parsed[0][1].params == {"rel": 3, "cutoff": 10}
    assert repr(parsed[1][1]) == "AP(rel=2)"


def test_parse_measures_unknown_names_are_listed():
    with pytest.raises(QcptError) as info:
        parse_measures(["nDCG@10", "foo@10", "R@ten"])
    message = str(info.value)
    assert "'foo@10'" in message and "'R@ten'" in message
    assert "'nDCG@10'" not in message


@pytest.mark.parametrize("names, min_relevance", [([], 1), (["AP"], 0)])
def test_parse_measures_bad_arguments(names, min_relevance):
    with pytest.raises(QcptError):
        parse_measures(names, min_relevance)


def test_run_without_any_qrels_query_scores_zero():
    result = evaluate_run(QRELS, {"q9": {"d1": 1.0}}, ["nDCG@10", "AP"])
    assert result.aggregate == {"nDCG@10": 0.0, "AP": 0.0}
    assert result.num_queries_without_results == 3
