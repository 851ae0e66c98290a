"""Per-query statistics for comparing retrieval systems: bootstrap confidence intervals of a
mean, paired t-tests, and the Benjamini-Hochberg correction for a family of tests (all scipy).

Per-query scores are mappings ``query id -> score``; a comparison uses the queries both systems
were scored on.

Reference: Smucker, Allan & Carterette, "A Comparison of Statistical Significance Tests for
Information Retrieval Evaluation" (CIKM 2007): the paired t-test agrees with randomisation
tests on IR metrics; Benjamini & Hochberg (1995) for the false discovery rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

TEST_NAME = "two-sided paired t-test (scipy.stats.ttest_rel)"
CORRECTION_NAME = "Benjamini-Hochberg (scipy.stats.false_discovery_control)"
INTERVAL_NAME = "95 % percentile bootstrap over queries (scipy.stats.bootstrap, 10,000 resamples)"


def bootstrap_interval(
    values: Sequence[float], *, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (one value per query)."""
    from scipy import stats

    data = np.asarray(values, dtype=float)
    if len(data) < 2 or np.all(data == data[0]):
        mean = float(data.mean()) if len(data) else float("nan")
        return mean, mean
    result = stats.bootstrap(
        (data,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def paired_comparison(
    system: Mapping[str, float], baseline: Mapping[str, float], *, seed: int = 0
) -> dict[str, float | int]:
    """``system`` minus ``baseline`` on their common queries: mean difference, its bootstrap
    interval, the paired t statistic and two-sided p-value, and the number of queries."""
    from scipy import stats

    common = sorted(set(system) & set(baseline))
    a = np.array([system[q] for q in common], dtype=float)
    b = np.array([baseline[q] for q in common], dtype=float)
    difference = a - b
    low, high = bootstrap_interval(difference, seed=seed)
    if len(common) < 2 or np.all(difference == difference[0]):
        t, p = 0.0, 1.0  # no variation: nothing to test
    else:
        test = stats.ttest_rel(a, b)
        t, p = float(test.statistic), float(test.pvalue)
    return {
        "mean_difference": float(difference.mean()) if len(common) else float("nan"),
        "ci_low": low,
        "ci_high": high,
        "t": t,
        "p_value": p,
        "queries": len(common),
    }


def adjust_p_values(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values of one family of tests (same order)."""
    from scipy import stats

    if not p_values:
        return []
    return [
        float(p) for p in stats.false_discovery_control(np.asarray(p_values, float), method="bh")
    ]
