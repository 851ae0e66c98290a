"""The generated-queries file between query generation and pre-training / fine-tuning: jsonl
``{"_id": passage id, "queries": [str, ...]}`` plus the sidecar ``<name>.meta.json`` that
records the generator and its settings (DESIGN.md section 6).

Readers raise ``DataFormatError`` naming file and line. The resumable writer lives with the
stage that produces the file (``qcpt.querygen.writer``).
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from qcpt.data.lines import iter_lines, json_type_name, parse_json_object
from qcpt.data.store import PackedStringLists, check_unique_keys, string_key
from qcpt.errors import DataFormatError

FORMAT = "qcpt-generated-queries/1"


def sidecar_path(path: str | Path) -> Path:
    """``queries.jsonl`` -> ``queries.meta.json``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".jsonl") + ".meta.json")


def iter_query_records(path: str | Path) -> Iterable[tuple[int, str, list[str]]]:
    """Yield ``(line, passage id, queries)`` from a generated-queries jsonl file."""
    path = Path(path)
    for number, text in iter_lines(path):
        record = parse_json_object(path, number, text)
        passage_id, queries = record.get("_id"), record.get("queries")
        if isinstance(passage_id, int) and not isinstance(passage_id, bool):
            passage_id = str(passage_id)
        if not isinstance(passage_id, str) or not passage_id:
            raise DataFormatError(path, number, "'_id' must be a non-empty string")
        if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
            got = json_type_name(queries) if "queries" in record else "nothing"
            raise DataFormatError(path, number, f"'queries' must be a list of strings, got {got}")
        yield number, passage_id, queries


def read_queries(path: str | Path) -> dict[str, list[str]]:
    """Load a generated-queries file as ``{passage id: queries}`` (duplicate ids are an error)."""
    records: dict[str, list[str]] = {}
    lines: dict[str, int] = {}
    for number, passage_id, queries in iter_query_records(path):
        if passage_id in records:
            raise DataFormatError(
                path, number, f"duplicate id {passage_id!r} (first on line {lines[passage_id]})"
            )
        records[passage_id], lines[passage_id] = queries, number
    return records


def read_usable_queries(path: str | Path) -> dict[str, list[str]]:
    """:func:`read_queries` without blank queries, and without the passages left with none."""
    usable = {pid: [q for q in queries if q.strip()] for pid, queries in read_queries(path).items()}
    return {pid: queries for pid, queries in usable.items() if queries}


class QueryTable:
    """A generated-queries file as columns: passage ids as int64 keys
    (:func:`~qcpt.data.store.string_keys`) and each passage's non-blank queries in a
    memory-mapped :class:`~qcpt.data.store.PackedStringLists`, in file order."""

    def __init__(self, id_keys: np.ndarray, queries: PackedStringLists):
        self.id_keys, self.queries = id_keys, queries

    def __len__(self) -> int:
        return len(self.id_keys)

    def rows_of(self, keys: np.ndarray) -> np.ndarray:
        """The row of each passage key in ``keys`` (-1 where the file has no record)."""
        if not len(self.id_keys):
            return np.full(len(keys), -1, dtype=np.int64)
        order = np.argsort(self.id_keys, kind="stable")
        sorted_keys = self.id_keys[order]
        positions = np.minimum(np.searchsorted(sorted_keys, keys), len(order) - 1)
        return np.where(sorted_keys[positions] == keys, order[positions], -1)

    def close(self) -> None:
        """Remove the memory-mapped file."""
        self.queries.close()


def load_query_table(path: str | Path) -> QueryTable:
    """:func:`read_usable_queries` as a :class:`QueryTable` (records whose queries are all blank
    keep an empty list): one pass; besides the memory-mapped texts it keeps 16 bytes a record
    and 8 a query in memory. Duplicate ids are a ``DataFormatError`` with lines."""
    keys = array("q")
    queries = PackedStringLists()
    for _number, passage_id, options in iter_query_records(path):
        keys.append(string_key(passage_id))
        queries.append([query for query in options if query.strip()])
    id_keys = np.frombuffer(keys, dtype=np.int64)
    check_unique_keys(id_keys, path, lambda: read_queries(path))
    return QueryTable(id_keys, queries.freeze())


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """The sidecar of a generated-queries file, or ``{}`` when there is none; one that is not
    a JSON object is a ``DataFormatError``."""
    meta = sidecar_path(path)
    if not meta.is_file():
        return {}
    try:
        record = json.loads(meta.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DataFormatError(meta, None, f"invalid UTF-8 at byte offset {error.start}") from None
    except json.JSONDecodeError as error:
        raise DataFormatError(meta, error.lineno, f"malformed JSON: {error.msg}") from None
    except RecursionError:
        raise DataFormatError(meta, None, "malformed JSON: nested too deeply") from None
    if not isinstance(record, dict):
        raise DataFormatError(meta, None, f"expected a JSON object, got {json_type_name(record)}")
    return record
