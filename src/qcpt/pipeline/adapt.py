"""``qcpt adapt``: adapt a dense retriever to a corpus without any labels.

Generate queries for (a sample of) the corpus's passages -> coCondenser-qc pre-training with
those queries as context -> fine-tuning on the generated queries, each with its passage's
document as the positive and negatives mined by the pre-trained encoder -> the adapted model in
``<output>/model``. When the folder also has test qrels, the adapted model and the starting
model zero-shot are evaluated on them and compared in the report. The recipes are the packaged
ones in ``qcpt/pipeline/recipes/`` (CPU-sized; the experiment written to
``<output>/experiment.yaml`` can be edited and rerun with ``qcpt run``).

Reference: Wu et al. 2023 (query-as-context pre-training); Wang et al., "GPL" (NAACL 2022) and
Thakur et al., "BEIR" (2021, GenQ) for training on generated queries.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from qcpt.errors import QcptError
from qcpt.pipeline.experiment import ExperimentConfig

ADAPTED_MODEL_DIR = "model"
LABEL_FREE = "adapted"


def packaged_recipe(name: str) -> str:
    """Path of a packaged recipe (``querygen``, ``pretrain``, ``finetune``)."""
    return str(resources.files("qcpt.pipeline") / "recipes" / f"{name}.yaml")


def adapt_experiment(
    corpus: str,
    *,
    model: str,
    passages: int | None,
    steps: int,
    batch_size: int,
    max_queries: int | None,
    seed: int,
    data_dir: str | None = None,
    queries_file: str | None = None,
    runtime: str | None = None,
    executor: str = "subprocess",
) -> ExperimentConfig:
    """The label-free experiment for ``corpus`` (a dataset folder or name; qrels optional).
    The defaults of the budget are those of ``qcpt adapt`` (pipeline/cli.py)."""
    from qcpt.data import resolve_dataset

    if queries_file is not None and not Path(queries_file).is_file():
        raise QcptError(f"--queries-file {queries_file}: no such file")
    dataset = resolve_dataset(corpus, data_dir, require_qrels=False)
    evaluated = "test" in dataset.splits
    slug = "".join(c if c.isalnum() else "-" for c in dataset.name.lower()).strip("-") or "corpus"
    overrides: dict[str, Any] = {"generation.runtime": runtime} if runtime else {}
    systems: list[dict[str, Any]] = [
        {
            "name": LABEL_FREE,
            "kind": "label-free",
            "label": f"{Path(model).name} adapted",
            "pretrain": packaged_recipe("pretrain"),
        }
    ]
    if evaluated:
        systems.insert(
            0, {"name": "zero-shot", "kind": "zero-shot", "label": f"{Path(model).name} zero-shot"}
        )
    return ExperimentConfig.model_validate(
        {
            "name": f"adapt-{slug}",
            "dataset": str(corpus),
            "data_dir": data_dir,
            "model": model,
            "seeds": [seed],
            "executor": executor,
            "queries": {
                "recipe": packaged_recipe("querygen"),
                "passages": passages,
                "queries_file": str(Path(queries_file).resolve()) if queries_file else None,
                "overrides": overrides,
            },
            "pretraining": {"max_steps": steps, "batch_size": batch_size},
            "finetuning": {"recipe": packaged_recipe("finetune")},
            "label_free": {"max_queries": max_queries},
            "evaluation": {"split": "test" if evaluated else None},
            "systems": systems,
            "baseline": "zero-shot" if evaluated else None,
        }
    )


def publish_adapted_model(plan, output: Path) -> Path:
    """Copy the label-free system's fine-tuned model to ``output/model``; returns the path."""
    result = next(r for r in plan.results if r.system == LABEL_FREE)
    source = result.metrics.parent / "model"
    target = output / ADAPTED_MODEL_DIR
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target
