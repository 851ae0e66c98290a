"""Data sets and stage files: corpus, query and qrels readers, data set resolution and
statistics, and the passages, generated-queries and training-groups files that stages exchange."""

from qcpt.data.beir import Document, iter_corpus, load_corpus, load_qrels, load_queries
from qcpt.data.datasets import RetrievalDataset, default_min_relevance, resolve_dataset
from qcpt.data.generated_queries import read_queries, read_sidecar, read_usable_queries
from qcpt.data.passages import (
    Passage,
    iter_passages,
    load_passages,
    sample_whole_documents,
    write_passages,
)
from qcpt.data.stats import dataset_stats, render_stats

__all__ = [
    "Document",
    "Passage",
    "RetrievalDataset",
    "dataset_stats",
    "default_min_relevance",
    "iter_corpus",
    "iter_passages",
    "load_corpus",
    "load_passages",
    "load_qrels",
    "load_queries",
    "read_queries",
    "read_usable_queries",
    "sample_whole_documents",
    "read_sidecar",
    "render_stats",
    "resolve_dataset",
    "write_passages",
]
