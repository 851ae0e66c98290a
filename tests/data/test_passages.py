"""Sampling whole documents for pre-training: seeded, whole, at least the target, in order."""

from __future__ import annotations

from qcpt.data import Passage, sample_whole_documents


def passages() -> list[Passage]:
    return [Passage(f"d{d}-{p}", f"text {d} {p}", doc_id=f"d{d}")
            for d in range(10) for p in range(1 + d % 3)]


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
    assert {p.doc_id for p in sample_whole_documents(every, 7, 3)} != \
        {p.doc_id for p in sample_whole_documents(every, 7, 4)}
    assert sample_whole_documents(every, None, 3) == every
    assert sample_whole_documents(every, 100, 3) == every
