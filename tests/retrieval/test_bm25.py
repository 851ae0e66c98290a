import pytest

from qcpt.data import Document
from qcpt.errors import QcptError
from qcpt.retrieval import BM25Index, BM25Settings


def test_stemming_matches_inflected_forms(tiny_corpus):
    index = BM25Index().index(tiny_corpus, show_progress=False)
    run = index.search(
        {"q1": "Vaccines for the HEART", "q2": "batteries"}, k=3, show_progress=False
    )
    assert max(run["q1"], key=run["q1"].get) == "d4"
    assert list(run["q2"]) == ["d8"]  # only one document contains battery; zero scores dropped


def test_save_load_gives_the_same_run(tiny_corpus, tmp_path):
    index = BM25Index(BM25Settings(k1=1.2, b=0.5)).index(tiny_corpus, show_progress=False)
    queries = {"a": "solar wind energy", "b": "ocean rain", "c": "mice dna"}
    before = index.search(queries, k=10, show_progress=False)
    loaded = BM25Index.load(index.save(tmp_path / "bm25"))
    assert loaded.settings.k1 == 1.2 and loaded.doc_ids == index.doc_ids
    assert loaded.search(queries, k=10, show_progress=False) == before


def test_query_without_known_terms_gets_no_results(tiny_corpus, caplog):
    index = BM25Index().index(tiny_corpus, show_progress=False)
    run = index.search({"q": "the of and", "r": "sleep"}, k=5, show_progress=False)
    assert run["q"] == {} and list(run["r"]) == ["d6"]
    assert "1 queries have no indexed terms" in caplog.text


def test_scores_follow_bm25_formula():
    """Lucene BM25 by hand: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf part with k1, b."""
    import math

    docs = [
        Document("x", "solar solar wind"),
        Document("y", "wind rain"),
        Document("z", "ocean ice"),
    ]
    index = BM25Index(BM25Settings(stemmer=None, stopwords=None)).index(docs, show_progress=False)
    run = index.search({"q": "solar"}, k=3, show_progress=False)
    avgdl, k1, b = 7 / 3, 1.5, 0.75
    idf = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    expected = idf * 2 / (2 + k1 * (1 - b + b * 3 / avgdl))
    assert run["q"] == {"x": pytest.approx(expected, rel=1e-5)}


def test_empty_corpus_and_unknown_stemmer_are_clear_errors(tmp_path):
    with pytest.raises(QcptError, match="empty corpus"):
        BM25Index().index([], show_progress=False)
    with pytest.raises(QcptError, match="unknown stemmer"):
        BM25Index(BM25Settings(stemmer="klingon"))
    with pytest.raises(QcptError, match="not a qcpt BM25 index"):
        BM25Index.load(tmp_path)
