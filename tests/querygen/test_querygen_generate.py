"""The generation loop: output format, sidecar, resume after a crash, shards and their merge."""

from __future__ import annotations

import json

import pytest

from qcpt.data.generated_queries import read_queries, read_sidecar
from qcpt.errors import QcptError
from qcpt.querygen.backends.base import QueryGenerator
from qcpt.querygen.config import GenerationSettings
from qcpt.querygen.generate import generate_queries
from qcpt.querygen.writer import (
    find_shards,
    merge_shards,
    shard_path,
)


class EchoSeed(QueryGenerator):
    """Queries that reveal the passage and the batch seed; can fail after some batches."""

    def __init__(self, fail_after: int | None = None):
        self.calls = 0
        self.fail_after = fail_after

    def generate(self, passages, num_queries, seed):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt  # an interrupted run
        self.calls += 1
        return [[f"{p.id} s{seed % 997} q{i}" for i in range(num_queries)] + [""] for p in passages]

    def describe(self):
        return {"backend": "test"}


def _settings(**kw) -> GenerationSettings:
    return GenerationSettings(**{"num_queries": 2, "batch_size": 2, **kw})


def test_output_sidecar_and_cleaning_counts(tmp_path, gen_passages):
    out = tmp_path / "q.jsonl"
    summary = generate_queries(
        gen_passages, EchoSeed(), _settings(), out, source="mem", show_progress=False
    )
    records = read_queries(out)
    assert list(records) == [p.id for p in gen_passages]
    assert all(len(queries) == 2 for queries in records.values())  # the empty one dropped
    meta = read_sidecar(out)
    assert meta["complete"] and meta["written"] == len(gen_passages)
    assert meta["counts"] == {"generated": 21, "kept": 14, "dropped_empty": 7}
    assert meta["generator"] == {"backend": "test"}
    assert meta["settings"]["seed"] == 42 and meta["settings"]["passages"]["count"] == 7
    assert summary.queries == 14 and summary.written == 7 and summary.resumed == 0


def test_resume_after_interruption_equals_one_run(tmp_path, gen_passages):
    whole = tmp_path / "whole.jsonl"
    generate_queries(gen_passages, EchoSeed(), _settings(), whole, show_progress=False)
    out = tmp_path / "q.jsonl"
    with pytest.raises(KeyboardInterrupt):
        generate_queries(
            gen_passages, EchoSeed(fail_after=2), _settings(), out, show_progress=False
        )
    assert len(read_queries(out)) == 4 and not read_sidecar(out)["complete"]
    with out.open("a") as handle:
        handle.write('{"_id": "p4", "quer')  # a write torn by the crash
    resumed = EchoSeed()
    summary = generate_queries(gen_passages, resumed, _settings(), out, show_progress=False)
    assert summary.resumed == 4 and summary.written == 3 and resumed.calls == 2
    assert out.read_text() == whole.read_text()
    assert read_sidecar(out)["counts"] == read_sidecar(whole)["counts"]
    rerun = EchoSeed()
    generate_queries(gen_passages, rerun, _settings(), out, show_progress=False)
    assert rerun.calls == 0


def test_resume_refuses_other_settings(tmp_path, gen_passages):
    out = tmp_path / "q.jsonl"
    generate_queries(gen_passages, EchoSeed(), _settings(), out, show_progress=False)
    with pytest.raises(QcptError, match="seed differ"):
        generate_queries(gen_passages, EchoSeed(), _settings(seed=1), out, show_progress=False)
    generate_queries(gen_passages, EchoSeed(), _settings(threads=3), out, show_progress=False)
    summary = generate_queries(
        gen_passages, EchoSeed(), _settings(seed=1), out, overwrite=True, show_progress=False
    )
    assert summary.written == 7


def test_shards_merge_to_the_unsharded_output(tmp_path, gen_passages):
    whole = tmp_path / "whole.jsonl"
    generate_queries(gen_passages, EchoSeed(), _settings(), whole, show_progress=False)
    out = tmp_path / "q.jsonl"
    for k in range(3):
        summary = generate_queries(
            gen_passages, EchoSeed(), _settings(), out, shard=(k, 3), show_progress=False
        )
        assert summary.output == shard_path(out, (k, 3))
    assert [p.name for p in find_shards(out)] == [f"q.shard-{k}-of-3.jsonl" for k in range(3)]
    counts = merge_shards(out, [p.id for p in gen_passages])
    assert out.read_text() == whole.read_text()
    assert counts == read_sidecar(whole)["counts"]
    meta = read_sidecar(out)
    assert meta["settings"] == read_sidecar(whole)["settings"]
    assert meta["complete"] and len(meta["merged_from"]) == 3


def test_merge_refuses_incomplete_or_missing_shards(tmp_path, gen_passages):
    out = tmp_path / "q.jsonl"
    generate_queries(gen_passages, EchoSeed(), _settings(), out, shard=(0, 2), show_progress=False)
    with pytest.raises(QcptError, match=r"shards \[1\] of 2"):
        merge_shards(out, [p.id for p in gen_passages])
    with pytest.raises(KeyboardInterrupt):
        generate_queries(
            gen_passages,
            EchoSeed(fail_after=0),
            _settings(),
            out,
            shard=(1, 2),
            show_progress=False,
        )
    with pytest.raises(QcptError, match="not complete"):
        merge_shards(out, [p.id for p in gen_passages])


def test_query_file_errors_name_the_line(tmp_path):
    from qcpt.errors import DataFormatError

    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"_id": "a", "queries": ["x"]}) + "\n" + '{"_id": "b"}\n')
    with pytest.raises(DataFormatError, match=r"q.jsonl:2: 'queries' must be a list"):
        read_queries(path)


def test_merging_shards_without_their_sidecars_is_one_clear_error(tmp_path):
    out = tmp_path / "q.jsonl"
    for k in range(2):
        shard_path(out, (k, 2)).write_text(f'{{"_id": "p{k}", "queries": ["a"]}}\n')
    with pytest.raises(QcptError, match=r"q.shard-0-of-2.jsonl: its sidecar .* is missing"):
        merge_shards(out, ["p0", "p1"])
