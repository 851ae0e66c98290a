"""The passages file between query generation and pre-training: jsonl records
``{"_id", "doc_id", "title", "text"}`` (DESIGN.md section 6), one passage a line.

A BEIR corpus or an MS MARCO ``collection.tsv`` of passage-sized documents is read as passages
too (each document its own passage). Readers raise ``DataFormatError`` naming file and line;
the writer is atomic.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from qcpt.data.beir import Document, iter_corpus
from qcpt.data.lines import file_format, id_field, iter_lines, parse_json_object, text_field
from qcpt.errors import DataFormatError
from qcpt.utils.io import write_jsonl


@dataclass(frozen=True, slots=True)
class Passage:
    """A span of a document: the unit queries are generated for."""

    id: str
    text: str
    title: str = ""
    doc_id: str = ""

    def to_json(self) -> dict:
        """The passages-jsonl record ``{"_id", "doc_id", "title", "text"}``."""
        return {
            "_id": self.id,
            "doc_id": self.doc_id or self.id,
            "title": self.title,
            "text": self.text,
        }


def passages_as_is(documents: Iterable[Document]) -> Iterator[Passage]:
    """A corpus of passage-sized documents used unchanged: each document is its own passage."""
    for document in documents:
        yield Passage(document.id, document.text, document.title, document.id)


def write_passages(path: str | Path, passages: Iterable[Passage]) -> int:
    """Write passages jsonl atomically; returns the number written."""
    return write_jsonl(path, (passage.to_json() for passage in passages))


def iter_passages(path: str | Path) -> Iterator[Passage]:
    """Read passages: passages jsonl (``doc_id`` optional), a BEIR corpus or a collection.tsv.

    Records without ``doc_id`` are their own document. Raises ``DataFormatError`` with the line
    on malformed records and duplicate ids.
    """
    path = Path(path)
    if file_format(path) == "tsv":
        yield from passages_as_is(iter_corpus(path))
        return
    seen: dict[str, int] = {}
    for number, line in iter_lines(path):
        record = parse_json_object(path, number, line)
        passage_id = id_field(path, number, record)
        if passage_id in seen:
            raise DataFormatError(
                path, number, f"duplicate id {passage_id!r} (first on line {seen[passage_id]})"
            )
        seen[passage_id] = number
        text = text_field(path, number, record, "text", required=True)
        title = text_field(path, number, record, "title", required=False)
        doc_id = text_field(path, number, record, "doc_id", required=False) or passage_id
        yield Passage(passage_id, text, title, doc_id)
    if not seen:
        raise DataFormatError(path, None, "no passages in file")


def load_passages(source: str | Path, data_dir: str | Path | None = None) -> list[Passage]:
    """Passages from a passages/corpus file, or a data set folder or name (its corpus as is)."""
    path = Path(source).expanduser()
    if path.is_file():
        return list(iter_passages(path))
    from qcpt.data.datasets import resolve_dataset

    return list(passages_as_is(resolve_dataset(source, data_dir).iter_corpus()))


def sample_whole_documents(passages: list[Passage], target: int | None, seed: int
                           ) -> list[Passage]:
    """The passages of seeded-random whole documents, at least ``target`` of them (all when
    None or more than there are), in their original order. Whole documents keep every span
    context (random, nearby, overlapping) of a sampled passage available."""
    if target is None or target >= len(passages):
        return list(passages)
    documents: dict[str, list[int]] = {}
    for index, passage in enumerate(passages):
        documents.setdefault(passage.doc_id, []).append(index)
    order = sorted(documents)
    random.Random(seed).shuffle(order)
    chosen: set[int] = set()
    for doc_id in order:
        if len(chosen) >= target:
            break
        chosen.update(documents[doc_id])
    return [passages[i] for i in sorted(chosen)]
