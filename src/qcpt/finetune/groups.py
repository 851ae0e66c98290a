"""Training groups from rankings (the file format is :mod:`qcpt.data.training_groups`).

Groups are built from a ranking of the train queries: positives are the
qrels documents with grade > 0, negatives are sampled from the top ``depth`` of a BM25 run
(stage 1) or of a dense run of the stage-1 model (stage 2), with every positive removed.

Reference: Karpukhin et al. 2020 (DPR, BM25 hard negatives); Gao & Callan 2022 (coCondenser /
Tevatron: negatives mined with the stage-1 model, top 200, positives removed).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from pathlib import Path

from qcpt.data import Document, RetrievalDataset
from qcpt.data.training_groups import GroupPassage, TrainingGroup
from qcpt.errors import QcptError
from qcpt.evaluation.runs import Run, ranked
from qcpt.finetune.config import NegativesSettings

logger = logging.getLogger(__name__)


def groups_from_run(
    run: Run,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    corpus: Mapping[str, Document],
    negatives: NegativesSettings,
) -> list[TrainingGroup]:
    """One group per judged query: qrels positives and negatives sampled from its ranking.

    The ranking is cut to ranks ``skip_top + 1 .. depth``; every document with a grade > 0 is
    removed; ``negatives.negatives`` of the rest are drawn without replacement by a
    ``random.Random`` seeded with the seed and the query id (reproducible, independent of the
    query order). Queries without a positive in the corpus, or left without any negative, get
    no group (each case is counted in one warning).
    """
    groups, no_positive, no_negative = [], 0, 0
    for query_id, judgements in qrels.items():
        relevant = {docid for docid, grade in judgements.items() if grade > 0}
        positives = [_passage(corpus[d]) for d in sorted(relevant) if d in corpus]
        if not positives or query_id not in queries:
            no_positive += 1
            continue
        ranking = [docid for docid, _ in ranked(run.get(query_id, {}), negatives.depth)]
        candidates = [d for d in ranking[negatives.skip_top :] if d not in relevant and d in corpus]
        if not candidates:
            no_negative += 1
            continue
        rng = random.Random(f"{negatives.seed}:{query_id}")
        sampled = rng.sample(candidates, min(negatives.negatives, len(candidates)))
        groups.append(
            TrainingGroup(
                query_id, queries[query_id], positives, [_passage(corpus[d]) for d in sampled]
            )
        )
    if no_positive:
        logger.warning(
            "%d judged queries have no text or no positive document in the corpus and get no group",
            no_positive,
        )
    if no_negative:
        logger.warning(
            "%d queries have no negative left in the top %d and get no group",
            no_negative,
            negatives.depth,
        )
    return groups


def _passage(document: Document) -> GroupPassage:
    return GroupPassage(document.id, document.text, document.title)


def bm25_groups(
    dataset: RetrievalDataset, split: str, negatives: NegativesSettings, show_progress: bool = True
) -> tuple[list[TrainingGroup], Run]:
    """Stage-1 groups: BM25 (bm25s, English stemming) negatives for the split's queries."""
    from qcpt.retrieval import BM25Index

    queries = _judged_queries(dataset, split)
    index = BM25Index().index(dataset.iter_corpus(), show_progress=show_progress)
    run = index.search(queries, k=negatives.depth, show_progress=show_progress)
    del index  # free it before the corpus is read again
    qrels = dataset.qrels(split)
    documents = documents_for_groups(dataset, run, qrels)
    return groups_from_run(run, queries, qrels, documents, negatives), run


def mine_groups(
    encoder,
    dataset: RetrievalDataset,
    split: str,
    negatives: NegativesSettings,
    embeddings_dir: str | Path,
    show_progress: bool = True,
) -> tuple[list[TrainingGroup], Run]:
    """Stage-2 groups: negatives mined with a dense ``encoder`` (a :class:`DenseEncoder`).

    The corpus is encoded into shards in ``embeddings_dir`` (complete shards are reused, so the
    test-set evaluation of the same model and the mining share one encoding), then the split's
    queries are searched to ``depth``.
    """
    queries = _judged_queries(dataset, split)
    run = dense_run(encoder, dataset, queries, negatives.depth, embeddings_dir, show_progress)
    qrels = dataset.qrels(split)
    documents = documents_for_groups(dataset, run, qrels)
    return groups_from_run(run, queries, qrels, documents, negatives), run


def documents_for_groups(
    dataset: RetrievalDataset, run: Run, qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, Document]:
    """The corpus documents :func:`groups_from_run` can use (every judged document and every
    ranked one), picked from one pass over the corpus, so memory grows with queries x depth,
    not with the corpus."""
    wanted = {docid for judgements in qrels.values() for docid in judgements}
    wanted.update(docid for ranking in run.values() for docid in ranking)
    return {document.id: document for document in dataset.iter_corpus() if document.id in wanted}


def dense_run(
    encoder,
    dataset: RetrievalDataset,
    queries: Mapping[str, str],
    depth: int,
    embeddings_dir: str | Path,
    show_progress: bool = True,
) -> Run:
    """The ``encoder``'s top ``depth`` corpus documents for each of ``queries`` (the corpus is
    encoded into shards in ``embeddings_dir``; complete shards are reused)."""
    from qcpt.retrieval import encode_to_shards, search_shards

    encode_to_shards(encoder, dataset.iter_corpus(), embeddings_dir, show_progress=show_progress)
    query_ids = list(queries)
    vectors = encoder.encode_queries([queries[q] for q in query_ids])
    return search_shards(embeddings_dir, query_ids, vectors, depth, show_progress=show_progress)


def _judged_queries(dataset: RetrievalDataset, split: str) -> dict[str, str]:
    qrels = dataset.qrels(split)
    queries = {
        q: text
        for q, text in dataset.queries(split).items()
        if any(grade > 0 for grade in qrels.get(q, {}).values())
    }
    if not queries:
        raise QcptError(f"{dataset.name}/{split} has no query with a relevant document")
    return queries
