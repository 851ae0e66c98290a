"""Retrieval: BM25 (bm25s), dense encoding, embedding shards, FAISS indexes and search."""

from qcpt.retrieval.bm25 import BM25Index, BM25Settings
from qcpt.retrieval.encoder import DenseEncoder, EncoderSettings
from qcpt.retrieval.index import (
    EmbeddingShard,
    build_shard_indexes,
    encode_to_shards,
    list_shards,
    read_manifest,
    search_shards,
)

__all__ = [
    "BM25Index",
    "BM25Settings",
    "DenseEncoder",
    "EmbeddingShard",
    "EncoderSettings",
    "build_shard_indexes",
    "encode_to_shards",
    "list_shards",
    "read_manifest",
    "search_shards",
]
