import numpy as np
import pytest

from qcpt.errors import QcptError
from qcpt.retrieval import (
    DenseEncoder,
    EncoderSettings,
    build_shard_indexes,
    encode_to_shards,
    list_shards,
    search_shards,
)


@pytest.fixture()
def encoder(tiny_bert_dir):
    return DenseEncoder(
        EncoderSettings(
            model=str(tiny_bert_dir),
            pooling="mean",
            normalize=True,
            query_max_length=64,
            passage_max_length=64,
            device="cpu",
        )
    )


class CountingEncoder:
    """Wraps an encoder and counts the passages it encodes."""

    def __init__(self, inner):
        self.inner, self.encoded = inner, 0

    def describe(self):
        return self.inner.describe()

    def encode_passages(self, documents, show_progress=False):
        self.encoded += len(documents)
        return self.inner.encode_passages(documents)


def self_queries(corpus):
    """Each document's own text as a query: with normalised vectors it must rank itself first."""
    return [d.id for d in corpus], [f"{d.title} {d.text}" for d in corpus]


def test_encode_index_search_round_trip(encoder, tiny_corpus, tmp_path):
    shards = encode_to_shards(
        encoder, tiny_corpus, tmp_path / "emb", shard_size=3, show_progress=False
    )
    assert [s.number for s in shards] == [0, 1, 2, 3]
    assert [len(s.ids) for s in shards] == [3, 3, 3, 1]
    assert shards[0].vectors().shape == (3, 32)
    query_ids, texts = self_queries(tiny_corpus)
    run = search_shards(
        tmp_path / "emb", query_ids, encoder.encode_queries(texts), k=5, show_progress=False
    )
    for query_id, ranking in run.items():
        assert len(ranking) == 5
        assert max(ranking, key=ranking.get) == query_id
        assert ranking[query_id] == pytest.approx(1.0, abs=1e-5)


def test_sharded_search_equals_single_shard(encoder, tiny_corpus, tmp_path):
    encode_to_shards(encoder, tiny_corpus, tmp_path / "one", shard_size=100, show_progress=False)
    encode_to_shards(encoder, tiny_corpus, tmp_path / "many", shard_size=2, show_progress=False)
    query_ids, texts = self_queries(tiny_corpus)
    vectors = encoder.encode_queries(texts)
    one = search_shards(tmp_path / "one", query_ids, vectors, k=4, show_progress=False)
    many = search_shards(tmp_path / "many", query_ids, vectors, k=4, show_progress=False)
    assert one.keys() == many.keys()
    for q in one:
        assert list(one[q]) == list(many[q])
        np.testing.assert_allclose(list(one[q].values()), list(many[q].values()), atol=1e-6)


def test_rerun_resumes_and_parts_split_the_work(encoder, tiny_corpus, tmp_path):
    counting = CountingEncoder(encoder)
    encode_to_shards(
        counting, tiny_corpus, tmp_path / "emb", shard_size=3, part=(1, 2), show_progress=False
    )
    assert counting.encoded == 3 + 1  # shards 1 and 3
    assert [s.number for s in list_shards(tmp_path / "emb")] == [1, 3]
    encode_to_shards(counting, tiny_corpus, tmp_path / "emb", shard_size=3, show_progress=False)
    assert counting.encoded == 4 + 6  # only shards 0 and 2 were missing
    assert [s.number for s in list_shards(tmp_path / "emb")] == [0, 1, 2, 3]


def test_half_written_shard_is_redone(encoder, tiny_corpus, tmp_path):
    encode_to_shards(encoder, tiny_corpus, tmp_path / "emb", shard_size=5, show_progress=False)
    (tmp_path / "emb" / "shard-00001.ids").unlink()  # as if killed before the ids were written
    assert [s.number for s in list_shards(tmp_path / "emb")] == [0]
    counting = CountingEncoder(encoder)
    encode_to_shards(counting, tiny_corpus, tmp_path / "emb", shard_size=5, show_progress=False)
    assert counting.encoded == 5


def test_other_settings_in_same_folder_are_refused(encoder, tiny_bert_dir, tiny_corpus, tmp_path):
    encode_to_shards(encoder, tiny_corpus, tmp_path / "emb", show_progress=False)
    other = DenseEncoder(EncoderSettings(model=str(tiny_bert_dir), pooling="mean", device="cpu"))
    with pytest.raises(QcptError, match="other settings"):
        encode_to_shards(other, tiny_corpus, tmp_path / "emb", show_progress=False)


def test_other_corpus_in_same_folder_is_refused(encoder, tiny_corpus, tmp_path):
    encode_to_shards(encoder, tiny_corpus, tmp_path / "emb", show_progress=False)
    with pytest.raises(QcptError, match="other documents"):
        encode_to_shards(encoder, tiny_corpus[::-1], tmp_path / "emb", show_progress=False)


@pytest.mark.parametrize("factory", ["Flat", "HNSW8", "IVF2,Flat"])
def test_index_factories_find_the_same_top_hit(encoder, tiny_corpus, tmp_path, factory):
    encode_to_shards(encoder, tiny_corpus, tmp_path / "emb", shard_size=5, show_progress=False)
    paths = build_shard_indexes(tmp_path / "emb", factory, show_progress=False)
    assert len(paths) == 2 and all(p.is_file() for p in paths)
    query_ids, texts = self_queries(tiny_corpus)
    run = search_shards(
        tmp_path / "emb",
        query_ids,
        encoder.encode_queries(texts),
        k=3,
        factory=factory,
        nprobe=2 if factory.startswith("IVF") else None,
        show_progress=False,
    )
    assert all(max(r, key=r.get) == q for q, r in run.items())


def test_missing_index_file_names_the_command(encoder, tiny_corpus, tmp_path):
    encode_to_shards(encoder, tiny_corpus, tmp_path / "emb", show_progress=False)
    with pytest.raises(QcptError, match="qcpt index"):
        search_shards(tmp_path / "emb", ["q"], np.zeros((1, 32), np.float32), factory="HNSW8")


def test_bad_factory_and_part_are_clear_errors(encoder, tiny_corpus, tmp_path):
    encode_to_shards(encoder, tiny_corpus, tmp_path / "emb", show_progress=False)
    with pytest.raises(QcptError, match="faiss cannot build"):
        build_shard_indexes(tmp_path / "emb", "NoSuchIndex", show_progress=False)
    with pytest.raises(QcptError, match="out of range"):
        encode_to_shards(encoder, tiny_corpus, tmp_path / "x", part=(2, 2))
    with pytest.raises(QcptError, match="not an embeddings folder"):
        list_shards(tmp_path)
