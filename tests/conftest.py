"""Shared fixtures: tiny random models built from configs (no downloads) and a tiny corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

WORDS = (
    "the a of and to in is for on with cells protein gene cancer risk brain blood study "
    "patients mice dna virus vaccine heart cell tumor growth insulin sleep diet water energy "
    "solar wind power battery climate ocean ice rain storm river city train bus car road"
).split()


SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def word_vocab() -> dict[str, int]:
    """Special tokens then WORDS, one id each (a word-level BERT vocabulary)."""
    return {token: i for i, token in enumerate(SPECIAL_TOKENS + WORDS)}


@pytest.fixture(scope="session")
def app():
    """The real ``qcpt`` typer app with every sub-command registered."""
    from qcpt import cli

    cli._register()
    return cli.app


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-dim random BERT with a word-level vocabulary, saved as a HF checkpoint."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    root = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = BertTokenizer(vocab=word_vocab(), do_lower_case=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        initializer_range=0.5,
    )  # wide weights: distinct vectors for distinct texts
    torch.manual_seed(0)
    BertModel(config).save_pretrained(root)
    tokenizer.save_pretrained(root)
    assert tokenizer("cells protein")["input_ids"] == [2, 15, 16, 3]
    return root


@pytest.fixture()
def tiny_corpus():
    """Ten short documents with distinct words, and queries that name one document each."""
    from qcpt.data import Document

    topics = [WORDS[10 + 3 * i : 13 + 3 * i] for i in range(10)]
    return [
        Document(id=f"d{i}", title=t[0], text=" ".join(t) + " study") for i, t in enumerate(topics)
    ]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


def write_tiny_beir(root: Path, n_docs: int = 12, n_train: int = 8) -> Path:
    """A BEIR folder where query i names two of doc i's three words, plus "study" (in every doc).

    Doc i also mentions the first word of doc i + 1, so BM25 ranks every document for every
    query. Train qrels also hold doc 0 as relevant (grade 2) to q1 and doc 2 as judged
    non-relevant (grade 0) to q0; the last ``n_docs - n_train`` queries are the test split.
    """
    import json

    root.mkdir(parents=True, exist_ok=True)
    topics = [WORDS[10 + 3 * i : 13 + 3 * i] for i in range(n_docs)]
    with (root / "corpus.jsonl").open("w") as handle:
        for i, words in enumerate(topics):
            neighbour = topics[(i + 1) % n_docs][0]
            handle.write(
                json.dumps(
                    {
                        "_id": f"d{i}",
                        "title": words[0],
                        "text": f"{' '.join(words)} {neighbour} study",
                    }
                )
                + "\n"
            )
    with (root / "queries.jsonl").open("w") as handle:
        for i, words in enumerate(topics):
            handle.write(
                json.dumps({"_id": f"q{i}", "text": f"{words[0]} {words[1]} study"}) + "\n"
            )
    (root / "qrels").mkdir(exist_ok=True)
    train = [(f"q{i}", f"d{i}", 1) for i in range(n_train)] + [("q1", "d0", 2), ("q0", "d2", 0)]
    test = [(f"q{i}", f"d{i}", 1) for i in range(n_train, n_docs)]
    for split, rows in (("train", train), ("test", test)):
        lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{g}" for q, d, g in rows]
        (root / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture()
def tiny_beir(tmp_path) -> Path:
    """A 12-document BEIR folder (see :func:`write_tiny_beir`): 8 train and 4 test queries."""
    return write_tiny_beir(tmp_path / "tiny-beir")
