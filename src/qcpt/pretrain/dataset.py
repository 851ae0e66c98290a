"""Pre-training examples: (passage, context) pairs read from the stage files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from torch.utils.data import Dataset

from qcpt.data.text import document_text
from qcpt.errors import QcptError
from qcpt.pretrain.contexts import ContextSampler, ContextSpec

logger = logging.getLogger(__name__)


class PairsDataset(Dataset):
    """Item ``i`` is ``{"passage": text, "context": text, "kind": context kind, "index": i,
    "epoch": epoch}`` (index and epoch seed the batch's masks, so a resumed run masks alike).

    Contexts are re-drawn every epoch (:meth:`set_epoch`, called by the trainer) by a
    :class:`~qcpt.pretrain.contexts.ContextSampler`.
    """

    def __init__(self, passages: list[str], sampler: ContextSampler,
                 stats: dict | None = None):
        self.passages = passages
        self.sampler = sampler
        self.stats = stats or {"passages": len(passages)}
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.passages)

    def __getitem__(self, index: int) -> dict[str, str]:
        context, kind = self.sampler.draw(index, self.epoch)
        return {"passage": self.passages[index], "context": context, "kind": kind,
                "index": index, "epoch": self.epoch}


def load_pairs_dataset(passages_source: str | Path, queries_path: str | Path | None,
                       context: str, *, seed: int = 42, with_title: bool = False,
                       title_separator: str = " ", data_dir: str | Path | None = None,
                       missing_queries: Literal["drop", "span"] = "drop") -> PairsDataset:
    """Build the dataset from a passages file (or corpus / dataset) and a generated-queries file.

    When the context uses queries, a passage without any generated query is dropped
    (``missing_queries="drop"``, as the authors do) or keeps a span context (``"span"``, the
    documented fallback). Logs how many passages have no query, how many were dropped and how
    many fall back to another context kind; the counts are in the dataset's ``stats``.
    Raises ``QcptError`` when the spec needs queries and no file is given, when none of the
    file's ids are passages (the wrong file), or when dropping leaves no passage.
    """
    from qcpt.data.generated_queries import read_queries
    from qcpt.data.passages import load_passages

    spec = ContextSpec.parse(context)
    passages = load_passages(passages_source, data_dir)
    queries: dict[str, list[str]] = {}
    if spec.uses_queries:
        if queries_path is None:
            raise QcptError(f"context {spec} needs generated queries: give data.queries "
                            "(qcpt generate-queries output)")
        queries = read_queries(queries_path)
        known = sum(1 for passage in passages if passage.id in queries)
        if known == 0:
            raise QcptError(f"{queries_path}: none of its {len(queries)} passage ids are in "
                            f"{passages_source}; were the queries generated for these passages?")
        unknown = len(queries) - known
        if unknown:
            logger.warning("%s: %d query records name passages that are not in %s (ignored)",
                           queries_path, unknown, passages_source)
    passage_queries = [[q for q in queries.get(p.id, []) if q.strip()] for p in passages]
    stats = {"passages_read": len(passages), "missing_queries": missing_queries,
             "passages_without_queries": 0, "passages_dropped": 0}
    if spec.uses_queries:
        without = sum(1 for options in passage_queries if not options)
        stats["passages_without_queries"] = without
        if without and missing_queries == "drop":
            keep = [i for i, options in enumerate(passage_queries) if options]
            passages = [passages[i] for i in keep]
            passage_queries = [passage_queries[i] for i in keep]
            stats["passages_dropped"] = without
            logger.warning("%d of %d passages have no generated query: dropped "
                           "(data.missing_queries: drop)", without, stats["passages_read"])
        elif without:
            logger.warning("%d of %d passages have no generated query: they use span "
                           "contexts (data.missing_queries: span)", without,
                           stats["passages_read"])
        if not passages:
            raise QcptError(f"{queries_path}: no passage of {passages_source} has a "
                            "generated query")
    sampler = ContextSampler(
        [p.text for p in passages], [p.doc_id or p.id for p in passages], passage_queries,
        spec, seed)
    stats["fallbacks"] = {}
    for kind, used in sampler.fallback_counts().items():
        if used:
            stats["fallbacks"][kind] = dict(sorted(used.items()))
            detail = ", ".join(f"{n} to {k}" for k, n in sorted(used.items()))
            logger.info("context %s: %d of %d passages fall back (%s)", kind,
                        sum(used.values()), len(passages), detail)
    texts = [document_text(p, title_separator) if with_title else p.text for p in passages]
    stats["passages"] = len(texts)
    logger.info("%d passages, context %s", len(texts), spec)
    return PairsDataset(texts, sampler, stats)
