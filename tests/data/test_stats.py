"""dataset_stats on the tiny data set (values worked out by hand) and render_stats."""

from __future__ import annotations

import pytest
from rich.console import Console

from qcpt.data import dataset_stats, render_stats, resolve_dataset


def _whitespace_tokenizer():
    """A real Hugging Face tokenizer that splits words and punctuation apart."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")


def test_sizes_lengths_and_coverage(tiny_beir):
    stats = dataset_stats(resolve_dataset(tiny_beir))
    assert stats["name"] == "tiny"
    assert stats["documents"] == 4
    assert stats["queries"] == 3
    assert stats["tokenizer"] is None
    # Document words (title + text): 4, 2, 6, 7. Query words: 3, 2, 4.
    assert stats["lengths"]["documents"] == {
        "words": pytest.approx({"p50": 5.0, "p90": 6.7, "p99": 6.97, "max": 7, "mean": 4.75})
    }
    assert stats["lengths"]["queries"] == {
        "words": pytest.approx({"p50": 3.0, "p90": 3.8, "p99": 3.98, "max": 4, "mean": 3.0})
    }
    # test qrels: q1-d1 1, q1-d2 0, q2-d2 2, q2-d9 1 (d9 not in corpus), q7-d3 1 (q7 has no text)
    assert stats["splits"]["test"] == {
        "queries": 3,
        "qrels_rows": 5,
        "relevant_rows": 4,
        "mean_relevant_per_query": pytest.approx(4 / 3),
        "queries_with_text": pytest.approx(2 / 3),
        "judged_docs_in_corpus": 0.75,
        "queries_with_relevant": 3,
    }
    assert stats["splits"]["train"] == {
        "queries": 1,
        "qrels_rows": 2,
        "relevant_rows": 1,
        "mean_relevant_per_query": 1.0,
        "queries_with_text": 1.0,
        "judged_docs_in_corpus": 1.0,
        "queries_with_relevant": 1,
    }


def test_token_lengths_with_a_tokenizer(tiny_beir):
    stats = dataset_stats(resolve_dataset(tiny_beir), tokenizer=_whitespace_tokenizer())
    # Punctuation is a token of its own: "purr," and "purr?" count two tokens each.
    assert stats["lengths"]["documents"]["tokens"] == pytest.approx(
        {"p50": 5.5, "p90": 6.7, "p99": 6.97, "max": 7, "mean": 5.0}
    )
    assert stats["lengths"]["queries"]["tokens"]["max"] == 4
    assert stats["lengths"]["queries"]["tokens"]["mean"] == pytest.approx(10 / 3)
    assert stats["lengths"]["queries"]["words"]["mean"] == 3.0
    assert isinstance(stats["tokenizer"], str)


def test_render_stats_shows_the_numbers(tiny_beir):
    console = Console(record=True, width=120)
    console.print(render_stats(dataset_stats(resolve_dataset(tiny_beir))))
    text = " ".join(console.export_text().split())
    assert "│ name │ tiny │" in text
    assert "│ documents │ words │ 5.0 │ 6.7 │ 7.0 │ 7 │ 4.8 │" in text
    assert "│ queries │ words │ 3.0 │ 3.8 │ 4.0 │ 4 │ 3.0 │" in text
    assert "┃ ┃ test ┃ train ┃" in text
    assert "│ relevant per query │ 1.33 │ 1.00 │" in text
    assert "│ judged docs in corpus │ 75.0% │ 100.0% │" in text
