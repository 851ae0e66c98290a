"""Query cleaning and the consistency filter."""

from __future__ import annotations

from collections import Counter

import pytest

from qcpt.data.passages import Passage
from qcpt.errors import QcptError
from qcpt.querygen.config import CleanSettings, ConsistencySettings
from qcpt.querygen.filters import clean_queries, consistency_filter

PASSAGE = "Vitamin D is made in the skin when it is exposed to ultraviolet light from the sun."


def test_cleaning_drops_and_counts_each_reason():
    counts = Counter()
    kept = clean_queries(
        [
            '  "what makes   vitamin d"  ',
            "What makes vitamin D?",
            "",
            "   ",
            "is made in the skin when it is exposed",
            "word " * 40,
            "sun",
        ],
        PASSAGE,
        CleanSettings(),
        counts,
    )
    assert kept == ["what makes vitamin d", "sun"]
    assert counts == Counter(
        generated=7,
        kept=2,
        dropped_duplicate=1,
        dropped_empty=2,
        dropped_echo=1,
        dropped_too_long=1,
    )


def test_cleaning_can_be_turned_off():
    counts = Counter()
    assert clean_queries(["", "a"], PASSAGE, CleanSettings(enabled=False), counts) == ["", "a"]
    assert counts == Counter(generated=2, kept=2)


@pytest.fixture()
def passages(tiny_corpus):
    return [Passage(d.id, d.text, d.title, d.id) for d in tiny_corpus]


def test_consistency_filter_with_bm25(passages):
    records = {"d0": ["cells protein", "storm river"], "d3": ["brain blood"]}
    kept, counts = consistency_filter(records, passages, ConsistencySettings(scorer="bm25", k=1))
    assert kept == {"d0": ["cells protein"], "d3": []}
    assert counts == Counter(checked=3, kept=1, dropped_inconsistent=2, pool=10)


def test_consistency_filter_with_a_dense_encoder_and_a_sample(passages, tiny_bert_dir):
    records = {"d1": ["gene cancer risk"]}
    settings = ConsistencySettings(scorer=str(tiny_bert_dir), k=10, sample_size=4)
    kept, counts = consistency_filter(records, passages, settings)
    assert kept == records  # the source is always within the top 10 of a pool of 4
    assert counts["pool"] == 4 and counts["kept"] == 1
    with pytest.raises(QcptError, match="unknown passages"):
        consistency_filter({"nope": ["x"]}, passages, settings)
