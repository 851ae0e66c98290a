"""Pre-training examples: (passage, context) pairs read from the stage files."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from torch.utils.data import Dataset

from qcpt.errors import QcptError
from qcpt.pretrain.contexts import ContextSampler, ContextSpec

logger = logging.getLogger(__name__)


class PairsDataset(Dataset):
    """Item ``i`` is ``{"passage": text, "context": text, "kind": context kind, "index": i,
    "epoch": epoch}`` (index and epoch seed the batch's masks, so a resumed run masks alike).

    Contexts are re-drawn every epoch (:meth:`set_epoch`, called by the trainer) by a
    :class:`~qcpt.pretrain.contexts.ContextSampler`.
    """

    def __init__(self, passages: Sequence[str], sampler: ContextSampler, stats: dict | None = None):
        self.passages = passages
        self.sampler = sampler
        self.stats = stats or {"passages": len(passages)}
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def passage_lengths(self) -> np.ndarray:
        """Each passage's length in characters (int32), what length-grouped batches sort by:
        a tokenizer-free stand-in for its token count (4 bytes a passage, one pass)."""
        return np.fromiter(
            (len(passage) for passage in self.passages), dtype=np.int32, count=len(self.passages)
        )

    def __len__(self) -> int:
        return len(self.passages)

    def __getitem__(self, index: int) -> dict[str, str]:
        context, kind = self.sampler.draw(index, self.epoch)
        return {
            "passage": self.passages[index],
            "context": context,
            "kind": kind,
            "index": index,
            "epoch": self.epoch,
        }


def load_pairs_dataset(
    passages_source: str | Path,
    queries_path: str | Path | None,
    context: str,
    *,
    seed: int = 42,
    with_title: bool = False,
    title_separator: str = " ",
    data_dir: str | Path | None = None,
    missing_queries: Literal["drop", "span"] = "drop",
) -> PairsDataset:
    """Build the dataset from a passages file (or corpus / dataset) and a generated-queries file.

    When the context uses queries, a passage without any generated query is dropped
    (``missing_queries="drop"``, as the authors do) or keeps a span context (``"span"``, the
    documented fallback). Logs how many passages have no query, how many were dropped and how
    many fall back to another context kind; the counts are in the dataset's ``stats``.
    Passages and queries are read into memory-mapped columns (``qcpt.data.store``), and the
    loader keeps about 210 bytes a passage in memory at 1M documents
    (``benchmarks/memory_at_scale.py``).
    Raises ``QcptError`` when the spec needs queries and no file is given, when none of the
    file's ids are passages (the wrong file), or when dropping leaves no passage.
    """
    from qcpt.data.generated_queries import load_query_table
    from qcpt.data.passages import load_passage_table
    from qcpt.data.store import Subset

    spec = ContextSpec.parse(context)
    if spec.uses_queries and queries_path is None:
        raise QcptError(
            f"context {spec} needs generated queries: give data.queries "
            "(qcpt generate-queries output)"
        )
    table = load_passage_table(passages_source, data_dir)
    keep = np.arange(len(table))
    passage_queries: Sequence[Sequence[str]] = _NoQueries(len(table))
    stats = {
        "passages_read": len(table),
        "missing_queries": missing_queries,
        "passages_without_queries": 0,
        "passages_dropped": 0,
    }
    if spec.uses_queries:
        queries = load_query_table(queries_path)
        rows = queries.rows_of(table.id_keys)
        known = int(np.count_nonzero(rows >= 0))
        if known == 0:
            raise QcptError(
                f"{queries_path}: none of its {len(queries)} passage ids are in "
                f"{passages_source}; were the queries generated for these passages?"
            )
        unknown = len(queries) - known
        if unknown:
            logger.warning(
                "%s: %d query records name passages that are not in %s (ignored)",
                queries_path,
                unknown,
                passages_source,
            )
        counts = np.where(rows >= 0, queries.queries.lengths()[np.maximum(rows, 0)], 0)
        without = int(np.count_nonzero(counts == 0))
        stats["passages_without_queries"] = without
        if without and missing_queries == "drop":
            keep = np.flatnonzero(counts)
            stats["passages_dropped"] = without
            logger.warning(
                "%d of %d passages have no generated query: dropped (data.missing_queries: drop)",
                without,
                stats["passages_read"],
            )
        elif without:
            logger.warning(
                "%d of %d passages have no generated query: they use span "
                "contexts (data.missing_queries: span)",
                without,
                stats["passages_read"],
            )
        if not len(keep):
            raise QcptError(
                f"{queries_path}: no passage of {passages_source} has a generated query"
            )
        passage_queries = _QueriesOf(queries.queries, rows[keep], counts[keep])
    texts: Sequence[str] = table.texts
    titled: Sequence[str] = table.titled_texts(title_separator) if with_title else table.texts
    if len(keep) < len(table):
        texts, titled = Subset(texts, keep), Subset(titled, keep)
    sampler = ContextSampler(texts, table.doc_keys[keep], passage_queries, spec, seed)
    stats["fallbacks"] = {}
    for kind, used in sampler.fallback_counts().items():
        if used:
            stats["fallbacks"][kind] = dict(sorted(used.items()))
            detail = ", ".join(f"{n} to {k}" for k, n in sorted(used.items()))
            logger.info(
                "context %s: %d of %d passages fall back (%s)",
                kind,
                sum(used.values()),
                len(keep),
                detail,
            )
    stats["passages"] = len(keep)
    logger.info("%d passages, context %s", len(keep), spec)
    return PairsDataset(titled, sampler, stats)


class _NoQueries(Sequence[list[str]]):
    """``n`` empty query lists (a span-only context reads no queries file)."""

    def __init__(self, n: int):
        self.n = n

    def lengths(self) -> np.ndarray:
        return np.zeros(self.n, dtype=np.int64)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [[] for _ in range(*index.indices(self.n))]
        return []


class _QueriesOf(Sequence[list[str]]):
    """The query lists of a query table's ``rows`` (-1: a passage without a record), with
    their ``counts``."""

    def __init__(self, lists: Sequence[list[str]], rows: np.ndarray, counts: np.ndarray):
        self.lists, self.rows, self.counts = lists, rows, counts

    def lengths(self) -> np.ndarray:
        return self.counts

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        row = int(self.rows[index])
        return self.lists[row] if row >= 0 else []
