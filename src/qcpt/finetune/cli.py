"""``qcpt build-train | mine | finetune``: thin drivers over :mod:`qcpt.finetune`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qcpt.retrieval.encoder import encoder_settings
from qcpt.utils.cli import (
    BatchOpt,
    DataDirOpt,
    DatasetArg,
    DeviceOpt,
    EpochsOpt,
    LearningRateOpt,
    MaxStepsOpt,
    ModelLenOpt,
    ModelOpt,
    NormalizeOpt,
    OverwriteOpt,
    PassageLenOpt,
    PoolingOpt,
    PrecisionOpt,
    QueryLenOpt,
    QuietOpt,
    ResumeOpt,
    TrainConfigOpt,
    TrainPrecisionOpt,
)

console = Console(stderr=True)

TrainSplitOpt = Annotated[str, typer.Option("--split",
                                            help="qrels split whose queries get groups.")]
GroupsOutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Groups jsonl to write.")]
NegDepthOpt = Annotated[int, typer.Option("--depth", "-k", min=1,
                                          help="Ranks searched per query.")]
SkipTopOpt = Annotated[int, typer.Option("--skip-top", min=0,
                                         help="Ranks dropped from the top before sampling.")]
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
    from qcpt.finetune.config import NegativesConfig
    from qcpt.finetune.groups import bm25_groups, write_groups

    settings = NegativesConfig(depth=depth, negatives=negatives, skip_top=skip_top, seed=seed)
    groups, _ = bm25_groups(resolve_dataset(dataset, data_dir), split, settings, not quiet)
    console.print(f"wrote {write_groups(groups, output)} groups to {output}")


def mine_command(
    dataset: DatasetArg,
    output: GroupsOutputOpt,
    model: ModelOpt,
    data_dir: DataDirOpt = None,
    split: TrainSplitOpt = "train",
    embeddings: Annotated[Path | None, typer.Option(
        "--embeddings", help="Corpus shards of this model (reused when complete; default: "
        "OUTPUT's name + .embeddings/ beside it).")] = None,
    depth: NegDepthOpt = 200,
    negatives: Annotated[int, typer.Option(min=1, help="Negatives sampled per query.")] = 128,
    skip_top: SkipTopOpt = 0,
    seed: SeedOpt = 42,
    run_output: Annotated[Path | None, typer.Option(
        "--run", help="Also write the mining run (TREC) here.")] = None,
    pooling: PoolingOpt = None,
    normalize: NormalizeOpt = None,
    query_max_length: QueryLenOpt = None,
    passage_max_length: PassageLenOpt = None,
    model_max_length: ModelLenOpt = False,
    batch_size: BatchOpt = 32,
    precision: PrecisionOpt = "fp32",
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Training groups with hard negatives mined by a dense model (positives never included)."""
    from qcpt.data import resolve_dataset
    from qcpt.evaluation import write_run
    from qcpt.finetune.config import NegativesConfig
    from qcpt.finetune.groups import mine_groups, write_groups
    from qcpt.retrieval import DenseEncoder

    settings = encoder_settings(model, pooling, normalize, query_max_length, passage_max_length,
                                model_max_length, batch_size, precision, device)
    negatives_config = NegativesConfig(depth=depth, negatives=negatives, skip_top=skip_top,
                                       seed=seed)
    embeddings = embeddings or output.with_name(output.name.split(".")[0] + ".embeddings")
    groups, run = mine_groups(DenseEncoder(settings), resolve_dataset(dataset, data_dir), split,
                              negatives_config, embeddings, not quiet)
    if run_output is not None:
        write_run(run, run_output, tag="dense")
    console.print(f"wrote {write_groups(groups, output)} groups to {output}")


def finetune_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Results folder (a rerun "
                                         "skips finished stages).")],
    config: TrainConfigOpt = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="Dataset folder or name resolved in --data-dir.")] = None,
    data_dir: DataDirOpt = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Starting encoder: qcpt artefact, checkpoint folder or hub id.")
    ] = None,
    stages: Annotated[int | None, typer.Option("--stages", min=1, max=2, help="1: BM25 "
                                               "negatives only; 2: then mined negatives.")] = None,
    stage2_init: Annotated[str | None, typer.Option(
        "--stage2-init", help="initial (restart from the starting model, as the authors) or "
        "stage1 (continue).")] = None,
    train_groups: Annotated[Path | None, typer.Option(
        "--train-groups", help="Stage-1 groups (Tevatron or FlagEmbedding jsonl) instead of "
        "BM25 negatives.")] = None,
    dev_split: Annotated[str | None, typer.Option(
        "--dev-split", help="qrels split for a dev loss during training.")] = None,
    max_steps: MaxStepsOpt = None,
    epochs: EpochsOpt = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="Queries per device and step.")] = None,
    group_size: Annotated[int | None, typer.Option(
        "--group-size", min=1, help="Passages per query: 1 positive + negatives.")] = None,
    learning_rate: LearningRateOpt = None,
    temperature: Annotated[float | None, typer.Option(
        "--temperature", help="Scores are q.p / temperature (1: raw dot products).")] = None,
    precision: TrainPrecisionOpt = None,
    zero_shot: Annotated[bool | None, typer.Option(
        "--zero-shot/--no-zero-shot", help="Also evaluate the starting model.")] = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Two-stage fine-tuning: BM25 negatives, then negatives mined with the stage-1 model."""
    from qcpt.evaluation import metrics_table
    from qcpt.finetune.config import FinetuneConfig
    from qcpt.finetune.pipeline import SUMMARY_MARKDOWN, run_finetune
    from qcpt.utils.training import distributed_state

    overrides = {
        "dataset": dataset, "data_dir": str(data_dir) if data_dir else None,
        "encoder.model": model, "stages": stages, "stage2_init": stage2_init,
        "train_groups": str(train_groups) if train_groups else None, "dev_split": dev_split,
        "training.max_steps": max_steps, "training.epochs": epochs,
        "training.batch_size": batch_size, "training.group_size": group_size,
        "training.learning_rate": learning_rate, "training.temperature": temperature,
        "training.precision": precision, "evaluation.zero_shot": zero_shot,
    }
    recipe = FinetuneConfig.from_yaml(config, overrides)
    summary = run_finetune(recipe, output, resume=resume, overwrite=overwrite,
                           show_progress=not quiet)
    if not distributed_state().is_main_process:
        return
    Console().print(metrics_table(summary["results"], title=f"{summary['dataset']} "
                                  f"({summary['split']})"))
    console.print(f"results in {output} ({SUMMARY_MARKDOWN})")
