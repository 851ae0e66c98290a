"""``qcpt build-train | mine | finetune``: thin drivers over :mod:`qcpt.finetune`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qcpt.finetune.config import FinetuneConfig
from qcpt.retrieval.cli import encoder_settings, with_encoder_options
from qcpt.utils.cli import (
    DataDirOpt,
    DatasetArg,
    ModelOpt,
    QuietOpt,
    recipe_option,
    run_training_recipe,
    with_training_options,
)

console = Console(stderr=True)

# each fine-tuning option is the recipe field it overrides (type and help from FinetuneConfig)
FtDatasetOpt = recipe_option(FinetuneConfig, "dataset", "--dataset")
FtDataDirOpt = recipe_option(
    FinetuneConfig,
    "data_dir",
    "--data-dir",
    help="Folder holding datasets by name (default: $QCPT_DATA_DIR).",
)
FtModelOpt = recipe_option(
    FinetuneConfig,
    "encoder.model",
    "--model",
    "-m",
    help="Starting encoder: qcpt artefact, checkpoint folder or hub id.",
)
StagesOpt = recipe_option(
    FinetuneConfig,
    "stages",
    "--stages",
    min=1,
    max=2,
    help="1: BM25 negatives only; 2: then mined negatives.",
)
Stage2InitOpt = recipe_option(FinetuneConfig, "stage2_init", "--stage2-init")
TrainGroupsOpt = recipe_option(FinetuneConfig, "train_groups", "--train-groups")
DevSplitOpt = recipe_option(FinetuneConfig, "dev_split", "--dev-split")
QueriesBatchOpt = recipe_option(FinetuneConfig, "training.batch_size", "--batch-size", min=1)
GroupSizeOpt = recipe_option(FinetuneConfig, "training.group_size", "--group-size", min=1)
TemperatureOpt = recipe_option(FinetuneConfig, "training.temperature", "--temperature")
ZeroShotOpt = recipe_option(FinetuneConfig, "evaluation.zero_shot", "--zero-shot/--no-zero-shot")
TrainSplitOpt = Annotated[
    str, typer.Option("--split", help="qrels split whose queries get groups.")
]
GroupsOutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Groups jsonl to write.")]
NegDepthOpt = Annotated[int, typer.Option("--depth", "-k", min=1, help="Ranks searched per query.")]
SkipTopOpt = Annotated[
    int, typer.Option("--skip-top", min=0, help="Ranks dropped from the top before sampling.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the negative sampling.")]


def build_train_command(
    dataset: DatasetArg,
    output: GroupsOutputOpt,
    data_dir: DataDirOpt = None,
    split: TrainSplitOpt = "train",
    depth: NegDepthOpt = 200,
    negatives: Annotated[int, typer.Option(min=1, help="Negatives sampled per query.")] = 30,
    skip_top: SkipTopOpt = 0,
    seed: SeedOpt = 42,
    quiet: QuietOpt = False,
) -> None:
    """Training groups (Tevatron jsonl): qrels positives and sampled BM25 hard negatives."""
    from qcpt.data import resolve_dataset
    from qcpt.data.training_groups import write_groups
    from qcpt.finetune.config import NegativesSettings
    from qcpt.finetune.groups import bm25_groups

    settings = NegativesSettings(depth=depth, negatives=negatives, skip_top=skip_top, seed=seed)
    groups, _ = bm25_groups(resolve_dataset(dataset, data_dir), split, settings, not quiet)
    console.print(f"wrote {write_groups(groups, output)} groups to {output}")


@with_encoder_options
def mine_command(
    dataset: DatasetArg,
    output: GroupsOutputOpt,
    model: ModelOpt,
    data_dir: DataDirOpt = None,
    split: TrainSplitOpt = "train",
    embeddings: Annotated[
        Path | None,
        typer.Option(
            "--embeddings",
            help="Corpus shards of this model (reused when complete; default: "
            "OUTPUT's name + .embeddings/ beside it).",
        ),
    ] = None,
    depth: NegDepthOpt = 200,
    negatives: Annotated[int, typer.Option(min=1, help="Negatives sampled per query.")] = 128,
    skip_top: SkipTopOpt = 0,
    seed: SeedOpt = 42,
    run_output: Annotated[
        Path | None, typer.Option("--run", help="Also write the mining run (TREC) here.")
    ] = None,
    quiet: QuietOpt = False,
    encoder_options: dict | None = None,
) -> None:
    """Training groups with hard negatives mined by a dense model (positives never included)."""
    from qcpt.data import resolve_dataset
    from qcpt.data.training_groups import write_groups
    from qcpt.evaluation import write_run
    from qcpt.finetune.config import NegativesSettings
    from qcpt.finetune.groups import mine_groups
    from qcpt.retrieval import DenseEncoder
    from qcpt.utils.cli import check_output_file

    check_output_file(output)  # before the mining, not after it
    check_output_file(run_output, "--run")
    settings = encoder_settings(model, **encoder_options)
    negatives_config = NegativesSettings(
        depth=depth, negatives=negatives, skip_top=skip_top, seed=seed
    )
    embeddings = embeddings or output.with_name(output.name.split(".")[0] + ".embeddings")
    groups, run = mine_groups(
        DenseEncoder(settings),
        resolve_dataset(dataset, data_dir),
        split,
        negatives_config,
        embeddings,
        not quiet,
    )
    if run_output is not None:
        write_run(run, run_output, tag="dense")
    console.print(f"wrote {write_groups(groups, output)} groups to {output}")


@with_training_options
def finetune_command(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Results folder (a rerun skips finished stages).")
    ],
    dataset: FtDatasetOpt = None,
    data_dir: FtDataDirOpt = None,
    model: FtModelOpt = None,
    stages: StagesOpt = None,
    stage2_init: Stage2InitOpt = None,
    train_groups: TrainGroupsOpt = None,
    dev_split: DevSplitOpt = None,
    batch_size: QueriesBatchOpt = None,
    group_size: GroupSizeOpt = None,
    temperature: TemperatureOpt = None,
    zero_shot: ZeroShotOpt = None,
    run: dict | None = None,
) -> None:
    """Two-stage fine-tuning: BM25 negatives, then negatives mined with the stage-1 model."""
    from qcpt.evaluation import metrics_table
    from qcpt.finetune.run import SUMMARY_MARKDOWN, run_finetune

    summary = run_training_recipe(finetune_command, FinetuneConfig, run_finetune, output, locals())
    if summary is None:
        return
    if summary["results"]:
        Console().print(
            metrics_table(summary["results"], title=f"{summary['dataset']} ({summary['split']})")
        )
    else:
        Console().print(f"trained (not evaluated): {output}", highlight=False)
    console.print(f"results in {output} ({SUMMARY_MARKDOWN})")
