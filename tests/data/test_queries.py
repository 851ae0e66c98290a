"""load_queries: BEIR jsonl and MS MARCO tsv queries, and their validation."""

from __future__ import annotations

import pytest

from qcpt.data import load_queries

from .helpers import jsonl


def test_jsonl_queries(write_file):
    path = write_file(
        "queries.jsonl",
        '{"_id": "q2", "text": "second", "metadata": {}}\n{"_id": 1, "text": "first"}\n',
    )
    assert load_queries(path) == {"q2": "second", "1": "first"}
    assert list(load_queries(path)) == ["q2", "1"]


@pytest.mark.parametrize("name", ["queries.dev.tsv", "queries.tsv.gz"])
def test_tsv_queries(write_file, name):
    path = write_file(name, "1048585\twhat is paula deen's brother\n2\tsecond query\n")
    assert load_queries(path) == {"1048585": "what is paula deen's brother", "2": "second query"}


def test_empty_query_text_is_an_error(write_file, raises_format_error):
    path = write_file(
        "queries.jsonl", jsonl([{"_id": "q1", "text": "ok"}, {"_id": "q2", "text": " "}])
    )
    with raises_format_error(path, 2, "empty text for query 'q2'"):
        load_queries(path)


def test_duplicate_query_id(write_file, raises_format_error):
    path = write_file("queries.tsv", "q1\tone\nq2\ttwo\nq1\tagain\n")
    with raises_format_error(path, 3, "duplicate id 'q1' (first on line 1)"):
        load_queries(path)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{'_id': 'q2'}", "malformed JSON"),
        ('"just a string"', "expected a JSON object, got a string"),
        ('{"text": "no id"}', "missing '_id'"),
        ('{"_id": "q2"}', "missing 'text'"),
        ('{"_id": "q2", "text": ["a"]}', "'text' must be a string, got an array"),
    ],
    ids=["malformed-json", "not-an-object", "missing-id", "missing-text", "non-string-text"],
)
def test_bad_jsonl_query(write_file, raises_format_error, line, problem):
    path = write_file("queries.jsonl", '{"_id": "q1", "text": "fine"}\n' + line + "\n")
    with raises_format_error(path, 2, problem):
        load_queries(path)


def test_tsv_wrong_column_count(write_file, raises_format_error):
    path = write_file("queries.tsv", "q1\tfine\nq2\ttext\twith a tab\n")
    with raises_format_error(path, 2, "expected 2 tab-separated columns (qid, text), got 3"):
        load_queries(path)


def test_non_utf8_query(write_file, raises_format_error):
    path = write_file("queries.tsv", b"q1\tfine\nq2\t\xc3\x28 bad\n")
    with raises_format_error(path, 2, "invalid UTF-8 byte 0xc3 at column 4 (byte offset 11"):
        load_queries(path)


def test_file_without_queries(write_file, raises_format_error):
    path = write_file("queries.jsonl", "\n")
    with raises_format_error(path, None, "no queries in file"):
        load_queries(path)
