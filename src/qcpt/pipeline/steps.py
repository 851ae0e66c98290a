"""What each kind of step does: the stages' own entry points called on the step's folder.

``python -m qcpt.pipeline.steps STEP_FOLDER`` runs the step recorded in the folder's
``step.json`` (what ``qcpt run`` starts for each step, alone or under a launcher such as
torchrun); :func:`run_step` is the same in-process. Each runner returns figures for the step
record (counts, timings); wall time and peak memory are added here.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qcpt.pipeline.plan import (
    GROUPS_FILE,
    PASSAGES_ALL,
    PASSAGES_PRETRAIN,
    PASSAGES_SAMPLE,
    QUERIES_FILE,
    STEP_FILE,
    resolved,
)
from qcpt.utils.io import write_json

FIGURES_FILE = "step-figures.json"


def _dataset(settings: dict[str, Any]):
    from qcpt.data import resolve_dataset

    return resolve_dataset(
        settings["dataset"],
        settings.get("data_dir"),
        require_qrels=settings.get("split") is not None,
    )


def run_queries(settings: dict[str, Any], folder: Path, progress: bool) -> dict[str, Any]:
    """Passages of the corpus, the pre-training sample of whole documents, its queries
    (generated, or imported from a recorded file), and the sample's passages with queries."""
    from qcpt.data import (
        iter_passages,
        read_usable_queries,
        sample_whole_documents,
        write_passages,
    )
    from qcpt.querygen import create_generator, generate_queries
    from qcpt.querygen.config import GenerationSettings, QueryGenConfig
    from qcpt.querygen.passages import PassageSplitter, split_documents

    config = QueryGenConfig.model_validate(settings["querygen"])
    every = folder / PASSAGES_ALL
    if not every.is_file():
        write_passages(
            every,
            split_documents(_dataset(settings).iter_corpus(), PassageSplitter(config.passages)),
        )
    passages = list(iter_passages(every))
    sample = sample_whole_documents(passages, settings["passages"], settings["sample_seed"])
    write_passages(folder / PASSAGES_SAMPLE, sample)
    generation = config.generation
    if settings.get("queries_file"):
        generation = GenerationSettings.model_validate(
            {
                **generation.model_dump(),
                "backend": "file",
                "queries_files": [settings["inputs"]["queries_file"]],
                "file_format": "jsonl",
            }
        )
    generator = create_generator(generation, [p.id for p in sample])
    summary = generate_queries(
        sample,
        generator,
        generation,
        folder / QUERIES_FILE,
        source=str(folder / PASSAGES_SAMPLE),
        show_progress=progress,
    )
    known = read_usable_queries(folder / QUERIES_FILE)
    kept = write_passages(folder / PASSAGES_PRETRAIN, (p for p in sample if p.id in known))
    return {
        "passages_corpus": len(passages),
        "passages_sampled": len(sample),
        "passages_with_queries": kept,
        "queries": summary.counts.get("kept", 0),
        "generation_seconds": round(summary.seconds, 1),
    }


def run_pretrain(settings: dict[str, Any], folder: Path, progress: bool) -> dict[str, Any]:
    from qcpt.pretrain.config import PretrainConfig
    from qcpt.pretrain.training import pretrain

    summary = pretrain(
        PretrainConfig.model_validate(settings["config"]),
        folder,
        resume=True,
        show_progress=progress,
    )
    return {
        k: summary.get(k)
        for k in (
            "steps",
            "global_batch",
            "train_seconds",
            "pairs_per_second",
            "precision",
            "final_losses",
            "data",
        )
    }


def run_finetune_step(settings: dict[str, Any], folder: Path, progress: bool) -> dict[str, Any]:
    from qcpt.finetune.config import FinetuneConfig
    from qcpt.finetune.run import run_finetune

    summary = run_finetune(
        FinetuneConfig.model_validate(settings["config"]),
        folder,
        resume=True,
        show_progress=progress,
    )
    return {"stages": summary.get("stages", {})}


def run_label_free_groups(settings: dict[str, Any], folder: Path, progress: bool) -> dict[str, Any]:
    """Training groups without labels: each sampled generated query, its passage's document as
    the positive, negatives sampled from the encoder's ranking below ``skip_top``."""
    from qcpt.data import iter_passages, read_usable_queries
    from qcpt.data.training_groups import write_groups
    from qcpt.finetune import NegativesSettings, groups_from_run
    from qcpt.finetune.groups import dense_run, documents_for_groups
    from qcpt.retrieval import DenseEncoder, EncoderSettings

    options = settings["label_free"]
    dataset = _dataset(settings)
    generated = read_usable_queries(settings["queries"])
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for passage in iter_passages(settings["passages"]):
        texts = generated.get(passage.id, [])[: options["queries_per_passage"]]
        for number, text in enumerate(texts):
            query_id = f"{passage.id}-q{number}"
            queries[query_id] = text
            qrels[query_id] = {passage.doc_id: 1}
    if options["max_queries"] and options["max_queries"] < len(queries):
        chosen = random.Random(settings["seed"]).sample(sorted(queries), options["max_queries"])
        queries = {q: queries[q] for q in sorted(chosen)}
        qrels = {q: qrels[q] for q in queries}
    run = dense_run(
        DenseEncoder(EncoderSettings(**settings["encoder"])),
        dataset,
        queries,
        options["depth"],
        folder / "embeddings",
        progress,
    )
    negatives = NegativesSettings(
        depth=options["depth"],
        negatives=options["negatives"],
        skip_top=options["skip_top"],
        seed=settings["seed"],
    )
    groups = groups_from_run(
        run, queries, qrels, documents_for_groups(dataset, run, qrels), negatives
    )
    count = write_groups(groups, folder / GROUPS_FILE)
    return {"queries": len(queries), "groups": count}


def run_evaluate_bm25(settings: dict[str, Any], folder: Path, progress: bool) -> dict[str, Any]:
    from qcpt.retrieval.evaluate import evaluate_bm25

    metrics = evaluate_bm25(
        _dataset(settings), folder, split=settings["split"], show_progress=progress
    )
    return {"timings": metrics["timings"]}


def run_evaluate_dense(settings: dict[str, Any], folder: Path, progress: bool) -> dict[str, Any]:
    from qcpt.retrieval import EncoderSettings
    from qcpt.retrieval.evaluate import evaluate_dense

    metrics = evaluate_dense(
        EncoderSettings(**settings["encoder"]),
        _dataset(settings),
        folder,
        split=settings["split"],
        depth=settings["depth"],
        factory=settings["factory"],
        show_progress=progress,
    )
    return {"timings": metrics["timings"]}


def run_fuse(settings: dict[str, Any], folder: Path, progress: bool) -> dict[str, Any]:
    from qcpt.retrieval.evaluate import evaluate_fusion

    metrics = evaluate_fusion(settings["runs"], _dataset(settings), folder, split=settings["split"])
    return {"timings": metrics["timings"]}


RUNNERS: dict[str, Callable[[dict[str, Any], Path, bool], dict[str, Any]]] = {
    "queries": run_queries,
    "pretrain": run_pretrain,
    "finetune": run_finetune_step,
    "label-free-groups": run_label_free_groups,
    "evaluate-bm25": run_evaluate_bm25,
    "evaluate-dense": run_evaluate_dense,
    "fuse": run_fuse,
}
DISTRIBUTED_KINDS = ("pretrain", "finetune")  # steps a launcher (torchrun) may start


def run_step(folder: str | Path, output: str | Path, progress: bool = True) -> dict[str, Any]:
    """Run the step recorded in ``folder/step.json``; writes and returns its figures (peak
    memory of this process and the runner's own figures; the pipeline times the step)."""
    from qcpt.utils.stage import peak_rss_mib
    from qcpt.utils.training import distributed_state

    folder = Path(folder)
    record = json.loads((folder / STEP_FILE).read_text(encoding="utf-8"))
    settings = {**resolved(record["settings"], Path(output)), "inputs": record.get("inputs", {})}
    figures = RUNNERS[record["kind"]](settings, folder, progress)
    figures = {"peak_rss_mib": peak_rss_mib(), **figures}
    if distributed_state().is_main_process:
        write_json(folder / FIGURES_FILE, figures)
    return figures


def main(argv: list[str]) -> int:
    """``python -m qcpt.pipeline.steps STEP_FOLDER OUTPUT [--quiet]``."""
    import logging

    from qcpt.errors import QcptError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        run_step(argv[0], argv[1], progress="--quiet" not in argv)
    except QcptError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
