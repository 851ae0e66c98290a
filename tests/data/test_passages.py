"""Sampling whole documents for pre-training: seeded, whole, at least the target, in order."""

from __future__ import annotations

from qcpt.data import Passage, sample_whole_documents


def passages() -> list[Passage]:
    return [
        Passage(f"d{d}-{p}", f"text {d} {p}", doc_id=f"d{d}")
        for d in range(10)
        for p in range(1 + d % 3)
    ]


def test_sample_keeps_whole_documents_in_order_and_reaches_the_target():
    every = passages()
    sample = sample_whole_documents(every, 7, seed=3)
    assert len(sample) >= 7
    docs = {p.doc_id for p in sample}
    assert sample == [p for p in every if p.doc_id in docs]  # whole documents, corpus order
    # one document fewer would not reach the target
    assert len(sample) - max(sum(p.doc_id == d for p in every) for d in docs) < 7


def test_sample_is_seeded_and_none_means_everything():
    every = passages()
    assert sample_whole_documents(every, 7, 3) == sample_whole_documents(every, 7, 3)
    assert {p.doc_id for p in sample_whole_documents(every, 7, 3)} != {
        p.doc_id for p in sample_whole_documents(every, 7, 4)
    }
    assert sample_whole_documents(every, None, 3) == every
    assert sample_whole_documents(every, 100, 3) == every


def test_usable_queries_drop_blank_queries_and_passages_left_without(tmp_path):
    import json

    from qcpt.data import read_usable_queries

    path = tmp_path / "queries.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"_id": "p1", "queries": ["a query", "  ", "another"]},
                {"_id": "p2", "queries": ["", " "]},
                {"_id": "p3", "queries": []},
            ]
        )
        + "\n"
    )
    assert read_usable_queries(path) == {"p1": ["a query", "another"]}
