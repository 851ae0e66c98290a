"""``qcpt pretrain``: a thin driver over :func:`qcpt.pretrain.training.pretrain`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from qcpt.utils.cli import (
    DataDirOpt,
    EpochsOpt,
    LearningRateOpt,
    MaxStepsOpt,
    OverwriteOpt,
    QuietOpt,
    ResumeOpt,
    TrainConfigOpt,
    TrainPrecisionOpt,
)

console = Console(stderr=True)


def pretrain_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Run folder (model/, "
                                         "train_log.json, loss_curves.png).")],
    config: TrainConfigOpt = None,
    objective: Annotated[str | None, typer.Option(
        "--objective", help="contrastive (coCondenser) or generative (CoT-MAE).")] = None,
    passages: Annotated[str | None, typer.Option(
        "--passages", help="Passages jsonl (split-passages), corpus file or dataset.")] = None,
    queries: Annotated[str | None, typer.Option(
        "--queries", help="Generated-queries jsonl (for query context).")] = None,
    context: Annotated[str | None, typer.Option(
        "--context", help="query, span-random, span-nearby, span-overlap or a mixture "
        "like query:0.5,span-random:0.5.")] = None,
    data_dir: DataDirOpt = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Starting encoder: checkpoint folder, hub id or qcpt artefact.")
    ] = None,
    decoder: Annotated[str | None, typer.Option(
        "--decoder", help="Generative: autoregressive (CoT-MAE-qc) or masked (CoT-MAE).")
    ] = None,
    symmetric: Annotated[bool | None, typer.Option(
        "--symmetric/--asymmetric", help="Generative: encode both sides and decode each "
        "from the other (original CoT-MAE; default asymmetric).")] = None,
    max_steps: MaxStepsOpt = None,
    epochs: EpochsOpt = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="Passages per device and step.")] = None,
    chunk_size: Annotated[int | None, typer.Option(
        "--chunk-size", min=1, help="Contrastive: GradCache chunk (pairs per forward).")
    ] = None,
    learning_rate: LearningRateOpt = None,
    precision: TrainPrecisionOpt = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Context pre-training (coCondenser / CoT-MAE, span or query context) -> encoder artefact."""
    from qcpt.pretrain.config import PretrainConfig
    from qcpt.pretrain.training import pretrain
    from qcpt.utils.training import distributed_state

    overrides = {
        "objective": objective, "data.passages": passages, "data.queries": queries,
        "data.context": context, "data.data_dir": str(data_dir) if data_dir else None,
        "model.model": model, "generative.decoder": decoder, "generative.symmetric": symmetric,
        "contrastive.chunk_size": chunk_size, "training.max_steps": max_steps,
        "training.epochs": epochs, "training.batch_size": batch_size,
        "training.learning_rate": learning_rate, "training.precision": precision,
        "training.seed": seed,
    }
    recipe = PretrainConfig.from_yaml(config, overrides)
    summary = pretrain(recipe, output, resume=resume, overwrite=overwrite,
                       show_progress=not quiet)
    if not distributed_state().is_main_process:
        return
    table = Table(title=f"pretrain: {summary['objective']}, context {summary['context']}")
    table.add_column("steps", justify="right")
    table.add_column("pairs/s", justify="right")
    for name in summary["final_losses"]:
        table.add_column(name, justify="right")
    table.add_row(str(summary["steps"]), f"{summary['pairs_per_second']}",
                  *(f"{v:.4f}" for v in summary["final_losses"].values()))
    Console().print(table)
    console.print(f"encoder in {summary['model']}; curves in {output / 'loss_curves.png'}")
