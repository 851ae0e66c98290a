"""TREC run files: writing order and precision, atomicity, validation on read, merging shards."""

from __future__ import annotations

import numpy as np
import pytest

from qcpt.errors import DataFormatError, QcptError
from qcpt.evaluation import merge_runs, ranked, read_run, write_run

RUN = {
    "q2": {"b": 0.5, "a": 0.5, "c": 0.9, "d": -1.25},
    "q1": {"x": 1.0},
    "q10": {"y": 0.1234567891234567},
}


def test_write_run_orders_ranks_and_round_trips(tmp_path):
    path = write_run(RUN, tmp_path / "run.trec", tag="dense")
    assert path == tmp_path / "run.trec"
    assert path.read_text().splitlines() == [
        "q1 Q0 x 1 1.0 dense",
        "q10 Q0 y 1 0.1234567891234567 dense",
        "q2 Q0 c 1 0.9 dense",
        "q2 Q0 a 2 0.5 dense",  # tie with b: docid ascending
        "q2 Q0 b 3 0.5 dense",
        "q2 Q0 d 4 -1.25 dense",
    ]
    assert read_run(path) == RUN  # exact floats


def test_write_run_keeps_float32_scores_distinct(tmp_path):
    # Two float32 scores that "%.6g" would print identically must stay distinct.
    scores = np.array([0.81234561, 0.81234568], dtype=np.float32)
    assert f"{scores[0]:.6g}" == f"{scores[1]:.6g}"
    run = {"q": {"a": scores[0], "b": scores[1]}}
    text = write_run(run, tmp_path / "run.trec").read_text()
    assert text.splitlines()[0].startswith("q Q0 b 1 0.81234568")
    back = read_run(tmp_path / "run.trec")
    assert back["q"]["a"] == float(scores[0]) and back["q"]["b"] == float(scores[1])


def test_write_run_depth(tmp_path):
    path = write_run(RUN, tmp_path / "run.trec", depth=2)
    assert read_run(path) == {"q1": {"x": 1.0}, "q10": RUN["q10"], "q2": {"c": 0.9, "a": 0.5}}
    with pytest.raises(QcptError, match="depth"):
        write_run(RUN, tmp_path / "other.trec", depth=0)


def test_write_run_is_atomic(tmp_path):
    path = write_run(RUN, tmp_path / "run.trec")
    before = path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.trec"]
    # q1 is written first; the NaN in q2 fails half-way through the file.
    broken = {"q1": {"x": 1.0}, "q2": {"a": float("nan")}}
    with pytest.raises(QcptError, match="NaN"):
        write_run(broken, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.trec"]


@pytest.mark.parametrize(
    "run, tag",
    [({"q 1": {"a": 1.0}}, "t"), ({"q": {"a b": 1.0}}, "t"), ({"q": {"a": 1.0}}, "my tag")],
)
def test_write_run_rejects_whitespace(tmp_path, run, tag):
    with pytest.raises(QcptError, match="whitespace"):
        write_run(run, tmp_path / "run.trec", tag=tag)
    assert not (tmp_path / "run.trec").exists()


def test_read_run_accepts_tabs_blank_lines_and_bom(tmp_path):
    path = tmp_path / "run.txt"
    path.write_bytes(b"\xef\xbb\xbfq1\tQ0\td1\t1\t2.5\tbm25\n\nq1 0 d2 2 1e-3 bm25\n")
    assert read_run(path) == {"q1": {"d1": 2.5, "d2": 0.001}}


GOOD = b"q1 Q0 d1 1 0.9 t\n"


@pytest.mark.parametrize(
    "content, line, problem",
    [
        (GOOD + b"q1 Q0 d2 2 0.8\n", 2, "expected 6 columns"),
        (GOOD + b"q1 Q0 d2 2 0.8 t extra\n", 2, "found 7"),
        (GOOD + b"q1 Q0 d2 2 high t\n", 2, "'high' is not a number"),
        (GOOD + b"q1 Q0 d2 2 nan t\n", 2, "'nan' is not a number"),
        (GOOD + b"q2 Q0 d1 1 0.5 t\nq1 Q0 d1 3 0.1 t\n", 3, "'d1' listed twice for 'q1'"),
        (GOOD + b"q2 Q0 d1 1 0.5 t\nq1 Q0 d\xff 2 0.8 t\n", 3, "not valid UTF-8"),
    ],
)
def test_read_run_rejects_bad_lines(tmp_path, content, line, problem):
    path = tmp_path / "bad.run"
    path.write_bytes(content)
    with pytest.raises(DataFormatError) as info:
        read_run(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert problem in str(info.value)
    assert info.value.line == line


@pytest.mark.parametrize("content", [b"", b"\n  \n"])
def test_read_run_rejects_empty_file(tmp_path, content):
    path = tmp_path / "empty.run"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match="no entries") as info:
        read_run(path)
    assert str(info.value).startswith(f"{path}: ")


def test_merge_runs_keeps_best_score_and_cuts():
    shard_a = {"q1": {"a": 0.9, "b": 0.5, "c": 0.1}, "q2": {"x": 1.0}}
    shard_b = {"q1": {"b": 0.7, "d": 0.9, "e": 0.2}, "q3": {"y": 2.0}}
    merged = merge_runs([shard_a, shard_b], depth=3)
    assert merged == {"q1": {"a": 0.9, "d": 0.9, "b": 0.7}, "q2": {"x": 1.0}, "q3": {"y": 2.0}}
    assert list(merged["q1"]) == ["a", "d", "b"]  # ranked: score desc, docid asc
    assert shard_a["q1"]["b"] == 0.5  # inputs untouched
    full = merge_runs(iter([shard_a, shard_b]))
    assert full["q1"] == {"a": 0.9, "d": 0.9, "b": 0.7, "e": 0.2, "c": 0.1}
    assert merge_runs([]) == {}
    with pytest.raises(QcptError, match="depth"):
        merge_runs([shard_a], depth=0)


def test_ranked():
    docs = {"b": 1.0, "a": 1.0, "c": 3.0, "d": 0.0}
    assert ranked(docs) == [("c", 3.0), ("a", 1.0), ("b", 1.0), ("d", 0.0)]
    assert ranked(docs, 2) == [("c", 3.0), ("a", 1.0)]
    assert ranked(docs, 10) == ranked(docs)
