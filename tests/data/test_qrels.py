"""load_qrels: BEIR and TREC formats, filtering with counted warnings, and validation."""

from __future__ import annotations

import logging

import pytest

from qcpt.data import load_qrels

EXPECTED = {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}


def test_beir_qrels_with_header(write_file):
    path = write_file("test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td3\t2\n")
    assert load_qrels(path) == EXPECTED


def test_beir_qrels_without_header(write_file):
    path = write_file("test.tsv", "q1\td1\t1\nq1\td2\t0\n\nq2\td3\t2\n")
    assert load_qrels(path) == EXPECTED


def test_trec_qrels_space_separated_with_graded_and_negative_grades(write_file):
    path = write_file("qrels.dev.txt", "q1 0 d1 1\nq1 0 d2 0\nq2 Q0 d3 2\nq2 0 d4 -1\n")
    assert load_qrels(path) == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2, "d4": -1}}


def test_trec_qrels_tab_separated_gzip(write_file):
    path = write_file("qrels.train.tsv.gz", "q1\t0\td1\t1\nq1\t0\td2\t0\nq2\t0\td3\t2\n")
    assert load_qrels(path) == EXPECTED


def test_repeated_row_with_the_same_grade_is_kept_once(write_file):
    path = write_file("test.tsv", "q1\td1\t1\nq1\td2\t0\nq1\td1\t1\nq2\td3\t2\n")
    assert load_qrels(path) == EXPECTED


def test_conflicting_grades_are_an_error(write_file, raises_format_error):
    path = write_file("test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq1\td1\t2\n")
    with raises_format_error(path, 4, "query 'q1', doc 'd1' judged 2 here but 1 on line 2"):
        load_qrels(path)


def test_wrong_column_count(write_file, raises_format_error):
    path = write_file("test.tsv", "q1\td1\t1\nq1\td2\t0\textra\n")
    with raises_format_error(path, 2, "expected 3 columns (query-id, corpus-id, score), got 4"):
        load_qrels(path)


def test_trec_wrong_column_count(write_file, raises_format_error):
    path = write_file("qrels.txt", "q1 0 d1 1\nq1 d2 1\n")
    with raises_format_error(path, 2, "expected 4 columns (qid iter docid rel), got 3"):
        load_qrels(path)


def test_unrecognised_first_line(write_file, raises_format_error):
    path = write_file("test.tsv", "q1\td1\n")
    with raises_format_error(path, 1, "expected BEIR qrels"):
        load_qrels(path)


@pytest.mark.parametrize("score", ["1.5", "high", ""])
def test_non_integer_score(write_file, raises_format_error, score):
    path = write_file("test.tsv", f"q1\td1\t1\nq1\td2\t{score}\n")
    with raises_format_error(path, 2, f"relevance score must be an integer, got {score!r}"):
        load_qrels(path)


def test_empty_ids(write_file, raises_format_error):
    path = write_file("test.tsv", "q1\td1\t1\nq1\t\t1\n")
    with raises_format_error(path, 2, "empty query id or doc id"):
        load_qrels(path)


def test_non_utf8_qrels(write_file, raises_format_error):
    path = write_file("test.tsv", b"q1\td1\t1\nq1\td\x80\t1\n")
    with raises_format_error(path, 2, "invalid UTF-8 byte 0x80 at column 5 (byte offset 12"):
        load_qrels(path)


def test_header_only_file_is_an_error(write_file, raises_format_error):
    path = write_file("test.tsv", "query-id\tcorpus-id\tscore\n")
    with raises_format_error(path, None, "no judgements in file"):
        load_qrels(path)


ROWS = "q1\td1\t1\nq1\td2\t1\nq8\td1\t1\nq8\td2\t0\nq9\td1\t1\nq2\td7\t1\nq2\td1\t1\n"


def test_rows_for_unknown_queries_are_skipped_with_one_warning(write_file, caplog):
    path = write_file("test.tsv", ROWS)
    with caplog.at_level(logging.WARNING, logger="qcpt.data"):
        qrels = load_qrels(path, queries={"q1": "text", "q2": "text"})
    assert qrels == {"q1": {"d1": 1, "d2": 1}, "q2": {"d7": 1, "d1": 1}}
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}: skipped 3 qrels row(s) for 2 query id(s) not in the queries (e.g. 'q8')"
    ]


def test_rows_for_unknown_docs_are_skipped_with_one_warning(write_file, caplog):
    path = write_file("test.tsv", ROWS)
    with caplog.at_level(logging.WARNING, logger="qcpt.data"):
        qrels = load_qrels(path, corpus_ids=["d1"])
    assert qrels == {"q1": {"d1": 1}, "q8": {"d1": 1}, "q9": {"d1": 1}, "q2": {"d1": 1}}
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}: skipped 3 qrels row(s) for 2 doc id(s) not in the corpus (e.g. 'd2')"
    ]


def test_both_filters_give_one_warning_per_kind(write_file, caplog):
    path = write_file("test.tsv", ROWS)
    with caplog.at_level(logging.WARNING, logger="qcpt.data"):
        qrels = load_qrels(path, queries={"q1", "q2"}, corpus_ids={"d1"})
    assert qrels == {"q1": {"d1": 1}, "q2": {"d1": 1}}
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "skipped 3 qrels row(s) for 2 query id(s)" in messages[0]
    assert "skipped 2 qrels row(s) for 2 doc id(s)" in messages[1]
