"""Readers for corpora, queries and qrels in BEIR, MS MARCO and TREC formats.

Every reader validates as it goes and raises :class:`~qcpt.errors.DataFormatError` naming the
file, the line and the problem, so a bad input fails with one clear message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from qcpt.data.lines import file_format, id_field, iter_lines, parse_json_object, text_field
from qcpt.data.store import StreamingKeySet, string_key
from qcpt.errors import DataFormatError

logger = logging.getLogger(__name__)

_BEIR_QRELS_HEADER = ["query-id", "corpus-id", "score"]

_Record = TypeVar("_Record")


@dataclass(frozen=True, slots=True)
class Document:
    """One corpus entry."""

    id: str
    text: str
    title: str = ""


def iter_corpus(path: str | Path) -> Iterator[Document]:
    """Stream the documents of a BEIR ``corpus.jsonl`` or MS MARCO ``collection.tsv``.

    The format follows the suffix (``.jsonl``/``.json`` or ``.tsv``, optionally ``.gz``). TSV lines
    are ``pid<TAB>text``, ``pid<TAB>title<TAB>text`` or, as the MS MARCO *documents* collection
    ``msmarco-docs.tsv`` (the corpus coCondenser and CoT-MAE cut their span pairs from),
    ``docid<TAB>url<TAB>title<TAB>body`` (the url is not kept). Documents whose title and text
    are both blank are skipped with one warning at the end. Raises ``DataFormatError`` on
    malformed lines, duplicate ids or a corpus without documents.
    """
    path = Path(path)
    count = 0
    blank_count = 0
    first_blank_line = None
    for number, document in _unique(path, _read_documents, lambda document: document.id):
        if document.title.strip() or document.text.strip():
            count += 1
            yield document
        else:
            blank_count += 1
            first_blank_line = first_blank_line or number
    if blank_count:
        logger.warning(
            "%s: skipped %d document(s) with empty title and text (first on line %d)",
            path,
            blank_count,
            first_blank_line,
        )
    if not count and blank_count:
        raise DataFormatError(
            path, None, f"corpus is empty (all {blank_count} documents have empty title and text)"
        )
    if not count:
        raise DataFormatError(path, None, "corpus is empty (no documents)")


def load_corpus(path: str | Path) -> dict[str, Document]:
    """Load a whole corpus (see :func:`iter_corpus`) as ``{doc id: Document}`` in file order."""
    return {document.id: document for document in iter_corpus(path)}


def load_queries(path: str | Path) -> dict[str, str]:
    """Load BEIR ``queries.jsonl`` (``{"_id", "text"}``) or MS MARCO ``qid<TAB>text`` queries.

    Returns ``{query id: text}`` in file order. Blank query texts, duplicate ids and malformed lines
    raise ``DataFormatError``, as does a file without queries.
    """
    path = Path(path)
    queries = {}
    for number, (query_id, text) in _unique(path, _read_queries, lambda query: query[0]):
        if not text.strip():
            raise DataFormatError(path, number, f"empty text for query {query_id!r}")
        queries[query_id] = text
    if not queries:
        raise DataFormatError(path, None, "no queries in file")
    return queries


def load_qrels(
    path: str | Path,
    *,
    queries: Collection[str] | None = None,
    corpus_ids: Collection[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Load relevance judgements as ``{query id: {doc id: grade}}``.

    Accepts BEIR qrels (``query-id<TAB>corpus-id<TAB>score``, header line optional) and TREC qrels
    (``qid iter docid rel``); the format is detected from the first line. Grades stay integers
    (0 and negative included). Rows for query ids not in ``queries`` or doc ids not in
    ``corpus_ids`` (when given) are skipped, with one counted warning per kind.
    Raises ``DataFormatError`` on wrong column counts, non-integer grades, the same pair judged
    twice with different grades, and a file without judgements.
    """
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    first_seen: dict[tuple[str, str], tuple[int, int]] = {}  # (query, doc) -> (line, grade)
    known_queries = _as_lookup(queries)
    known_docs = _as_lookup(corpus_ids)
    unknown_queries = _SkipCounter("query id(s) not in the queries")
    unknown_docs = _SkipCounter("doc id(s) not in the corpus")
    for number, query_id, doc_id, grade in _read_qrels(path):
        pair = (query_id, doc_id)
        if pair in first_seen:
            earlier_line, earlier_grade = first_seen[pair]
            if earlier_grade != grade:
                raise DataFormatError(
                    path,
                    number,
                    f"query {query_id!r}, doc {doc_id!r} judged {grade} here but "
                    f"{earlier_grade} on line {earlier_line}",
                )
            continue
        first_seen[pair] = (number, grade)
        if known_queries is not None and query_id not in known_queries:
            unknown_queries.add(query_id)
        elif known_docs is not None and doc_id not in known_docs:
            unknown_docs.add(doc_id)
        else:
            qrels.setdefault(query_id, {})[doc_id] = grade
    if not first_seen:
        raise DataFormatError(path, None, "no judgements in file")
    unknown_queries.warn(path)
    unknown_docs.warn(path)
    return qrels


def _as_lookup(ids: Collection[str] | None) -> Collection[str] | None:
    """Keep sets and mappings as they are (fast membership); copy other collections to a set."""
    if ids is None or isinstance(ids, (Set, Mapping)):
        return ids
    return set(ids)


class _SkipCounter:
    """Counts qrels rows skipped for one reason, to report them in a single warning."""

    def __init__(self, reason: str):
        self.reason = reason
        self.rows = 0
        self.ids: set[str] = set()
        self.example: str | None = None

    def add(self, skipped_id: str) -> None:
        self.rows += 1
        self.ids.add(skipped_id)
        self.example = self.example or skipped_id

    def warn(self, path: Path) -> None:
        if self.rows:
            logger.warning(
                "%s: skipped %d qrels row(s) for %d %s (e.g. %r)",
                path,
                self.rows,
                len(self.ids),
                self.reason,
                self.example,
            )


def _unique(
    path: Path,
    read: Callable[[Path], Iterator[tuple[int, _Record]]],
    key: Callable[[_Record], str],
) -> Iterator[tuple[int, _Record]]:
    """Pass records through, raising on a repeated id.

    Only a 64-bit key of each id is kept (:class:`StreamingKeySet`, 8 bytes a record), so a
    duplicate is noticed up to a chunk of records after it; the file is then read again to name
    the id and both lines.
    """
    seen = StreamingKeySet()
    for number, record in read(path):
        repeated = seen.add(string_key(key(record)))
        if repeated is not None and len(repeated):
            _raise_on_duplicate(path, read, key, set(repeated.tolist()))
        yield number, record
    repeated = seen.flush()
    if len(repeated):
        _raise_on_duplicate(path, read, key, set(repeated.tolist()))


def _raise_on_duplicate(
    path: Path,
    read: Callable[[Path], Iterator[tuple[int, _Record]]],
    key: Callable[[_Record], str],
    suspects: Set[int],
) -> None:
    """Re-read ``path`` and raise on the first record whose id occurred before, naming both
    lines; returns when the repeated keys only belong to distinct ids that share a key."""
    first_lines: dict[str, int] = {}
    for number, record in read(path):
        record_id = key(record)
        if string_key(record_id) in suspects:
            if record_id in first_lines:
                raise DataFormatError(
                    path,
                    number,
                    f"duplicate id {record_id!r} (first on line {first_lines[record_id]})",
                )
            first_lines[record_id] = number


def _read_documents(path: Path) -> Iterator[tuple[int, Document]]:
    if file_format(path) == "jsonl":
        for number, text in iter_lines(path):
            yield number, _document_from_json(path, number, parse_json_object(path, number, text))
        return
    expected_columns = None
    for number, text in iter_lines(path):
        fields = text.split("\t")
        if expected_columns is None and len(fields) in (2, 3, 4):
            expected_columns = len(fields)
        if len(fields) != expected_columns:
            raise DataFormatError(
                path,
                number,
                f"expected {_corpus_columns(expected_columns)}, got {len(fields)} column(s)",
            )
        doc_id = _tsv_id(path, number, fields[0])
        title = fields[-2] if len(fields) >= 3 else ""  # 4 columns: docid, url, title, body
        yield number, Document(id=doc_id, text=fields[-1], title=title)


def _document_from_json(path: Path, number: int, record: dict) -> Document:
    return Document(
        id=id_field(path, number, record),
        text=text_field(path, number, record, "text", required=True),
        title=text_field(path, number, record, "title", required=False),
    )


def _corpus_columns(expected: int | None) -> str:
    if expected == 2:
        return "2 tab-separated columns (pid, text) like the first line"
    if expected == 3:
        return "3 tab-separated columns (pid, title, text) like the first line"
    if expected == 4:
        return "4 tab-separated columns (docid, url, title, body) like the first line"
    return (
        "2 tab-separated columns (pid, text), 3 (pid, title, text) or 4 (docid, url, title, body)"
    )


def _read_queries(path: Path) -> Iterator[tuple[int, tuple[str, str]]]:
    if file_format(path) == "jsonl":
        for number, text in iter_lines(path):
            record = parse_json_object(path, number, text)
            query_id = id_field(path, number, record)
            yield number, (query_id, text_field(path, number, record, "text", required=True))
        return
    for number, text in iter_lines(path):
        fields = text.split("\t")
        if len(fields) != 2:
            raise DataFormatError(
                path, number, f"expected 2 tab-separated columns (qid, text), got {len(fields)}"
            )
        yield number, (_tsv_id(path, number, fields[0]), fields[1])


def _read_qrels(path: Path) -> Iterator[tuple[int, str, str, int]]:
    """Yield ``(line, query id, doc id, grade)``; BEIR or TREC as decided by the first line."""
    separator: str | None = None
    columns = 0
    for number, text in iter_lines(path):
        if not columns:
            separator = "\t" if "\t" in text else None
            fields = text.split(separator)
            if [field.strip().lower() for field in fields] == _BEIR_QRELS_HEADER:
                columns = 3
                continue
            columns = len(fields)
            if columns not in (3, 4):
                raise DataFormatError(
                    path,
                    number,
                    "expected BEIR qrels (query-id, corpus-id, score: 3 tab-separated columns) "
                    f"or TREC qrels (qid iter docid rel: 4 columns), got {columns} column(s)",
                )
        fields = [field.strip() for field in text.split(separator)]
        if len(fields) != columns:
            layout = "query-id, corpus-id, score" if columns == 3 else "qid iter docid rel"
            raise DataFormatError(
                path, number, f"expected {columns} columns ({layout}), got {len(fields)}"
            )
        query_id, doc_id, grade = fields[0], fields[-2], fields[-1]
        if not query_id or not doc_id:
            raise DataFormatError(path, number, "empty query id or doc id")
        yield number, query_id, doc_id, _grade(path, number, grade)


def _grade(path: Path, number: int, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DataFormatError(
            path, number, f"relevance score must be an integer, got {value!r}"
        ) from None


def _tsv_id(path: Path, number: int, value: str) -> str:
    value = value.strip()
    if not value:
        raise DataFormatError(path, number, "empty id in the first column")
    return value
