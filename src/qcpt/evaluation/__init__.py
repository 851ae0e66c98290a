"""Evaluation: TREC run files, ir-measures metrics, and metric tables."""

from qcpt.evaluation.metrics import (
    DEFAULT_MEASURES,
    EvaluationResult,
    EvaluationSettings,
    evaluate_run,
    parse_measures,
)
from qcpt.evaluation.report import metrics_markdown, metrics_table
from qcpt.evaluation.runs import (
    Run,
    merge_runs,
    ranked,
    read_run,
    reciprocal_rank_fusion,
    write_run,
)

__all__ = [
    "DEFAULT_MEASURES",
    "EvaluationResult",
    "EvaluationSettings",
    "Run",
    "evaluate_run",
    "merge_runs",
    "metrics_markdown",
    "metrics_table",
    "parse_measures",
    "ranked",
    "read_run",
    "reciprocal_rank_fusion",
    "write_run",
]
