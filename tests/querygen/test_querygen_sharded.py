"""``generate-queries --shard k/n`` in n processes, then ``merge-queries``, equals one process.

Each batch of passages is sampled with a seed of (run seed, the batch's index in the whole
passage list), so a shard draws exactly what the one-process run draws for the same batches.
Run through the real commands with tiny random generators that really sample (a causal LM on
transformers and a seq2seq T5), shards started in reverse order.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qcpt.data.passages import Passage, write_passages
from qcpt.querygen.writer import shard_path

from .conftest import WORDS

SHARDS = 3
# 10 passages in batches of 3: batches 0-3 (the last one short); shard 0 gets batches 0 and 3
COMMON = ["-n", "3", "--batch-size", "3", "--max-new-tokens", "5", "--device", "cpu", "--quiet"]
# the only sidecar key a merge adds; every other key must equal the one-process sidecar's
MERGE_ONLY_KEYS = {"merged_from"}


def _run(app, *args) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _sidecar(path) -> dict:
    return json.loads(path.with_name(path.name.removesuffix(".jsonl") + ".meta.json").read_text())


@pytest.fixture()
def passages_file(tmp_path):
    passages = [
        Passage(f"p{i}", " ".join(WORDS[10 + i : 14 + i % 5 + i]), f"t{i}", f"d{i // 3}")
        for i in range(10)
    ]
    path = tmp_path / "passages.jsonl"
    write_passages(path, passages)
    return path


@pytest.fixture(params=["causal", "seq2seq"])
def generator_options(request, tiny_llama_dir, tiny_t5_dir) -> list[str]:
    if request.param == "causal":
        return ["--model", tiny_llama_dir, "--runtime", "transformers"]
    return ["--backend", "seq2seq", "--model", tiny_t5_dir]


def test_merged_shards_equal_one_process(app, tmp_path, passages_file, generator_options):
    options = [*COMMON, *generator_options]
    whole = tmp_path / "whole" / "queries.jsonl"
    _run(app, "generate-queries", passages_file, "-o", whole, *options)

    merged = tmp_path / "sharded" / "queries.jsonl"
    for k in reversed(range(SHARDS)):  # no shard relies on another having run first
        _run(
            app,
            "generate-queries",
            passages_file,
            "-o",
            merged,
            *options,
            "--shard",
            f"{k}/{SHARDS}",
        )
    _run(app, "merge-queries", merged)

    assert merged.read_text() == whole.read_text()  # same records, same order, same queries
    merged_meta, whole_meta = _sidecar(merged), _sidecar(whole)
    assert merged_meta["merged_from"] == [
        shard_path(merged, (k, SHARDS)).name for k in range(SHARDS)
    ]
    assert set(merged_meta) - set(whole_meta) == MERGE_ONLY_KEYS
    assert {k: v for k, v in merged_meta.items() if k not in MERGE_ONLY_KEYS} == whole_meta
    assert whole_meta["complete"] and whole_meta["written"] == 10
    assert whole_meta["settings"]["shard"] is None

    # the comparison can fail: the queries depend on the seed (a shard that numbered its
    # batches from 0 would sample its batches with other seeds) and differ across passages
    reseeded = tmp_path / "reseeded" / "queries.jsonl"
    _run(app, "generate-queries", passages_file, "-o", reseeded, *options, "--seed", "7")
    assert reseeded.read_text() != whole.read_text()
    records = [json.loads(line) for line in whole.read_text().splitlines()]
    assert len({tuple(r["queries"]) for r in records}) > len(records) // 2
