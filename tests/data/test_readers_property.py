"""Property tests of every reader of a stage file format: whatever a file holds (arbitrary
bytes, arbitrary JSON values as lines, arbitrary tab- and space-separated text), a reader
returns a normal result or raises ``DataFormatError`` naming that file, never anything else."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcpt.data import (
    iter_passages,
    load_corpus,
    load_qrels,
    load_queries,
    read_queries,
    read_sidecar,
    read_usable_queries,
)
from qcpt.data.generated_queries import sidecar_path
from qcpt.data.training_groups import read_groups
from qcpt.errors import DataFormatError
from qcpt.evaluation.runs import read_run

# every example writes the one file of its test anew, so the function-scoped tmp_path is safe
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# the keys the readers look for, so that JSON objects reach past the first checks
KEYS = [
    "_id",
    "text",
    "title",
    "doc_id",
    "queries",
    "query",
    "query_id",
    "positive_passages",
    "negative_passages",
    "pos",
    "neg",
    "docid",
    "id",
]
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=16,
)
# one line per value, as a JSON Lines file holds them (NaN and Infinity as Python writes them)
JSON_LINES = st.lists(JSON_VALUES, max_size=6).map(
    lambda values: "".join(json.dumps(value) + "\n" for value in values).encode()
)
# columns of short words, separated by tabs or spaces, and blank lines
FIELD = st.text(alphabet=st.sampled_from("ab1 0-.\u00e9\u2028\r\x00") | st.characters(), max_size=6)
TEXT_LINES = st.lists(
    st.lists(FIELD, max_size=7).flatmap(
        lambda fields: st.sampled_from(["\t", " ", "  "]).map(lambda sep: sep.join(fields))
    ),
    max_size=6,
).map(lambda lines: "".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass"))
RAW_BYTES = st.binary(max_size=400)


def _values(result) -> list:
    """The records of a reader's result (dict values, list or generator items)."""
    return list(result.values()) if isinstance(result, dict) else list(result)


def _nonempty_ids(ids) -> bool:
    return all(isinstance(i, str) and i.strip() for i in ids)


def _check_corpus(result) -> None:
    assert result and _nonempty_ids(result)
    assert all(doc.title.strip() or doc.text.strip() for doc in result.values())


def _check_queries(result) -> None:
    assert result and _nonempty_ids(result)
    assert all(isinstance(text, str) and text.strip() for text in result.values())


def _check_qrels(result) -> None:
    for query_id, judged in result.items():
        assert query_id and _nonempty_ids(judged)
        assert all(isinstance(grade, int) for grade in judged.values())


def _check_passages(result) -> None:
    assert result and _nonempty_ids(p.id for p in result)
    assert all(isinstance(p.text, str) and p.doc_id for p in result)


def _check_generated(result) -> None:
    assert _nonempty_ids(result)
    assert all(isinstance(q, str) for queries in result.values() for q in queries)


def _check_groups(result) -> None:
    assert all(group.query.strip() and group.positives for group in result)


def _check_run(result) -> None:
    assert result
    assert all(isinstance(s, float) for docs in result.values() for s in docs.values())


# file name -> (read the file, check a normal result)
READERS: dict[str, tuple[Callable[[Path], object], Callable[[object], None]]] = {
    "corpus.jsonl": (load_corpus, _check_corpus),
    "corpus.jsonl.gz": (load_corpus, _check_corpus),
    "collection.tsv": (load_corpus, _check_corpus),
    "queries.jsonl": (load_queries, _check_queries),
    "queries.tsv": (load_queries, _check_queries),
    "qrels.tsv": (load_qrels, _check_qrels),
    "qrels.txt.gz": (load_qrels, _check_qrels),
    "passages.jsonl": (lambda path: list(iter_passages(path)), _check_passages),
    "passages.tsv": (lambda path: list(iter_passages(path)), _check_passages),
    "generated.jsonl": (read_queries, _check_generated),
    "usable.jsonl": (read_usable_queries, _check_generated),
    "groups.jsonl": (lambda path: list(read_groups(path)), _check_groups),
    "run.trec": (read_run, _check_run),
}


def _read(tmp_path: Path, name: str, content: bytes) -> None:
    """Write ``content`` as ``name`` and read it: a normal result passes its check, a
    ``DataFormatError`` must name the file and a line of it; anything else fails the test."""
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    read, check = READERS[name]
    try:
        result = read(path)
    except DataFormatError as error:
        assert error.path == path and str(path) in str(error)
        lines = content.count(b"\n") + 1
        assert error.line is None or 1 <= error.line <= lines, (error.line, lines)
        return
    check(result)


@pytest.mark.parametrize("name", READERS)
@PROPERTY
@given(content=RAW_BYTES)
def test_arbitrary_bytes(tmp_path, name, content):
    _read(tmp_path, name, content)


@pytest.mark.parametrize("name", READERS)
@PROPERTY
@given(content=JSON_LINES)
def test_arbitrary_json_lines(tmp_path, name, content):
    _read(tmp_path, name, content)


@pytest.mark.parametrize("name", READERS)
@PROPERTY
@given(content=TEXT_LINES)
def test_arbitrary_columns(tmp_path, name, content):
    _read(tmp_path, name, content)


@PROPERTY
@given(content=RAW_BYTES | JSON_VALUES.map(lambda value: json.dumps(value).encode()))
def test_sidecar_is_an_object_or_a_format_error(tmp_path, content):
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": "p1", "queries": ["q"]}\n')
    sidecar_path(queries).write_bytes(content)
    try:
        meta = read_sidecar(queries)
    except DataFormatError as error:
        assert error.path == sidecar_path(queries)
        return
    assert isinstance(meta, dict)


@pytest.mark.parametrize("name", ["corpus.jsonl", "generated.jsonl", "groups.jsonl"])
def test_deeply_nested_json_is_a_format_error(tmp_path, name):
    path = tmp_path / name
    path.write_text("[" * 100_000 + "\n")
    read, _ = READERS[name]
    with pytest.raises(DataFormatError, match=f"{name}:1: "):
        read(path)
