"""One-call evaluation of a retriever on a dataset split: encode, index, search, score.

Each call writes into its output folder the run file (``run.trec``), the metrics
(``metrics.json``, ir-measures figures plus settings and timings) and, for dense models, the
embedding shards (``embeddings/``), so a rerun resumes and every figure can be re-scored later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from qcpt.data import RetrievalDataset
from qcpt.evaluation import (
    DEFAULT_MEASURES,
    evaluate_run,
    read_run,
    reciprocal_rank_fusion,
    write_run,
)
from qcpt.evaluation.runs import RRF_K
from qcpt.retrieval import (
    BM25Index,
    BM25Settings,
    DenseEncoder,
    EncoderSettings,
    encode_to_shards,
    search_shards,
)
from qcpt.utils.io import write_json

logger = logging.getLogger(__name__)

RUN_FILE = "run.trec"
METRICS_FILE = "metrics.json"


def evaluate_dense(
    settings: EncoderSettings,
    dataset: RetrievalDataset,
    output_dir: str | Path,
    *,
    split: str = "test",
    depth: int = 1000,
    factory: str = "Flat",
    measures: Sequence[str] = DEFAULT_MEASURES,
    min_relevance: int | None = None,
    ignore_identical_ids: bool = False,
    show_progress: bool = True,
) -> dict:
    """Encode the corpus and the split's queries, search, and evaluate. Returns the metrics dict."""
    output_dir = Path(output_dir)
    queries = dataset.queries(split)  # bad queries or qrels fail before the model loads
    encoder = DenseEncoder(settings)
    started = time.perf_counter()
    encode_to_shards(
        encoder, dataset.iter_corpus(), output_dir / "embeddings", show_progress=show_progress
    )
    encode_seconds = time.perf_counter() - started
    query_ids = list(queries)
    started = time.perf_counter()
    query_vectors = encoder.encode_queries([queries[q] for q in query_ids])
    run = search_shards(
        output_dir / "embeddings",
        query_ids,
        query_vectors,
        depth,
        factory=factory,
        show_progress=show_progress,
    )
    search_seconds = time.perf_counter() - started
    return _score_and_save(
        run,
        dataset,
        output_dir,
        split=split,
        system={"kind": "dense", **encoder.describe(), "factory": factory},
        measures=measures,
        min_relevance=min_relevance,
        ignore_identical_ids=ignore_identical_ids,
        timings={"encode_corpus_s": encode_seconds, "encode_queries_and_search_s": search_seconds},
    )


def evaluate_bm25(
    dataset: RetrievalDataset,
    output_dir: str | Path,
    *,
    split: str = "test",
    settings: BM25Settings | None = None,
    depth: int = 1000,
    measures: Sequence[str] = DEFAULT_MEASURES,
    min_relevance: int | None = None,
    ignore_identical_ids: bool = False,
    show_progress: bool = True,
) -> dict:
    """Index the corpus with BM25, search the split's queries and evaluate."""
    output_dir = Path(output_dir)
    queries = dataset.queries(split)  # bad queries or qrels fail before the index is saved
    started = time.perf_counter()
    index = BM25Index(settings).index(dataset.iter_corpus(), show_progress=show_progress)
    index.save(output_dir / "bm25_index")
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    run = index.search(queries, k=depth, show_progress=show_progress)
    search_seconds = time.perf_counter() - started
    return _score_and_save(
        run,
        dataset,
        output_dir,
        split=split,
        system={"kind": "bm25", **index.settings.model_dump()},
        measures=measures,
        min_relevance=min_relevance,
        ignore_identical_ids=ignore_identical_ids,
        timings={"index_s": index_seconds, "search_s": search_seconds},
    )


def evaluate_fusion(
    run_files: Sequence[str | Path],
    dataset: RetrievalDataset,
    output_dir: str | Path,
    *,
    split: str = "test",
    depth: int = 1000,
    measures: Sequence[str] = DEFAULT_MEASURES,
    min_relevance: int | None = None,
    ignore_identical_ids: bool = False,
) -> dict:
    """Fuse TREC runs of the split's queries by reciprocal rank fusion and evaluate the result."""
    started = time.perf_counter()
    run = reciprocal_rank_fusion([read_run(path) for path in run_files], depth=depth)
    return _score_and_save(
        run,
        dataset,
        Path(output_dir),
        split=split,
        system={
            "kind": "fusion",
            "method": "rrf",
            "k": RRF_K,
            "runs": [str(path) for path in run_files],
        },
        measures=measures,
        min_relevance=min_relevance,
        ignore_identical_ids=ignore_identical_ids,
        timings={"fuse_s": time.perf_counter() - started},
    )


def _score_and_save(
    run,
    dataset: RetrievalDataset,
    output_dir: Path,
    *,
    split: str,
    system: dict,
    measures: Sequence[str],
    min_relevance: int | None,
    ignore_identical_ids: bool,
    timings: dict,
) -> dict:
    if min_relevance is None:
        min_relevance = dataset.min_relevance
    qrels = dataset.qrels(split)  # bad qrels fail before the run is written
    write_run(run, output_dir / RUN_FILE, tag=system["kind"])
    result = evaluate_run(
        qrels,
        run,
        measures,
        min_relevance=min_relevance,
        ignore_identical_ids=ignore_identical_ids,
        per_query=True,
    )
    metrics = {
        "dataset": dataset.name,
        "split": split,
        "system": system,
        **result.to_json(),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "run_file": str(output_dir / RUN_FILE),
    }
    write_json(output_dir / METRICS_FILE, metrics)
    logger.info(
        "%s on %s/%s: %s",
        system["kind"],
        dataset.name,
        split,
        ", ".join(f"{k} {v:.4f}" for k, v in result.aggregate.items()),
    )
    return metrics
