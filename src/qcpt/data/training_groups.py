"""Training groups, the file fine-tuning reads: a query, its positive passages and its hard
negatives, one JSON object per line.

Tevatron format::

    {"query_id": "q1", "query": "...",
     "positive_passages": [{"docid": "d1", "title": "...", "text": "..."}],
     "negative_passages": [{"docid": "d7", "title": "...", "text": "..."}, ...]}

FlagEmbedding files (``{"query": str, "pos": [str], "neg": [str]}``) are read as well; their
passages have no ids. Readers raise ``DataFormatError`` naming file and line; the writer is
atomic. Groups are built from rankings by :mod:`qcpt.finetune.groups`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qcpt.data.lines import iter_lines
from qcpt.errors import DataFormatError, QcptError
from qcpt.utils.io import write_jsonl


@dataclass(frozen=True)
class GroupPassage:
    """One passage of a group; ``docid`` is empty when the source file has no ids."""

    docid: str
    text: str
    title: str = ""

    def to_json(self) -> dict[str, str]:
        """The Tevatron passage object."""
        return {"docid": self.docid, "title": self.title, "text": self.text}


@dataclass
class TrainingGroup:
    """A query with its positive passages and its hard negatives."""

    query_id: str
    query: str
    positives: list[GroupPassage]
    negatives: list[GroupPassage] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The Tevatron line object."""
        return {
            "query_id": self.query_id,
            "query": self.query,
            "positive_passages": [p.to_json() for p in self.positives],
            "negative_passages": [p.to_json() for p in self.negatives],
        }


def write_groups(groups: Iterable[TrainingGroup], path: str | Path) -> int:
    """Write groups as Tevatron jsonl (atomically); returns how many were written."""
    return write_jsonl(path, (group.to_json() for group in groups))


def read_groups(path: str | Path) -> Iterator[TrainingGroup]:
    """Stream the groups of a Tevatron or FlagEmbedding jsonl file (format detected per line).

    Blank lines are skipped. Raises ``DataFormatError`` naming the line for bad JSON, a missing
    or empty query, no positive passage, or a passage without text.
    """
    path = Path(path)
    if not path.is_file():
        raise QcptError(f"{path}: no such groups file")
    for number, line in iter_lines(path):  # bad bytes: DataFormatError with line and column
        yield parse_group_line(line, path, number)


def parse_group_line(line: str, path: str | Path, number: int) -> TrainingGroup:
    """Parse one line of a groups file (see :func:`read_groups`)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataFormatError(path, number, f"not valid JSON: {error.msg}") from None
    except RecursionError:  # json gives up on arrays or objects nested thousands deep
        raise DataFormatError(path, number, "not valid JSON: nested too deeply") from None
    if not isinstance(record, dict):
        raise DataFormatError(path, number, "expected a JSON object")
    query = record.get("query")
    if not isinstance(query, str) or not query.strip():
        raise DataFormatError(path, number, "missing or empty 'query'")
    query_id = str(record.get("query_id", number))
    if "positive_passages" in record:
        positives = _passages(record["positive_passages"], "positive_passages", path, number)
        negatives = _passages(
            record.get("negative_passages", []), "negative_passages", path, number
        )
    elif "pos" in record:
        positives = _passages(record["pos"], "pos", path, number)
        negatives = _passages(record.get("neg", []), "neg", path, number)
    else:
        raise DataFormatError(
            path,
            number,
            "no positives: expected 'positive_passages' (Tevatron) or 'pos' (FlagEmbedding)",
        )
    if not positives:
        raise DataFormatError(path, number, "a group needs at least one positive passage")
    return TrainingGroup(query_id, query, positives, negatives)


def _passages(items: Any, key: str, path: str | Path, number: int) -> list[GroupPassage]:
    if not isinstance(items, list):
        raise DataFormatError(path, number, f"'{key}' must be a list")
    passages = []
    for item in items:
        if isinstance(item, str):
            text, title, docid = item, "", ""
        elif isinstance(item, dict):
            text, title, docid = item.get("text"), item.get("title") or "", item.get("docid", "")
        else:
            raise DataFormatError(
                path,
                number,
                f"'{key}' holds a {type(item).__name__}, expected a string or a passage object",
            )
        if not isinstance(text, str) or not text.strip():
            raise DataFormatError(path, number, f"a passage in '{key}' has no text")
        passages.append(GroupPassage(str(docid), text, str(title)))
    return passages
