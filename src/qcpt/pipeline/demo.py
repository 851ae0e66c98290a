"""The main job for a newcomer: BM25 and zero-shot all-MiniLM-L6-v2 side by side.

For each dataset, both systems are run through the same path as ``qcpt eval-model`` and the
results are printed as a table and written as ``results.md`` and ``results.json``.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from qcpt.data import resolve_dataset
from qcpt.encoder import DEFAULT_MODEL
from qcpt.evaluation import DEFAULT_MEASURES, metrics_markdown, metrics_table
from qcpt.retrieval import EncoderSettings
from qcpt.retrieval.evaluate import evaluate_bm25, evaluate_dense
from qcpt.utils.io import write_json, write_text

DEMO_DATASETS = ("scifact", "trec-dl19-passage")


def run_demo(
    output_dir: str | Path,
    datasets: Sequence[str] = DEMO_DATASETS,
    data_dir: str | Path | None = None,
    precision: str = "auto",
    console: Console | None = None,
) -> dict:
    """Evaluate BM25 and the packaged MiniLM (its own settings) on each dataset's test split.

    Returns ``{dataset: {system: aggregate metrics}}`` and writes it with per-system details.
    """
    console = console or Console()
    output_dir = Path(output_dir)
    minilm = EncoderSettings(model=DEFAULT_MODEL, use_model_max_length=True, precision=precision)
    summary: dict[str, dict[str, dict[str, float]]] = {}
    details: dict[str, dict[str, dict]] = {}
    for name in datasets:
        dataset = resolve_dataset(name, data_dir)
        console.rule(f"{dataset.name}: test split")
        target = output_dir / dataset.name
        bm25 = evaluate_bm25(dataset, target / "bm25")
        dense = evaluate_dense(minilm, dataset, target / "all-MiniLM-L6-v2")
        summary[dataset.name] = {
            "BM25 (bm25s)": bm25["aggregate"],
            "all-MiniLM-L6-v2 zero-shot": dense["aggregate"],
        }
        details[dataset.name] = {"bm25": bm25, "all-MiniLM-L6-v2": dense}
        console.print(metrics_table(summary[dataset.name], title=f"{dataset.name} (test)"))

    markdown = "\n\n".join(
        metrics_markdown(systems, title=f"{name} (test)").strip()
        for name, systems in summary.items()
    )
    write_text(output_dir / "results.md", markdown + "\n")
    write_json(
        output_dir / "results.json",
        {
            "results": summary,
            "measures": list(DEFAULT_MEASURES),
            "settings": {
                name: {system: d["system"] for system, d in per.items()}
                for name, per in details.items()
            },
            "min_relevance": {
                name: per["bm25"]["settings"]["min_relevance"] for name, per in details.items()
            },
            "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
        },
    )
    console.print(f"wrote {output_dir / 'results.md'} and {output_dir / 'results.json'}")
    return summary
