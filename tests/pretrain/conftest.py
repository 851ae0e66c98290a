"""Fixtures for pre-training tests: a tiny passages file with generated queries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

WORDS = (
    "cells protein gene cancer risk brain blood study patients mice dna virus vaccine "
    "heart cell tumor growth insulin sleep diet water energy solar wind power"
).split()


def write_pairs_files(root: Path) -> tuple[Path, Path]:
    """Passages of 6 documents (1-3 passages each, 12 words) and 2 queries per passage; the
    last document's passage has no queries (it must fall back to another context)."""
    words = WORDS
    passages, queries = root / "passages.jsonl", root / "queries.jsonl"
    with passages.open("w") as p_file, queries.open("w") as q_file:
        for doc in range(6):
            for part in range(1 + doc % 3):
                pid = f"d{doc}-{part}"
                text = " ".join(words[(doc * 5 + part * 3 + i) % len(words)] for i in range(12))
                p_file.write(
                    json.dumps({"_id": pid, "doc_id": f"d{doc}", "title": f"t{doc}", "text": text})
                    + "\n"
                )
                if doc != 5:
                    tokens = text.split()
                    q_file.write(
                        json.dumps(
                            {"_id": pid, "queries": [" ".join(tokens[:3]), " ".join(tokens[4:6])]}
                        )
                        + "\n"
                    )
    return passages, queries


@pytest.fixture()
def pairs_files(tmp_path) -> tuple[Path, Path]:
    return write_pairs_files(tmp_path)


def tiny_mlm(dropout: float = 0.0, seed: int = 0, vocab_size: int = 40, layers: int = 2):
    """A tiny random ``BertForMaskedLM`` built from a config."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    return BertForMaskedLM(config)
