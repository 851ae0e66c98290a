"""iter_corpus / load_corpus: good inputs in every format and one test per kind of bad input."""

from __future__ import annotations

import logging

import pytest

from qcpt.data import Document, iter_corpus, load_corpus
from qcpt.errors import DatasetNotFoundError

from .helpers import jsonl


def test_jsonl_corpus_in_file_order(write_file):
    path = write_file(
        "corpus.jsonl",
        '{"_id": "b", "title": "Title B", "text": "text b", "metadata": {"x": 1}}\n'
        "\n"
        '{"_id": 7, "text": "text seven"}\n'
        '{"_id": "a", "title": null, "text": "text a"}\n',
    )
    corpus = load_corpus(path)
    assert list(corpus) == ["b", "7", "a"]
    assert corpus["b"] == Document(id="b", text="text b", title="Title B")
    assert corpus["7"] == Document(id="7", text="text seven", title="")
    assert corpus["a"].title == ""


def test_byte_order_mark_is_ignored(write_file):
    path = write_file("corpus.jsonl", b'\xef\xbb\xbf{"_id": "d1", "text": "x"}\n')
    assert list(load_corpus(path)) == ["d1"]


def test_tsv_collection_with_two_columns(write_file):
    path = write_file("collection.tsv", "0\tfirst passage\n1\tsecond passage\r\n")
    assert list(iter_corpus(path)) == [
        Document(id="0", text="first passage"),
        Document(id="1", text="second passage"),
    ]


def test_tsv_collection_with_title_column(write_file):
    path = write_file("collection.tsv", "10\tA title\tthe text\n")
    assert load_corpus(path) == {"10": Document(id="10", text="the text", title="A title")}


def test_msmarco_documents_tsv_keeps_title_and_body(write_file, raises_format_error):
    path = write_file(
        "msmarco-docs.tsv",
        "D1\thttp://a.example/x\tA title\tthe body text\nD2\thttp://b.example/y\t\tno title here\n",
    )
    assert load_corpus(path) == {
        "D1": Document(id="D1", text="the body text", title="A title"),
        "D2": Document(id="D2", text="no title here"),
    }
    bad = write_file("docs.tsv", "D1\tu\tt\tbody\nD2\tu\tbody\n")
    with raises_format_error(
        bad, 2, "4 tab-separated columns (docid, url, title, body) like the first line, got 3"
    ):
        load_corpus(bad)


@pytest.mark.parametrize("name", ["corpus.jsonl.gz", "collection.tsv.gz"])
def test_gzip_corpus(write_file, name):
    content = jsonl([{"_id": "d1", "text": "zipped"}]) if ".jsonl" in name else "d1\tzipped\n"
    assert load_corpus(write_file(name, content)) == {"d1": Document(id="d1", text="zipped")}


def test_iter_corpus_streams(write_file):
    path = write_file("corpus.jsonl", '{"_id": "d1", "text": "fine"}\n{not json\n')
    documents = iter_corpus(path)
    assert next(documents).id == "d1"  # the bad second line is not read yet
    with pytest.raises(Exception, match="corpus.jsonl:2: malformed JSON"):
        next(documents)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"_id": "d2", "text": "unterminated}', "malformed JSON: Unterminated string"),
        ('["d2", "text"]', "expected a JSON object, got an array"),
        ('{"title": "t", "text": "no id"}', "missing '_id'"),
        ('{"_id": ["d2"], "text": "t"}', "'_id' must be a string, got an array"),
        ('{"_id": " ", "text": "t"}', "empty '_id'"),
        ('{"_id": "d2", "title": "only a title"}', "missing 'text'"),
        ('{"_id": "d2", "text": 42}', "'text' must be a string, got a number"),
        ('{"_id": "d2", "text": null}', "'text' must be a string, got null"),
        ('{"_id": "d2", "title": 3, "text": "t"}', "'title' must be a string, got a number"),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "missing-id",
        "non-string-id",
        "empty-id",
        "missing-text",
        "non-string-text",
        "null-text",
        "non-string-title",
    ],
)
def test_bad_jsonl_line(write_file, raises_format_error, line, problem):
    path = write_file("corpus.jsonl", '{"_id": "d1", "text": "good"}\n\n' + line + "\n")
    with raises_format_error(path, 3, problem):
        load_corpus(path)


def test_duplicate_id_names_both_lines(write_file, raises_format_error):
    path = write_file(
        "corpus.jsonl",
        jsonl([{"_id": "d1", "text": "a"}, {"_id": "d2", "text": "b"}, {"_id": "d1", "text": "c"}]),
    )
    with raises_format_error(path, 3, "duplicate id 'd1' (first on line 1)"):
        load_corpus(path)


def test_empty_documents_are_skipped_with_one_warning(write_file, caplog):
    path = write_file(
        "corpus.jsonl",
        jsonl(
            [
                {"_id": "d1", "text": "kept"},
                {"_id": "d2", "title": " ", "text": ""},
                {"_id": "d3", "title": "title only", "text": ""},
                {"_id": "d4", "text": "\t"},
            ]
        ),
    )
    with caplog.at_level(logging.WARNING, logger="qcpt.data"):
        corpus = load_corpus(path)
    assert list(corpus) == ["d1", "d3"]
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "corpus.jsonl" in message
    assert "skipped 2 document(s) with empty title and text (first on line 2)" in message


def test_corpus_of_only_empty_documents_is_an_error(write_file, raises_format_error):
    path = write_file("corpus.jsonl", jsonl([{"_id": "d1", "text": ""}, {"_id": "d2", "text": ""}]))
    with raises_format_error(path, None, "corpus is empty (all 2 documents have empty title"):
        load_corpus(path)


def test_empty_file_is_an_error(write_file, raises_format_error):
    path = write_file("corpus.jsonl", "\n  \n")
    with raises_format_error(path, None, "corpus is empty (no documents)"):
        load_corpus(path)


def test_non_utf8_bytes_give_line_and_offsets(write_file, raises_format_error):
    first = b'{"_id": "d1", "text": "ok"}\n'
    path = write_file("corpus.jsonl", first + b'{"_id": "d2", "text": "caf\xe9"}\n')
    offset = len(first) + 26
    with raises_format_error(
        path, 2, f"invalid UTF-8 byte 0xe9 at column 27 (byte offset {offset} in the file)"
    ):
        load_corpus(path)


def test_non_utf8_bytes_in_gzip_are_located_in_decompressed_data(write_file, raises_format_error):
    path = write_file("collection.tsv.gz", b"d1\tgood\nd2\tbad \xff\n")
    with raises_format_error(path, 2, "0xff at column 8 (byte offset 15 of the decompressed data)"):
        load_corpus(path)


def test_tsv_wrong_column_count(write_file, raises_format_error):
    path = write_file("collection.tsv", "0\tfirst\n1\ta title\tand text\n")
    with raises_format_error(
        path, 2, "expected 2 tab-separated columns (pid, text) like the first line, got 3"
    ):
        load_corpus(path)


def test_tsv_without_tabs(write_file, raises_format_error):
    path = write_file("collection.tsv", "0 first passage\n")
    with raises_format_error(
        path, 1, "3 (pid, title, text) or 4 (docid, url, title, body), got 1 column(s)"
    ):
        load_corpus(path)


def test_tsv_empty_id(write_file, raises_format_error):
    path = write_file("collection.tsv", "0\tfirst\n \tsecond\n")
    with raises_format_error(path, 2, "empty id in the first column"):
        load_corpus(path)


def test_corrupt_gzip(write_file, raises_format_error, tmp_path):
    path = tmp_path / "corpus.jsonl.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with raises_format_error(path, 1, "corrupt gzip data"):
        load_corpus(path)


def test_unknown_suffix(write_file, raises_format_error):
    path = write_file("corpus.csv", "d1,text\n")
    with raises_format_error(path, None, "unsupported file type"):
        load_corpus(path)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no such file"):
        load_corpus(tmp_path / "absent.jsonl")


def test_a_duplicate_many_chunks_later_names_both_lines(write_file, raises_format_error):
    documents = [{"_id": f"d{i}", "text": "x"} for i in range(20_000)]
    documents.append({"_id": "d3", "text": "again"})
    path = write_file("corpus.jsonl", jsonl(documents))
    with raises_format_error(path, 20_001, "duplicate id 'd3' (first on line 4)"):
        load_corpus(path)


def test_distinct_ids_sharing_a_key_are_not_a_duplicate(
    write_file, raises_format_error, monkeypatch
):
    from qcpt.data import beir

    monkeypatch.setattr(beir, "string_key", lambda value: len(value))  # "d1", "d2" share a key
    path = write_file(
        "corpus.jsonl", jsonl([{"_id": "d1", "text": "a"}, {"_id": "d2", "text": "b"}])
    )
    assert list(load_corpus(path)) == ["d1", "d2"]
    path = write_file(
        "corpus.jsonl",
        jsonl([{"_id": i, "text": "a"} for i in ("d1", "d2", "d3", "d2")]),
    )
    with raises_format_error(path, 4, "duplicate id 'd2' (first on line 2)"):
        load_corpus(path)
