"""Training-groups files: round trip, FlagEmbedding input, bad lines and bytes named."""

from __future__ import annotations

import json

import pytest

from qcpt.data.training_groups import GroupPassage, TrainingGroup, read_groups, write_groups
from qcpt.errors import DataFormatError


def test_round_trip(tmp_path):
    groups = [
        TrainingGroup(
            "q1",
            "a query",
            [GroupPassage("d1", "pos text", "Title")],
            [GroupPassage("d2", "neg text"), GroupPassage("d3", "other", "T3")],
        )
    ]
    path = tmp_path / "groups.jsonl"
    assert write_groups(groups, path) == 1
    assert list(read_groups(path)) == groups
    line = json.loads(path.read_text())
    assert set(line) == {"query_id", "query", "positive_passages", "negative_passages"}
    assert line["positive_passages"] == [{"docid": "d1", "title": "Title", "text": "pos text"}]


def test_flag_embedding_lines_are_read(tmp_path):
    path = tmp_path / "fe.jsonl"
    path.write_text(
        json.dumps({"query": "q", "pos": ["p1"], "neg": ["n1", "n2"], "pos_scores": [1.0]}) + "\n\n"
    )
    [group] = read_groups(path)
    assert group.query == "q" and group.query_id == "1"
    assert group.positives == [GroupPassage("", "p1")]
    assert [p.text for p in group.negatives] == ["n1", "n2"]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"pos": ["p"]}', "missing or empty 'query'"),
        ('{"query": "q", "neg": ["n"]}', "no positives"),
        ('{"query": "q", "pos": []}', "at least one positive"),
        ('{"query": "q", "positive_passages": [{"docid": "d1"}]}', "has no text"),
        ('{"query": "q", "pos": ["p"], "neg": "n"}', "'neg' must be a list"),
        ('{"query": "q", "pos": [3]}', "holds a int"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"query": "ok", "pos": ["p"]}\n' + line + "\n")
    with pytest.raises(DataFormatError, match=problem) as error:
        list(read_groups(path))
    assert error.value.line == 2 and error.value.path == path


def test_a_non_utf8_byte_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"query": "ok", "pos": ["p"]}\n{"query": "caf\xe9", "pos": ["p"]}\n')
    with pytest.raises(DataFormatError, match="invalid UTF-8 byte 0xe9") as error:
        list(read_groups(path))
    assert error.value.line == 2 and error.value.path == path
