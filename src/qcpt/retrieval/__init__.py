"""Retrieval: BM25 (bm25s), dense encoding, embedding shards, FAISS indexes and search."""

from qcpt.utils.lazy import lazy_exports

_EXPORTS = {
    "BM25Index": ".bm25",
    "BM25Settings": ".bm25",
    "DenseEncoder": ".encoder",
    "EncoderSettings": ".encoder",
    "EmbeddingShard": ".index",
    "build_shard_indexes": ".index",
    "encode_to_shards": ".index",
    "list_shards": ".index",
    "read_manifest": ".index",
    "search_shards": ".index",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
