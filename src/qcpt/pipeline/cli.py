"""``qcpt eval-model``, ``qcpt demo``, ``qcpt run`` and ``qcpt adapt``: drivers over
:mod:`qcpt.pipeline`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qcpt.encoder import DEFAULT_MODEL
from qcpt.retrieval.cli import encoder_settings, with_encoder_options
from qcpt.utils.cli import (
    DataDirOpt,
    DatasetArg,
    DepthOpt,
    FactoryOpt,
    IdenticalOpt,
    MeasureOpt,
    MinRelOpt,
    PrecisionOpt,
    QuietOpt,
    SplitOpt,
)


@with_encoder_options
def eval_model_command(
    model: Annotated[str, typer.Argument(help="Checkpoint folder or Hugging Face id.")],
    dataset: DatasetArg,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Folder for embeddings, run and metrics (a rerun resumes)."
        ),
    ],
    data_dir: DataDirOpt = None,
    split: SplitOpt = "test",
    depth: DepthOpt = 1000,
    factory: FactoryOpt = "Flat",
    measure: MeasureOpt = None,
    min_relevance: MinRelOpt = None,
    ignore_identical_ids: IdenticalOpt = False,
    quiet: QuietOpt = False,
    encoder_options: dict | None = None,
) -> None:
    """Encode, index, search and evaluate a dense model; writes run.trec and metrics.json."""
    from qcpt.data import resolve_dataset
    from qcpt.evaluation import DEFAULT_MEASURES, metrics_table
    from qcpt.retrieval.evaluate import evaluate_dense

    settings = encoder_settings(model, **encoder_options)
    data = resolve_dataset(dataset, data_dir)
    metrics = evaluate_dense(
        settings,
        data,
        output,
        split=split,
        depth=depth,
        factory=factory,
        measures=measure or DEFAULT_MEASURES,
        min_relevance=min_relevance,
        ignore_identical_ids=ignore_identical_ids,
        show_progress=not quiet,
    )
    Console().print(
        metrics_table(
            {Path(model).name or model: metrics["aggregate"]}, title=f"{data.name} ({split})"
        )
    )


def demo_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Results folder.")] = Path(
        "outputs/demo"
    ),
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset",
            help="Dataset name or folder, repeatable (default: scifact, trec-dl19-passage).",
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    precision: PrecisionOpt = "auto",
) -> None:
    """BM25 vs zero-shot all-MiniLM-L6-v2: tables printed and written as markdown + JSON."""
    from qcpt.pipeline.demo import DEMO_DATASETS, run_demo

    run_demo(output, dataset or DEMO_DATASETS, data_dir=data_dir, precision=precision)


def run_command(
    recipe: Annotated[Path, typer.Argument(help="Experiment recipe (YAML): configs/run-*.yaml.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Experiment folder (default: outputs/<name>)."),
    ] = None,
    data_dir: DataDirOpt = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a recipe key, KEY=VALUE (YAML value), repeatable: "
            "--set pretraining.max_steps=20",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the plan (each step and why it runs or is skipped) and stop."
        ),
    ] = False,
    report_only: Annotated[
        bool,
        typer.Option(
            "--report-only", help="Run nothing: write the report of the steps finished so far."
        ),
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """The whole experiment: queries, pre-training, fine-tuning, evaluation and a report with
    confidence intervals and paired tests; a rerun skips what is finished and resumes the rest."""
    from qcpt.pipeline.experiment import load_experiment
    from qcpt.pipeline.runner import run_experiment
    from qcpt.utils.cli import parse_assignments

    overrides = parse_assignments(set_ or [], "--set")
    if data_dir is not None:
        overrides["data_dir"] = str(data_dir)
    experiment = load_experiment(recipe, overrides)
    run_experiment(
        experiment,
        output or Path("outputs") / experiment.name,
        dry_run=dry_run,
        report_only=report_only,
        quiet=quiet,
    )


def adapt_command(
    corpus: Annotated[
        str,
        typer.Argument(
            help="Dataset folder (corpus.jsonl or collection.tsv; qrels optional) or name."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Folder for the adapted model (model/), the steps and the report.",
        ),
    ],
    data_dir: DataDirOpt = None,
    model: Annotated[str, typer.Option("--model", "-m", help="Encoder to adapt.")] = DEFAULT_MODEL,
    passages: Annotated[
        int | None,
        typer.Option(
            "--passages",
            min=1,
            help="Generate queries for the passages of seeded-random whole "
            "documents, at least this many.",
        ),
    ] = 3200,
    all_passages: Annotated[
        bool,
        typer.Option("--all-passages", help="Generate queries for every passage of the corpus."),
    ] = False,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Pre-training steps.")] = 100,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Pre-training pairs per step.")
    ] = 32,
    max_queries: Annotated[
        int, typer.Option("--max-queries", min=1, help="Generated queries to fine-tune on.")
    ] = 1000,
    queries_file: Annotated[
        str | None,
        typer.Option(
            "--queries-file",
            help="Generated queries to import (qcpt jsonl + sidecar) instead of generating them.",
        ),
    ] = None,
    runtime: Annotated[
        str | None,
        typer.Option("--runtime", help="Generator runtime: auto, llama-cpp, transformers."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every step.")] = 42,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and stop.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Adapt an encoder to a corpus without labels: generated queries -> query-as-context
    pre-training -> fine-tuning on the generated queries with mined negatives; evaluated when
    the folder has test qrels."""
    from qcpt.pipeline.adapt import adapt_experiment, publish_adapted_model
    from qcpt.pipeline.plan import build_plan
    from qcpt.pipeline.runner import run_experiment

    experiment = adapt_experiment(
        corpus,
        data_dir=str(data_dir) if data_dir else None,
        model=model,
        passages=None if all_passages else passages,
        steps=steps,
        batch_size=batch_size,
        queries_file=queries_file,
        runtime=runtime,
        max_queries=max_queries,
        seed=seed,
    )
    if run_experiment(experiment, output, dry_run=dry_run, quiet=quiet) is None:
        return
    adapted = publish_adapted_model(build_plan(experiment, output), output.resolve())
    Console().print(
        f"adapted model: {adapted} (qcpt encode / eval-model -m {adapted}, or "
        "sentence-transformers)",
        highlight=False,
        soft_wrap=True,
    )
