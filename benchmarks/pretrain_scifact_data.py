"""The pre-training data of the SciFact benchmarks: a fixed subset of SciFact's passages and their
generated queries, the same for every span and query run.

Generating queries for all 16,151 SciFact passages takes 1 h 38 min on 2 cores, while a
100-step run of batch 32 sees 3,200 pairs. So the benchmarks pre-train on the passages of a
seeded sample of whole documents (whole documents keep every span-random context available)
until there are at least ``--passages`` of them, and the queries of those passages are recorded
in the repository (``benchmarks/recorded/``, with their sidecar) and imported with the file
backend on a fresh machine instead of being generated again. Both span and query runs read the
same passages file, so the two contexts differ in the context only.

    python benchmarks/pretrain_scifact_data.py [--output outputs/pretrain-scifact/data]
        [--generate]   # generate the queries (qcpt generate-queries) instead of importing them

Writes ``passages-all.jsonl`` (qcpt split-passages, configs/querygen-smollm2-cpu.yaml),
``passages.jsonl`` (the subset, in document order), ``queries.jsonl`` (+ sidecar) and
``passages-pretrain.jsonl``: the subset's passages that have a query, which every run reads.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import data_dir

from qcpt.data import iter_passages, read_usable_queries, sample_whole_documents, write_passages

REPO = Path(__file__).resolve().parents[1]
RECORDED = REPO / "benchmarks" / "recorded" / "scifact-pretrain-queries.jsonl"
QUERYGEN_RECIPE = REPO / "configs" / "querygen-smollm2-cpu.yaml"
DEFAULT_OUTPUT = Path("outputs/pretrain-scifact/data")


def qcpt(*args: str) -> None:
    """Run one qcpt command with the datasets folder set; stop the script if it fails."""
    command = [sys.executable, "-m", "qcpt", *args]
    print("+ qcpt " + " ".join(args), file=sys.stderr)
    result = subprocess.run(command, env={**os.environ, "QCPT_DATA_DIR": str(data_dir())})
    if result.returncode:
        raise SystemExit(result.returncode)


def prepare(
    output: Path, *, passages: int = 3200, seed: int = 13, generate: bool = False
) -> dict[str, Path]:
    """Make (or reuse) the benchmark's passages and queries; returns their paths."""
    output.mkdir(parents=True, exist_ok=True)
    all_passages = output / "passages-all.jsonl"
    subset = output / "passages.jsonl"
    queries = output / "queries.jsonl"
    if not all_passages.is_file():
        qcpt("split-passages", "scifact", "-o", str(all_passages), "-c", str(QUERYGEN_RECIPE))
    if not subset.is_file():
        sample = sample_whole_documents(list(iter_passages(all_passages)), passages, seed)
        count = write_passages(subset, sample)
        print(f"{count} passages in {subset}", file=sys.stderr)
    if not (queries.is_file() and Path(str(queries)[: -len(".jsonl")] + ".meta.json").is_file()):
        generate_queries(subset, queries, generate)
    return {
        "passages": with_queries(subset, queries, output / "passages-pretrain.jsonl"),
        "queries": queries,
    }


def with_queries(subset: Path, queries: Path, output: Path) -> Path:
    """The passages of ``subset`` that have at least one generated query: what every run, span
    or query, pre-trains on (a query run drops the others, so span runs must too)."""
    if not output.is_file():
        known = read_usable_queries(queries)
        count = write_passages(output, (p for p in iter_passages(subset) if p.id in known))
        print(f"{count} passages with queries in {output}", file=sys.stderr)
    return output


def generate_queries(subset: Path, queries: Path, generate: bool) -> None:
    """Generate the subset's queries, or import the recorded ones with the file backend."""
    if generate or not RECORDED.is_file():
        # transformers runtime in bf16 (no llama.cpp build needed; 8.97 queries/s measured,
        # benchmarks/results/querygen_throughput.md); a stopped run resumes where it was
        qcpt(
            "generate-queries",
            str(subset),
            "-o",
            str(queries),
            "-c",
            str(QUERYGEN_RECIPE),
            "--runtime",
            "transformers",
            "--precision",
            "bf16",
        )
    else:
        qcpt(
            "generate-queries",
            str(subset),
            "-o",
            str(queries),
            "-c",
            str(QUERYGEN_RECIPE),
            "--backend",
            "file",
            "--queries-file",
            str(RECORDED),
            "--file-format",
            "jsonl",
        )


def record(queries: Path) -> None:
    """Copy a finished generation (and its sidecar) to ``benchmarks/recorded/``."""
    RECORDED.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(queries, RECORDED)
    shutil.copyfile(
        str(queries)[: -len(".jsonl")] + ".meta.json",
        str(RECORDED)[: -len(".jsonl")] + ".meta.json",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--passages", type=int, default=3200, help="at least this many passages (whole documents)"
    )
    parser.add_argument("--seed", type=int, default=13, help="seed of the document sample")
    parser.add_argument(
        "--generate",
        action="store_true",
        help="generate the queries instead of importing the recorded ones",
    )
    parser.add_argument(
        "--record", action="store_true", help="copy the generated queries to benchmarks/recorded/"
    )
    args = parser.parse_args()
    paths = prepare(args.output, passages=args.passages, seed=args.seed, generate=args.generate)
    if args.record:
        record(paths["queries"])
    print(json.dumps({k: str(v) for k, v in paths.items()}))


if __name__ == "__main__":
    main()
