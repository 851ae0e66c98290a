"""Data sets: corpus, query and qrels readers, data set resolution and statistics."""

from qcpt.data.beir import Document, iter_corpus, load_corpus, load_qrels, load_queries
from qcpt.data.datasets import RetrievalDataset, resolve_dataset
from qcpt.data.stats import dataset_stats, render_stats

__all__ = [
    "Document",
    "RetrievalDataset",
    "dataset_stats",
    "iter_corpus",
    "load_corpus",
    "load_qrels",
    "load_queries",
    "render_stats",
    "resolve_dataset",
]
