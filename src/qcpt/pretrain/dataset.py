"""Pre-training examples: (passage, context) pairs read from the stage files."""

from __future__ import annotations

import logging
from pathlib import Path

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

    def __init__(self, passages: list[str], sampler: ContextSampler):
        self.passages = passages
        self.sampler = sampler
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
                       title_separator: str = " ", data_dir: str | Path | None = None
                       ) -> PairsDataset:
    """Build the dataset from a passages file (or corpus / dataset) and a generated-queries file.

    Logs how many passages have no query and how many fall back to another context kind.
    Raises ``QcptError`` when the spec needs queries and no file is given, or when none of the
    file's ids are passages (the wrong file).
    """
    from qcpt.querygen.passages import load_passages
    from qcpt.querygen.writer import read_queries

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
    sampler = ContextSampler(
        [p.text for p in passages], [p.doc_id or p.id for p in passages],
        [[q for q in queries.get(p.id, []) if q.strip()] for p in passages], spec, seed)
    for kind, used in sampler.fallback_counts().items():
        if used:
            detail = ", ".join(f"{n} to {k}" for k, n in sorted(used.items()))
            logger.info("context %s: %d of %d passages fall back (%s)", kind,
                        sum(used.values()), len(passages), detail)
    texts = [f"{p.title}{title_separator}{p.text}" if with_title and p.title else p.text
             for p in passages]
    logger.info("%d passages, context %s", len(texts), spec)
    return PairsDataset(texts, sampler)
