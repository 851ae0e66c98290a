"""Memory-mapped string columns and the passage / query tables built on them."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from qcpt.data.generated_queries import load_query_table, read_usable_queries
from qcpt.data.passages import load_passage_table, load_passages
from qcpt.data.store import (
    PackedStringLists,
    PackedStrings,
    StreamingKeySet,
    Subset,
    string_key,
    string_keys,
)
from qcpt.data.text import document_text
from qcpt.errors import DataFormatError

STRINGS = ["", "plain", "ünïcode ✓", "two\nlines", "x" * 10_000, "中文"]


def test_packed_strings_round_trip_every_kind_of_index():
    store = PackedStrings(STRINGS)
    assert len(store) == len(STRINGS)
    assert list(store) == STRINGS
    assert store[-1] == STRINGS[-1]
    assert store[1:4] == STRINGS[1:4]
    assert store[np.array([5, 0, 2])] == [STRINGS[5], STRINGS[0], STRINGS[2]]
    assert store.nbytes == sum(len(s.encode("utf-8")) for s in STRINGS)
    with pytest.raises(IndexError):
        store[len(STRINGS)]
    with pytest.raises(ValueError, match="frozen"):
        store.append("late")
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(store)
    store.close()


def test_an_empty_store_reads_as_empty():
    assert list(PackedStrings()) == []
    assert PackedStrings([""])[0] == ""


def test_packed_string_lists_keep_lists_and_their_lengths():
    lists = [["a", "b"], [], ["ç"], ["", "d", "e"]]
    store = PackedStringLists(lists).freeze()
    assert [store[i] for i in range(len(store))] == lists
    assert store.lengths().tolist() == [2, 0, 1, 3]
    assert store[1:3] == lists[1:3]


def test_string_keys_are_stable_and_distinct():
    assert string_key("doc-1") == string_key("doc-1") != string_key("doc-2")
    keys = string_keys(f"id{i}" for i in range(50_000))
    assert keys.dtype == np.int64 and len(np.unique(keys)) == 50_000


def test_subset_reads_through_without_copying():
    base = PackedStrings(["a", "b", "c", "d"])
    view = Subset(base, np.array([3, 1]))
    assert len(view) == 2 and view[0] == "d" and view[1:] == ["b"]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_passage_table_equals_the_list_reader(tmp_path):
    records = [
        {
            "_id": f"d{d}-{p}",
            "doc_id": f"d{d}",
            "title": f"T{d}" if d else "",
            "text": f"text ✓ {d} {p}",
        }
        for d in range(3)
        for p in range(2)
    ]
    records.append({"_id": "solo", "text": "own document"})
    path = write_jsonl(tmp_path / "passages.jsonl", records)
    table = load_passage_table(path)
    passages = load_passages(path)
    assert len(table) == len(passages) == 7
    assert list(table.texts) == [p.text for p in passages]
    assert list(table.titles) == [p.title for p in passages]
    assert table.id_keys.tolist() == string_keys(p.id for p in passages).tolist()
    assert table.doc_keys.tolist() == string_keys(p.doc_id for p in passages).tolist()
    assert list(table.titled_texts(" | ")) == [document_text(p, " | ") for p in passages]
    table.close()


def test_passage_table_names_the_duplicate_and_its_lines(tmp_path):
    path = write_jsonl(
        tmp_path / "dup.jsonl",
        [{"_id": "a", "text": "x"}, {"_id": "b", "text": "y"}, {"_id": "a", "text": "z"}],
    )
    with pytest.raises(DataFormatError, match=r":3: duplicate id 'a' \(first on line 1\)"):
        load_passage_table(path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "a", "text": "x"}\n{"_id": "b"}\n')
    with pytest.raises(DataFormatError, match=":2: missing 'text'"):
        load_passage_table(bad)


def test_query_table_joins_passages_by_id(tmp_path):
    path = write_jsonl(
        tmp_path / "queries.jsonl",
        [
            {"_id": "p2", "queries": ["q2a", "  ", "q2b"]},
            {"_id": "p0", "queries": ["q0"]},
            {"_id": "blank", "queries": [" "]},
        ],
    )
    table = load_query_table(path)
    rows = table.rows_of(string_keys(["p0", "p1", "p2", "blank"]))
    assert rows.tolist() == [1, -1, 0, 2]
    assert [table.queries[r] for r in rows if r >= 0] == [["q0"], ["q2a", "q2b"], []]
    usable = read_usable_queries(path)
    assert usable == {"p2": ["q2a", "q2b"], "p0": ["q0"]}
    duplicated = write_jsonl(
        tmp_path / "dup.jsonl", [{"_id": "p", "queries": []}, {"_id": "p", "queries": []}]
    )
    with pytest.raises(DataFormatError, match=r":2: duplicate id 'p' \(first on line 1\)"):
        load_query_table(duplicated)
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    assert load_query_table(empty).rows_of(string_keys(["p"])).tolist() == [-1]


@pytest.mark.parametrize("chunk_size", [1, 3, 64])
def test_streaming_key_set_finds_exactly_the_repeats_a_python_set_finds(chunk_size):
    rng = np.random.default_rng(chunk_size)
    keys = rng.integers(-50, 50, size=400).tolist()  # many repeats, near and far apart
    seen = StreamingKeySet(chunk_size=chunk_size)
    reported: set[int] = set()
    for key in keys:
        found = seen.add(key)
        if found is not None:
            reported.update(found.tolist())
    reported.update(seen.flush().tolist())
    assert reported == {k for k in set(keys) if keys.count(k) > 1}
    assert len(seen) == len(keys)
    assert len(seen.flush()) == 0  # nothing buffered: nothing new to report


def test_streaming_key_set_reports_a_repeat_within_one_chunk_of_it():
    seen = StreamingKeySet(chunk_size=100)
    for key in range(1_000):
        assert seen.add(key) is None or len(seen.flush()) == 0
    positions = []
    for offset, key in enumerate([5_000, 7, 6_000]):  # 7 repeats a key from 1,000 keys back
        found = seen.add(key)
        if found is not None and len(found):
            positions.append((offset, found.tolist()))
    found = seen.flush()
    assert positions == [] and found.tolist() == [7]
