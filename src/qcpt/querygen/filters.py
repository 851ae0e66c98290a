"""Cleaning and filtering of generated queries, with counts of what was dropped and why.

Cleaning (cheap, applied as queries are generated): normalise whitespace and stray quotes, then
drop empty queries, run-ons, duplicates within a passage (case and punctuation ignored) and echoes
(a query that copies a long run of the passage's words). The optional consistency filter keeps a
query only if a retriever ranks its source passage within the top k of a candidate pool.

References: Nogueira et al., "Document Expansion by Query Prediction" (doc2query, 2019);
Dai et al., "Promptagator: Few-shot Dense Retrieval From 8 Examples" (2022) and Alberti et al.,
"Synthetic QA Corpora Generation with Roundtrip Consistency" (2019) for consistency filtering.
"""

from __future__ import annotations

import logging
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from qcpt.data import Document
from qcpt.data.passages import Passage
from qcpt.errors import QcptError
from qcpt.querygen.config import CleanSettings, ConsistencySettings

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
_QUOTES = "\"'`“”‘’"
Records = dict[str, list[str]]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def normalize_query(query: str) -> str:
    """Collapse whitespace and strip surrounding quotes and spaces."""
    query = " ".join(query.split())
    if len(query) > 1 and query[0] in _QUOTES and query[-1] in _QUOTES:
        query = query[1:-1].strip()
    return query


def clean_queries(
    queries: Sequence[str], passage_text: str, settings: CleanSettings, counts: Counter
) -> list[str]:
    """Cleaned queries of one passage, in order; ``counts`` gains one per drop reason.

    Reasons: ``empty``, ``too_long`` (over ``max_words`` words), ``duplicate``, ``echo``
    (``echo_min_words`` or more consecutive words copied from the passage, or the whole passage).
    ``counts["generated"]`` and ``counts["kept"]`` count the queries in and out.
    """
    counts["generated"] += len(queries)
    if not settings.enabled:
        counts["kept"] += len(queries)
        return list(queries)
    passage = " " + " ".join(_words(passage_text)) + " "
    seen: set[str] = set()
    kept = []
    for raw in queries:
        query = normalize_query(raw)
        words = _words(query)
        key = " ".join(words)
        if not words:
            reason = "empty"
        elif len(words) > settings.max_words:
            reason = "too_long"
        elif key in seen:
            reason = "duplicate"
        elif (len(words) >= settings.echo_min_words or key == passage.strip()) and (
            f" {key} " in passage
        ):
            reason = "echo"
        else:
            seen.add(key)
            kept.append(query)
            continue
        counts[f"dropped_{reason}"] += 1
    counts["kept"] += len(kept)
    return kept


def consistency_filter(
    records: Mapping[str, list[str]],
    passages: Sequence[Passage],
    settings: ConsistencySettings,
    show_progress: bool = False,
) -> tuple[Records, Counter]:
    """Keep the queries whose source passage ranks within ``settings.k`` for them.

    ``records`` maps passage id -> queries; every id must be in ``passages``. Returns the kept
    records (same keys, in order) and counts ``checked``, ``kept``, ``dropped_inconsistent`` and
    ``pool`` (passages ranked against).
    """
    by_id = {passage.id: passage for passage in passages}
    missing = [pid for pid in records if pid not in by_id]
    if missing:
        raise QcptError(
            f"{len(missing)} query record(s) name unknown passages (e.g. {missing[0]!r})"
        )
    pool = _candidate_pool(records, passages, settings)
    sources = [pid for pid, queries in records.items() for _ in queries]
    texts = [query for queries in records.values() for query in queries]
    if settings.scorer.lower() == "bm25":
        hits = _bm25_hits(texts, sources, pool, settings.k)
    else:
        hits = _dense_hits(texts, sources, pool, settings, show_progress)
    kept: Records = {}
    position = 0
    for pid, queries in records.items():
        kept[pid] = [
            q for q, ok in zip(queries, hits[position : position + len(queries)], strict=True) if ok
        ]
        position += len(queries)
    counts = Counter(checked=len(texts), kept=int(hits.sum()), pool=len(pool))
    counts["dropped_inconsistent"] = counts["checked"] - counts["kept"]
    return kept, counts


def _candidate_pool(
    records: Mapping[str, list[str]], passages: Sequence[Passage], settings: ConsistencySettings
) -> list[Passage]:
    if settings.sample_size is None or settings.sample_size >= len(passages):
        return list(passages)
    needed = {pid for pid, queries in records.items() if queries}
    others = [p for p in passages if p.id not in needed]
    extra = max(0, settings.sample_size - len(needed))
    chosen = set(random.Random(settings.seed).sample(range(len(others)), min(extra, len(others))))
    return [p for p in passages if p.id in needed] + [
        p for i, p in enumerate(others) if i in chosen
    ]


def _bm25_hits(texts: list[str], sources: list[str], pool: list[Passage], k: int) -> np.ndarray:
    from qcpt.retrieval import BM25Index

    index = BM25Index().index((Document(p.id, p.text, p.title) for p in pool), show_progress=False)
    run = index.search({str(i): text for i, text in enumerate(texts)}, k=k, show_progress=False)
    return np.array([sources[i] in run[str(i)] for i in range(len(texts))], dtype=bool)


def _dense_hits(
    texts: list[str],
    sources: list[str],
    pool: list[Passage],
    settings: ConsistencySettings,
    show_progress: bool,
) -> np.ndarray:
    from qcpt.retrieval import DenseEncoder, EncoderSettings

    encoder = DenseEncoder(
        EncoderSettings(
            model=settings.scorer,
            batch_size=settings.batch_size,
            device=settings.device,
            precision=settings.precision,
        )
    )
    passage_vectors = encoder.encode_passages(
        [Document(p.id, p.text, p.title) for p in pool], show_progress=show_progress
    )
    query_vectors = encoder.encode_queries(texts, show_progress=show_progress)
    row = {p.id: i for i, p in enumerate(pool)}
    source_rows = np.array([row[s] for s in sources], dtype=np.int64)
    hits = np.zeros(len(texts), dtype=bool)
    for start in range(0, len(texts), 1024):
        scores = query_vectors[start : start + 1024] @ passage_vectors.T
        own = scores[np.arange(len(scores)), source_rows[start : start + 1024]]
        rank = (scores > own[:, None]).sum(axis=1)  # passages scored strictly above the source
        hits[start : start + 1024] = rank < settings.k
    return hits
