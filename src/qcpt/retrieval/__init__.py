"""Retrieval: BM25 (bm25s), dense encoding, embedding shards, FAISS indexes and search."""

from qcpt.retrieval.bm25 import BM25Index, BM25Settings
from qcpt.retrieval.encoder import DenseEncoder, EncoderSettings, pool
from qcpt.retrieval.index import (
    EmbeddingShard,
    build_shard_indexes,
    encode_to_shards,
    list_shards,
    read_manifest,
    search_shards,
)
from qcpt.retrieval.models import DEFAULT_MODEL, packaged_minilm_path, resolve_model

__all__ = [
    "BM25Index",
    "BM25Settings",
    "DEFAULT_MODEL",
    "DenseEncoder",
    "EmbeddingShard",
    "EncoderSettings",
    "build_shard_indexes",
    "encode_to_shards",
    "list_shards",
    "packaged_minilm_path",
    "pool",
    "read_manifest",
    "resolve_model",
    "search_shards",
]
