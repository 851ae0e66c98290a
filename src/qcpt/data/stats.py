"""Summary statistics of a retrieval data set: sizes, text lengths and qrels coverage."""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
from rich.console import Group
from rich.table import Table

from qcpt.data.beir import load_qrels
from qcpt.data.datasets import RetrievalDataset
from qcpt.data.text import document_text

_TOKENIZER_BATCH = 1024
_LENGTH_KEYS = ("p50", "p90", "p99", "max", "mean")
_SPLIT_ROWS = (  # label, key, format
    ("queries", "queries", "{:,}"),
    ("qrels rows", "qrels_rows", "{:,}"),
    ("relevant rows (grade > 0)", "relevant_rows", "{:,}"),
    ("relevant per query", "mean_relevant_per_query", "{:.2f}"),
    ("queries with text", "queries_with_text", "{:.1%}"),
    ("judged docs in corpus", "judged_docs_in_corpus", "{:.1%}"),
    ("queries with >= 1 relevant", "queries_with_relevant", "{:,}"),
)


def dataset_stats(dataset: RetrievalDataset, tokenizer: Any = None) -> dict[str, Any]:
    """Measure a data set; the result is plain JSON-ready data.

    Keys: ``name``, ``documents``, ``queries``, ``tokenizer`` (its name or None), ``lengths``
    (``documents``/``queries`` -> ``words`` and, with a Hugging Face ``tokenizer``, ``tokens`` ->
    p50/p90/p99/max/mean; a document is its title and text) and ``splits`` (per split: ``queries``,
    ``qrels_rows``, ``relevant_rows`` (grade > 0), ``mean_relevant_per_query``, and coverage:
    ``queries_with_text`` and ``judged_docs_in_corpus`` as shares, ``queries_with_relevant`` as a
    count). Qrels are read as they are on disk, nothing dropped.
    """
    # The qrels are read first (they are small) so that the corpus is streamed once, keeping only
    # lengths as int32 arrays and the judged ids it holds, never a set of every document id.
    qrels_by_split = {split: load_qrels(path) for split, path in dataset.qrels_paths.items()}
    judged_ids = {
        doc_id
        for qrels in qrels_by_split.values()
        for grades in qrels.values()
        for doc_id in grades
    }
    judged_in_corpus: set[str] = set()
    document_count = 0
    document_lengths = _Lengths(tokenizer)
    for document in dataset.iter_corpus():  # which refuses repeated ids
        document_count += 1
        if document.id in judged_ids:
            judged_in_corpus.add(document.id)
        document_lengths.add(document_text(document))
    queries = dataset.queries()
    query_lengths = _Lengths(tokenizer)
    for text in queries.values():
        query_lengths.add(text)
    return {
        "name": dataset.name,
        "documents": document_count,
        "queries": len(queries),
        "tokenizer": _tokenizer_name(tokenizer),
        "lengths": {"documents": document_lengths.summary(), "queries": query_lengths.summary()},
        "splits": {
            split: _split_stats(qrels, queries, judged_in_corpus)
            for split, qrels in qrels_by_split.items()
        },
    }


def _tokenizer_name(tokenizer: Any) -> str | None:
    if tokenizer is None:
        return None
    return getattr(tokenizer, "name_or_path", None) or type(tokenizer).__name__


def _split_stats(
    qrels: dict[str, dict[str, int]], queries: dict[str, str], judged_in_corpus: set[str]
) -> dict[str, Any]:
    judged_docs = {doc_id for grades in qrels.values() for doc_id in grades}
    relevant_rows = sum(grade > 0 for grades in qrels.values() for grade in grades.values())
    return {
        "queries": len(qrels),
        "qrels_rows": sum(len(grades) for grades in qrels.values()),
        "relevant_rows": relevant_rows,
        "mean_relevant_per_query": relevant_rows / len(qrels),
        "queries_with_text": sum(query_id in queries for query_id in qrels) / len(qrels),
        "judged_docs_in_corpus": len(judged_docs & judged_in_corpus) / len(judged_docs),
        "queries_with_relevant": sum(
            any(grade > 0 for grade in grades.values()) for grades in qrels.values()
        ),
    }


class _Lengths:
    """Collects word counts, and token counts in batches when a tokenizer is given."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.words = array("i")  # 4 bytes a text; a list of ints takes ~36
        self.tokens = array("i")
        self.pending: list[str] = []

    def add(self, text: str) -> None:
        self.words.append(len(text.split()))
        if self.tokenizer is not None:
            self.pending.append(text)
            if len(self.pending) == _TOKENIZER_BATCH:
                self._tokenize_pending()

    def summary(self) -> dict[str, dict[str, float]]:
        result = {"words": _percentiles(self.words)}
        if self.tokenizer is not None:
            self._tokenize_pending()
            result["tokens"] = _percentiles(self.tokens)
        return result

    def _tokenize_pending(self) -> None:
        if self.pending:
            encoded = self.tokenizer(self.pending, add_special_tokens=False, verbose=False)
            self.tokens.extend(len(ids) for ids in encoded["input_ids"])
            self.pending.clear()


def _percentiles(values: array) -> dict[str, float]:
    counts = np.frombuffer(values, dtype=np.int32)
    p50, p90, p99 = np.percentile(counts, [50, 90, 99]).tolist()
    return {
        "p50": p50,
        "p90": p90,
        "p99": p99,
        "max": int(counts.max()),
        "mean": float(counts.mean(dtype=np.float64)),
    }


def render_stats(stats: dict[str, Any]) -> Group:
    """Lay out :func:`dataset_stats` output as rich tables (sizes, lengths, splits)."""
    sizes = Table(title="Data set", title_justify="left", show_header=False)
    sizes.add_column("what")
    sizes.add_column("value", justify="right")
    sizes.add_row("name", stats["name"])
    sizes.add_row("documents", f"{stats['documents']:,}")
    sizes.add_row("queries", f"{stats['queries']:,}")
    if stats["tokenizer"]:
        sizes.add_row("tokenizer", stats["tokenizer"])

    lengths = Table(title="Lengths (a document is its title and text)", title_justify="left")
    lengths.add_column("text")
    lengths.add_column("unit")
    for key in _LENGTH_KEYS:
        lengths.add_column(key, justify="right")
    for kind, by_unit in stats["lengths"].items():
        for unit, summary in by_unit.items():
            lengths.add_row(
                kind, unit, *(_format_length(key, summary[key]) for key in _LENGTH_KEYS)
            )

    splits = Table(title="Splits (qrels as on disk)", title_justify="left")
    splits.add_column("")
    for split in stats["splits"]:
        splits.add_column(split, justify="right")
    for label, key, template in _SPLIT_ROWS:
        splits.add_row(label, *(template.format(row[key]) for row in stats["splits"].values()))
    return Group(sizes, lengths, splits)


def _format_length(key: str, value: float) -> str:
    return f"{value:,}" if key == "max" else f"{value:,.1f}"
