"""Retrieval metrics: a thin layer over ir-measures (which runs trec_eval via pytrec_eval).

No measure is implemented here. This module only resolves measure names, applies the relevance
threshold for binary measures, and decides which queries are averaged:

- every query in the qrels (with at least one judgment) is evaluated; a query without run entries
  scores the measure's default (0) and counts in the mean, as ``trec_eval -c`` does. The missing
  queries are added explicitly here, so the result does not depend on the ir-measures version;
- a qrels query whose judgments are all below the threshold is still evaluated (it scores 0);
- run queries that are not in the qrels are ignored (counted in ``num_run_queries_not_in_qrels``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import ir_measures
from ir_measures import Measure

from qcpt.errors import QcptError

DEFAULT_MEASURES: tuple[str, ...] = ("nDCG@10", "RR@10", "R@50", "R@100", "R@1000", "AP")

Qrels = Mapping[str, Mapping[str, int]]
RunLike = Mapping[str, Mapping[str, float]]


def parse_measures(names: Sequence[str], min_relevance: int = 1) -> list[tuple[str, Measure]]:
    """Resolve measure names to ``(display name, ir-measures Measure)`` pairs, in the given order.

    Any ir-measures string is accepted ("nDCG@10", "RR@10", "R@1000", "AP" or its alias "MAP",
    "R(rel=3)@10", ...). Binary measures (those with a ``rel`` parameter) without an explicit
    ``rel`` get ``rel=min_relevance``; graded ones (nDCG) keep graded gains. The display name is
    the name as typed; repeated names are kept once. Raises QcptError listing every bad name.
    """
    if min_relevance < 1:
        raise QcptError(f"min_relevance must be at least 1, got {min_relevance}")
    if not names:
        raise QcptError("no measures given")
    resolved: dict[str, Measure] = {}
    problems = []
    for name in names:
        name = name.strip()
        if name in resolved:
            continue
        try:
            measure = ir_measures.parse_measure(name)
        except Exception as error:  # ir-measures raises NameError, ValueError, SyntaxError...
            problems.append(f"{name!r}: {error}")
            continue
        if "rel" in measure.SUPPORTED_PARAMS and "rel" not in measure.params:
            measure = measure(rel=min_relevance)
        resolved[name] = measure
    if problems:
        raise QcptError(
            "unknown or invalid measure(s): "
            + "; ".join(problems)
            + " (use ir-measures names, e.g. nDCG@10, RR@10, R@1000, AP)"
        )
    return list(resolved.items())


@dataclasses.dataclass(frozen=True)
class EvaluationSettings:
    """How a run was evaluated: measure names as typed, the ir-measures measure each resolved to
    (e.g. "R(rel=2)@50"), the binary relevance threshold and whether self-hits were dropped."""

    measures: tuple[str, ...]
    resolved: dict[str, str]
    min_relevance: int
    ignore_identical_ids: bool


@dataclasses.dataclass
class EvaluationResult:
    """Scores of one run.

    ``aggregate``: measure -> mean over the ``num_queries`` qrels queries (queries without
    results count as 0). ``per_query``: qid -> measure -> value, if asked for.
    ``num_queries_without_results``: qrels queries absent from the run (after dropping self-hits).
    ``num_run_queries_not_in_qrels``: run queries that were ignored.
    """

    aggregate: dict[str, float]
    per_query: dict[str, dict[str, float]] | None
    num_queries: int
    num_queries_without_results: int
    num_run_queries_not_in_qrels: int
    settings: EvaluationSettings

    def to_json(self) -> dict[str, Any]:
        """Plain dict for a metrics JSON file (``per_query`` only if it was computed)."""
        out: dict[str, Any] = {
            "aggregate": dict(self.aggregate),
            "num_queries": self.num_queries,
            "num_queries_without_results": self.num_queries_without_results,
            "num_run_queries_not_in_qrels": self.num_run_queries_not_in_qrels,
            "settings": {
                "measures": list(self.settings.measures),
                "ir_measures": dict(self.settings.resolved),
                "min_relevance": self.settings.min_relevance,
                "ignore_identical_ids": self.settings.ignore_identical_ids,
                "ir_measures_version": ir_measures.__version__,
            },
        }
        if self.per_query is not None:
            out["per_query"] = {qid: dict(values) for qid, values in self.per_query.items()}
        return out


def evaluate_run(
    qrels: Qrels,
    run: RunLike,
    measures: Sequence[str] = DEFAULT_MEASURES,
    *,
    min_relevance: int = 1,
    ignore_identical_ids: bool = False,
    per_query: bool = False,
) -> EvaluationResult:
    """Score ``run`` ({qid: {docid: score}}) against ``qrels`` ({qid: {docid: grade}}).

    ``measures`` are ir-measures names (see :func:`parse_measures`); ``min_relevance`` is the
    lowest grade that counts as relevant for binary measures (TREC DL: 2);
    ``ignore_identical_ids`` drops run entries whose docid equals the qid (BEIR practice).
    Averages over all qrels queries (see the module notes). Raises QcptError for bad measures,
    empty qrels, or a measure that ir-measures cannot compute with these parameters.
    """
    parsed = parse_measures(measures, min_relevance)
    qrels_used = {
        str(qid): {str(doc): int(grade) for doc, grade in docs.items()}
        for qid, docs in qrels.items()
        if docs
    }
    if not qrels_used:
        raise QcptError("qrels have no judged queries: nothing to evaluate")

    run_used: dict[str, dict[str, float]] = {}
    for qid, docs in run.items():
        if qid not in qrels_used:
            continue
        kept = {
            docid: float(score)
            for docid, score in docs.items()
            if not (ignore_identical_ids and docid == qid)
        }
        if kept:
            run_used[qid] = kept
    ignored = sum(1 for qid in run if qid not in qrels_used)

    unique = list(dict.fromkeys(measure for _, measure in parsed))
    values: dict[str, dict[Measure, float]] = {qid: {} for qid in qrels_used}
    try:
        for metric in ir_measures.iter_calc(unique, qrels_used, run_used):
            values[metric.query_id][metric.measure] = float(metric.value)
    except Exception as error:  # pytrec_eval reports bad parameters as TypeError/ValueError
        names = ", ".join(repr(measure) for measure in unique)
        raise QcptError(f"ir-measures could not compute {names}: {error}") from error

    aggregate: dict[str, float] = {}
    for name, measure in parsed:
        aggregator = measure.aggregator()
        for qid in qrels_used:
            # A query with no run entries: added with the measure's default (0), as trec_eval -c.
            aggregator.add(values[qid].get(measure, float(measure.DEFAULT)))
        aggregate[name] = float(aggregator.result())

    table = None
    if per_query:
        table = {
            qid: {
                name: values[qid].get(measure, float(measure.DEFAULT)) for name, measure in parsed
            }
            for qid in sorted(qrels_used)
        }
    settings = EvaluationSettings(
        measures=tuple(name for name, _ in parsed),
        resolved={name: repr(measure) for name, measure in parsed},
        min_relevance=min_relevance,
        ignore_identical_ids=ignore_identical_ids,
    )
    return EvaluationResult(
        aggregate=aggregate,
        per_query=table,
        num_queries=len(qrels_used),
        num_queries_without_results=sum(1 for qid in qrels_used if qid not in run_used),
        num_run_queries_not_in_qrels=ignored,
        settings=settings,
    )
