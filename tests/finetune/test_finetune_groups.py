"""Training groups from rankings: negatives never positives, seeded sampling, BM25 and mined."""

from __future__ import annotations

from qcpt.data import Document, resolve_dataset
from qcpt.data.training_groups import GroupPassage
from qcpt.finetune.config import NegativesSettings
from qcpt.finetune.groups import bm25_groups, groups_from_run, mine_groups
from qcpt.retrieval import DenseEncoder, EncoderSettings

CORPUS = {f"d{i}": Document(f"d{i}", f"text {i}", f"title {i}") for i in range(30)}
QUERIES = {"q1": "first", "q2": "second", "q3": "third"}
# q1: d0 relevant, d1 highly relevant, d2 judged non-relevant; q2: d5; q3: d29 is not ranked
QRELS = {"q1": {"d0": 1, "d1": 2, "d2": 0}, "q2": {"d5": 1}, "q3": {"d29": 1}}
# every query ranks all of d0..d19 (its positives near the top)
RUN = {q: {f"d{i}": 100.0 - i for i in range(20)} for q in QUERIES}


def test_negatives_never_contain_a_positive():
    groups = groups_from_run(
        RUN, QUERIES, QRELS, CORPUS, NegativesSettings(depth=20, negatives=100, seed=1)
    )
    by_query = {g.query_id: g for g in groups}
    assert {p.docid for p in by_query["q1"].positives} == {"d0", "d1"}
    for group in groups:
        relevant = {d for d, grade in QRELS[group.query_id].items() if grade > 0}
        assert not relevant & {p.docid for p in group.negatives}
    # a judged non-relevant document (grade 0) may be a negative
    assert "d2" in {p.docid for p in by_query["q1"].negatives}
    assert len(by_query["q1"].negatives) == 18  # 20 ranked - 2 positives
    assert by_query["q3"].positives == [GroupPassage("d29", "text 29", "title 29")]


def test_sampling_is_seeded_depth_and_skip_top_cut_the_ranking():
    settings = NegativesSettings(depth=12, negatives=4, skip_top=3, seed=7)
    first = groups_from_run(RUN, QUERIES, QRELS, CORPUS, settings)
    again = groups_from_run(RUN, dict(reversed(QUERIES.items())), QRELS, CORPUS, settings)
    assert {g.query_id: g for g in first} == {g.query_id: g for g in again}
    other_seed = groups_from_run(
        RUN, QUERIES, QRELS, CORPUS, settings.model_copy(update={"seed": 8})
    )
    assert [g.negatives for g in first] != [g.negatives for g in other_seed]
    for group in first:
        ranks = [int(p.docid[1:]) for p in group.negatives]
        assert len(ranks) == 4 and all(3 <= r < 12 for r in ranks)


def test_queries_without_positive_or_negative_get_no_group(caplog):
    qrels = {**QRELS, "q4": {"d0": 0}, "q5": {"missing": 1}}
    queries = {**QUERIES, "q4": "x", "q5": "y"}
    run = {**RUN, "q2": {"d5": 1.0}}  # q2's only ranked document is its positive
    groups = groups_from_run(run, queries, qrels, CORPUS, NegativesSettings())
    assert sorted(g.query_id for g in groups) == ["q1", "q3"]
    assert "2 judged queries" in caplog.text and "1 queries have no negative" in caplog.text


def test_bm25_groups_on_a_beir_folder(tiny_beir):
    dataset = resolve_dataset(tiny_beir)
    groups, run = bm25_groups(
        dataset, "train", NegativesSettings(depth=6, negatives=3), show_progress=False
    )
    assert len(groups) == 8 and set(run) == {f"q{i}" for i in range(8)}
    assert {p.docid for p in groups[1].positives} == {"d0", "d1"}
    for group in groups:
        assert len(group.negatives) == 3
        assert not {p.docid for p in group.positives} & {p.docid for p in group.negatives}


def test_mined_negatives_never_contain_a_positive(tiny_beir, tiny_bert_dir, tmp_path):
    dataset = resolve_dataset(tiny_beir)
    encoder = DenseEncoder(EncoderSettings(model=str(tiny_bert_dir), batch_size=16))
    settings = NegativesSettings(depth=12, negatives=12, seed=3)
    groups, run = mine_groups(
        encoder, dataset, "train", settings, tmp_path / "emb", show_progress=False
    )
    assert len(groups) == 8 and all(len(run[q]) == 12 for q in run)
    qrels = dataset.qrels("train")
    for group in groups:
        positives = {d for d, grade in qrels[group.query_id].items() if grade > 0}
        negatives = [p.docid for p in group.negatives]
        assert not positives & set(negatives)
        assert len(negatives) == 12 - len(positives)
    again, _ = mine_groups(
        encoder, dataset, "train", settings, tmp_path / "emb", show_progress=False
    )
    assert again == groups
