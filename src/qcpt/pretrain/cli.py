"""``qcpt pretrain``: a thin driver over :func:`qcpt.pretrain.training.pretrain`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from qcpt.pretrain.config import PretrainConfig
from qcpt.utils.cli import (
    recipe_option,
    run_training_recipe,
    with_training_options,
)

console = Console(stderr=True)

# each option is the recipe field it overrides: type and help come from PretrainConfig
ObjectiveOpt = recipe_option(PretrainConfig, "objective", "--objective")
PassagesOpt = recipe_option(PretrainConfig, "data.passages", "--passages")
QueriesOpt = recipe_option(PretrainConfig, "data.queries", "--queries")
ContextOpt = recipe_option(PretrainConfig, "data.context", "--context")
RecipeDataDirOpt = recipe_option(
    PretrainConfig,
    "data.data_dir",
    "--data-dir",
    help="Folder holding datasets by name (default: $QCPT_DATA_DIR).",
)
StartModelOpt = recipe_option(PretrainConfig, "model.model", "--model", "-m")
DecoderOpt = recipe_option(
    PretrainConfig,
    "generative.decoder",
    "--decoder",
    help="Generative: autoregressive (CoT-MAE-qc) or masked (CoT-MAE).",
)
SymmetricOpt = recipe_option(PretrainConfig, "generative.symmetric", "--symmetric/--asymmetric")
PairsBatchOpt = recipe_option(PretrainConfig, "training.batch_size", "--batch-size", min=1)
ChunkOpt = recipe_option(PretrainConfig, "contrastive.chunk_size", "--chunk-size", min=1)
GroupByLengthOpt = recipe_option(
    PretrainConfig, "training.group_by_length", "--group-by-length/--random-batches"
)


@with_training_options
def pretrain_command(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Run folder (model/, train_log.json, loss_curves.png)."
        ),
    ],
    objective: ObjectiveOpt = None,
    passages: PassagesOpt = None,
    queries: QueriesOpt = None,
    context: ContextOpt = None,
    data_dir: RecipeDataDirOpt = None,
    model: StartModelOpt = None,
    decoder: DecoderOpt = None,
    symmetric: SymmetricOpt = None,
    batch_size: PairsBatchOpt = None,
    chunk_size: ChunkOpt = None,
    group_by_length: GroupByLengthOpt = None,
    run: dict | None = None,
) -> None:
    """Context pre-training (coCondenser / CoT-MAE, span or query context) -> encoder artefact."""
    from qcpt.pretrain.training import pretrain

    summary = run_training_recipe(pretrain_command, PretrainConfig, pretrain, output, locals())
    if summary is None:
        return
    table = Table(title=f"pretrain: {summary['objective']}, context {summary['context']}")
    table.add_column("steps", justify="right")
    table.add_column("pairs/s", justify="right")
    for name in summary["final_losses"]:
        table.add_column(name, justify="right")
    table.add_row(
        str(summary["steps"]),
        f"{summary['pairs_per_second']}",
        *(f"{v:.4f}" for v in summary["final_losses"].values()),
    )
    Console().print(table)
    console.print(f"encoder in {summary['model']}; curves in {output / 'loss_curves.png'}")
