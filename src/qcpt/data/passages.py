"""The passages file between query generation and pre-training: jsonl records
``{"_id", "doc_id", "title", "text"}`` (DESIGN.md section 6), one passage a line.

A BEIR corpus or an MS MARCO ``collection.tsv`` of passage-sized documents is read as passages
too (each document its own passage). Readers raise ``DataFormatError`` naming file and line;
the writer is atomic.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qcpt.data.beir import Document, iter_corpus
from qcpt.data.lines import file_format, id_field, iter_lines, parse_json_object, text_field
from qcpt.data.store import PackedStrings, check_unique_keys, string_key
from qcpt.data.text import document_text
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


def iter_passages(path: str | Path, *, check_unique: bool = True) -> Iterator[Passage]:
    """Read passages: passages jsonl (``doc_id`` optional), a BEIR corpus or a collection.tsv.

    Records without ``doc_id`` are their own document. Raises ``DataFormatError`` with the line
    on malformed records and duplicate ids; ``check_unique=False`` leaves the duplicate check of
    a passages jsonl file to the caller (it keeps every id in memory).
    """
    path = Path(path)
    if file_format(path) == "tsv":
        yield from passages_as_is(iter_corpus(path))
        return
    seen: dict[str, int] = {}
    read = 0
    for number, line in iter_lines(path):
        record = parse_json_object(path, number, line)
        passage_id = id_field(path, number, record)
        if check_unique:
            if passage_id in seen:
                raise DataFormatError(
                    path, number, f"duplicate id {passage_id!r} (first on line {seen[passage_id]})"
                )
            seen[passage_id] = number
        read += 1
        text = text_field(path, number, record, "text", required=True)
        title = text_field(path, number, record, "title", required=False)
        doc_id = text_field(path, number, record, "doc_id", required=False) or passage_id
        yield Passage(passage_id, text, title, doc_id)
    if not read:
        raise DataFormatError(path, None, "no passages in file")


def load_passages(source: str | Path, data_dir: str | Path | None = None) -> list[Passage]:
    """Passages from a passages/corpus file, or a data set folder or name (its corpus as is)."""
    return list(_iter_source(source, data_dir, check_unique=True))


def _iter_source(
    source: str | Path, data_dir: str | Path | None, *, check_unique: bool
) -> Iterator[Passage]:
    path = Path(source).expanduser()
    if path.is_file():
        return iter_passages(path, check_unique=check_unique)
    from qcpt.data.datasets import resolve_dataset

    return passages_as_is(resolve_dataset(source, data_dir).iter_corpus())


class PassageTable:
    """Passages as columns, for corpora larger than memory would hold as objects: ids and
    document ids as int64 keys (:func:`~qcpt.data.store.string_keys`), texts and titles in
    memory-mapped :class:`~qcpt.data.store.PackedStrings`, in file order."""

    def __init__(
        self, id_keys: np.ndarray, doc_keys: np.ndarray, texts: PackedStrings, titles: PackedStrings
    ):
        self.id_keys, self.doc_keys, self.texts, self.titles = id_keys, doc_keys, texts, titles

    def __len__(self) -> int:
        return len(self.id_keys)

    def titled_texts(self, title_separator: str = " ") -> Sequence[str]:
        """Each passage's title and text joined as :func:`~qcpt.data.text.document_text`
        does, made when an item is read."""
        return _TitledTexts(self, title_separator)

    def close(self) -> None:
        """Remove the memory-mapped files."""
        self.texts.close()
        self.titles.close()


class _TitledTexts(Sequence[str]):
    def __init__(self, table: PassageTable, separator: str):
        self.table, self.separator = table, separator

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        title, text = self.table.titles[index], self.table.texts[index]
        return document_text(Passage("", text, title), self.separator)


def load_passage_table(source: str | Path, data_dir: str | Path | None = None) -> PassageTable:
    """:func:`load_passages` as a :class:`PassageTable`: one pass over the file; besides
    the memory-mapped texts it keeps about 32 bytes a passage in memory.

    Raises ``DataFormatError`` naming file and line for malformed records and duplicate ids.
    """
    ids, doc_ids = array("q"), array("q")
    texts, titles = PackedStrings(), PackedStrings()
    for passage in _iter_source(source, data_dir, check_unique=False):
        ids.append(string_key(passage.id))
        doc_ids.append(string_key(passage.doc_id or passage.id))
        texts.append(passage.text)
        titles.append(passage.title)
    id_keys = np.frombuffer(ids, dtype=np.int64)
    check_unique_keys(
        id_keys, source, lambda: all(_iter_source(source, data_dir, check_unique=True))
    )
    return PassageTable(
        id_keys, np.frombuffer(doc_ids, dtype=np.int64), texts.freeze(), titles.freeze()
    )


def sample_whole_documents(passages: list[Passage], target: int | None, seed: int) -> list[Passage]:
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
