"""Sentence splitting, passage packing and the passages jsonl reader."""

from __future__ import annotations

import json

import pytest

from qcpt.data import Document
from qcpt.data.passages import Passage, iter_passages, load_passages, write_passages
from qcpt.errors import DataFormatError, QcptError
from qcpt.querygen.passages import (
    PassageSettings,
    PassageSplitter,
    split_documents,
    split_sentences,
)

from .conftest import WORDS, generation_tokenizer


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_split_sentences_keeps_abbreviations_and_initials():
    text = "Cells grow, e.g. in mice. J. Smith et al. found it (Fig. 2). Why? Yes!\nNew line"
    assert _sentences(text) == [
        "Cells grow, e.g. in mice.",
        "J. Smith et al. found it (Fig. 2).",
        "Why?",
        "Yes!",
        "New line",
    ]
    assert _sentences("values 3.5 and 2.1 mg. then lower case.") == [
        "values 3.5 and 2.1 mg. then lower case."
    ]


def _splitter(max_tokens: int, short: float = 0.0, seed: int = 0) -> PassageSplitter:
    settings = PassageSettings(max_tokens=max_tokens, short_probability=short, seed=seed)
    return PassageSplitter(settings, tokenizer=generation_tokenizer())


def _count(text: str) -> int:
    return len(generation_tokenizer()(text, add_special_tokens=False)["input_ids"])


def test_passages_pack_whole_sentences_within_the_limit():
    sentences = [" ".join(WORDS[i : i + 3 + i % 4]) + "." for i in range(0, 30, 3)]
    document = Document("doc", " ".join(s.capitalize() for s in sentences), "A title")
    passages = _splitter(12).split(document)
    assert [p.id for p in passages] == [f"doc-{n}" for n in range(len(passages))]
    assert all(p.doc_id == "doc" and p.title == "A title" for p in passages)
    assert all(_count(p.text) <= 12 for p in passages)
    assert " ".join(p.text for p in passages) == document.text  # nothing lost, order kept
    assert all(p.text.endswith(".") for p in passages)  # cuts fall between sentences
    assert len(passages) > 2


def test_long_sentence_is_cut_at_word_boundaries():
    document = Document("long", " ".join(WORDS * 2) + ".")
    passages = _splitter(10).split(document)
    assert all(_count(p.text) <= 10 for p in passages)
    assert " ".join(p.text for p in passages) == document.text


def test_short_targets_are_seeded_per_document():
    text = " ".join(f"{w.capitalize()} {w} {w}." for w in WORDS[:20])
    full = _splitter(16).split(Document("d", text))
    short = _splitter(16, short=1.0).split(Document("d", text))
    assert len(short) > len(full)  # every target drawn from [2, 16]
    again = _splitter(16, short=1.0).split(Document("d", text))
    assert short == again
    other_seed = _splitter(16, short=1.0, seed=5).split(Document("d", text))
    assert [p.text for p in other_seed] != [p.text for p in short]


def test_split_documents_rejects_repeated_document_ids():
    documents = [Document("a", "Cells grow."), Document("a", "Mice sleep.")]
    with pytest.raises(QcptError, match="'a' occurs twice"):
        list(split_documents(documents, _splitter(16)))


def test_split_documents_rejects_a_repeat_many_chunks_later():
    documents = [Document(f"d{i}", "Cells grow.") for i in range(20_000)] + [Document("d7", "x")]
    with pytest.raises(QcptError, match="'d7' occurs twice"):
        list(split_documents(documents, _splitter(16)))


def test_passages_jsonl_roundtrip_and_doc_id_fallback(tmp_path):
    path = tmp_path / "passages.jsonl"
    write_passages(path, [Passage("p1", "cells grow", "T", "d1")])
    with path.open("a") as handle:
        handle.write(json.dumps({"_id": 7, "text": "no doc id"}) + "\n")
    assert list(iter_passages(path)) == [
        Passage("p1", "cells grow", "T", "d1"),
        Passage("7", "no doc id", "", "7"),
    ]
    corpus = tmp_path / "collection.tsv"
    corpus.write_text("x1\tcells grow\n")
    assert load_passages(corpus) == [Passage("x1", "cells grow", "", "x1")]


def test_passages_reader_names_the_bad_line(tmp_path):
    path = tmp_path / "passages.jsonl"
    path.write_text('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    with pytest.raises(DataFormatError, match=r"passages.jsonl:2: duplicate id 'a'"):
        list(iter_passages(path))
