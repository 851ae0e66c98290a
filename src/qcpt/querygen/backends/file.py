"""Import precomputed queries instead of generating them.

Formats (``file_format``; ``auto`` decides by suffix and content):

- ``jsonl``: qcpt's ``{"_id", "queries": [...]}``, or castorini's docTTTTTquery expansions
  ``{"id", "predicted_queries": [...]}``;
- ``lines``: docTTTTTquery text files, line *i* holding the queries of the *i*-th passage
  (tab-separated when several, as ``paste`` of the ``predicted_queries_topk_sample*.txt`` files
  gives); several files (one per sample) are joined line by line;
- ``tsv``: ``passage id<TAB>query`` lines, a passage id repeated for each of its queries;
- ``beir``: BEIR/GPL generated queries, ``queries.jsonl`` ``{"_id", "text"}`` plus qrels mapping
  each query to its passage (a folder with ``qgen-queries.jsonl`` and ``qgen-qrels/``, or a
  queries file with ``qrels``).

Reference: Nogueira & Lin, "From doc2query to docTTTTTquery" (2019); Wang et al., "GPL" (2022).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from qcpt.data.lines import iter_lines, json_type_name, parse_json_object
from qcpt.data.passages import Passage
from qcpt.errors import DataFormatError, QcptError
from qcpt.querygen.backends.base import QueryGenerator
from qcpt.querygen.config import GenerationSettings

logger = logging.getLogger(__name__)


class FileQueries(QueryGenerator):
    """Serves queries read from files, looked up by passage id (first ``num_queries`` kept)."""

    def __init__(self, settings: GenerationSettings, passage_ids: Sequence[str]):
        if not settings.queries_files:
            raise QcptError("the file backend needs --queries-file")
        self.settings = settings
        self.paths = [Path(p).expanduser() for p in settings.queries_files]
        self.format = settings.file_format
        if self.format == "auto":
            self.format = detect_format(self.paths[0], set(passage_ids))
        readers = {"jsonl": _read_jsonl, "tsv": _read_tsv, "beir": self._read_beir}
        self.queries: dict[str, list[str]] = {}
        if self.format == "lines":
            self.queries = _read_lines(self.paths, passage_ids)
        else:
            for path in self.paths:
                for passage_id, queries in readers[self.format](path).items():
                    self.queries.setdefault(passage_id, []).extend(queries)
        known = set(passage_ids)
        unknown = [pid for pid in self.queries if pid not in known]
        if unknown:
            logger.warning(
                "%d passage id(s) in the query files are not among the passages (e.g. %r)",
                len(unknown),
                unknown[0],
            )
        self.missing = sum(pid not in self.queries for pid in passage_ids)
        if self.missing:
            logger.warning("%d passage(s) have no queries in the files", self.missing)

    def generate(
        self, passages: Sequence[Passage], num_queries: int | None, seed: int
    ) -> list[list[str]]:
        return [self.queries.get(p.id, [])[:num_queries] for p in passages]

    def describe(self) -> dict:
        return {
            "backend": "file",
            "files": [str(p.resolve()) for p in self.paths],
            "file_format": self.format,
            "qrels": self.settings.qrels,
        }

    def _read_beir(self, path: Path) -> dict[str, list[str]]:
        from qcpt.data import load_qrels, load_queries, resolve_dataset

        if path.is_dir():
            dataset = resolve_dataset(path)
            split = "train" if "train" in dataset.splits else dataset.splits[0]
            texts, qrels = dataset.queries(), dataset.qrels(split)
        elif self.settings.qrels:
            texts = load_queries(path)
            qrels = load_qrels(self.settings.qrels, queries=texts)
        else:
            raise QcptError(f"{path}: BEIR queries need --qrels (query id -> passage id)")
        records: dict[str, list[str]] = {}
        for query_id, judged in qrels.items():
            for passage_id, grade in judged.items():
                if grade > 0:
                    records.setdefault(passage_id, []).append(texts[query_id])
        return records


def detect_format(path: Path, passage_ids: set[str]) -> str:
    """Guess the format of ``path`` (see the module docstring)."""
    if path.is_dir():
        return "beir"
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".json")):
        for number, text in iter_lines(path):
            record = parse_json_object(path, number, text)
            if "queries" in record or "predicted_queries" in record:
                return "jsonl"
            if "text" in record:
                return "beir"
            raise DataFormatError(
                path, number, "expected 'queries', 'predicted_queries' or 'text' in the record"
            )
        raise DataFormatError(path, None, "no records in file")
    if name.endswith(".tsv"):
        for _, text in iter_lines(path):
            return "tsv" if text.split("\t", 1)[0] in passage_ids else "lines"
    return "lines"


def _read_jsonl(path: Path) -> dict[str, list[str]]:
    records: dict[str, list[str]] = {}
    for number, text in iter_lines(path):
        record = parse_json_object(path, number, text)
        key, field = ("_id", "queries") if "queries" in record else ("id", "predicted_queries")
        passage_id, queries = record.get(key), record.get(field)
        if isinstance(passage_id, int) and not isinstance(passage_id, bool):
            passage_id = str(passage_id)
        if not isinstance(passage_id, str) or not passage_id:
            raise DataFormatError(path, number, f"'{key}' must be a non-empty string")
        if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
            raise DataFormatError(
                path, number, f"'{field}' must be a list of strings, got {json_type_name(queries)}"
            )
        records.setdefault(passage_id, []).extend(queries)
    return records


def _read_tsv(path: Path) -> dict[str, list[str]]:
    records: dict[str, list[str]] = {}
    for number, text in iter_lines(path):
        fields = text.split("\t")
        if len(fields) != 2 or not fields[0].strip():
            raise DataFormatError(
                path, number, f"expected 2 tab-separated columns (pid, query), got {len(fields)}"
            )
        records.setdefault(fields[0].strip(), []).append(fields[1])
    return records


def _read_lines(paths: Sequence[Path], passage_ids: Sequence[str]) -> dict[str, list[str]]:
    """Line *i* of every file holds (tab-separated) queries of passage *i*; blank lines count."""
    records: dict[str, list[str]] = {pid: [] for pid in passage_ids}
    for path in paths:
        if not path.is_file():
            raise QcptError(f"{path}: no such file")
        with path.open("rb") as handle:
            count = 0
            for count, raw in enumerate(handle, start=1):
                if count > len(passage_ids):
                    break
                try:
                    line = raw.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
                except UnicodeDecodeError as error:
                    raise DataFormatError(path, count, f"invalid UTF-8 ({error.reason})") from None
                queries = [q for q in line.split("\t") if q.strip()]
                records[passage_ids[count - 1]].extend(queries)
        if count != len(passage_ids):
            raise DataFormatError(
                path,
                None,
                f"has {'more' if count > len(passage_ids) else count} lines but there are "
                f"{len(passage_ids)} passages; line i must hold the queries of passage i",
            )
    return records
