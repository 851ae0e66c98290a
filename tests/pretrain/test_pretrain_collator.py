"""Pair batches: per-side padding, whole-word masking at the configured rates, decoder views."""

from __future__ import annotations

import pytest
import torch
from transformers import BertTokenizer

from qcpt.pretrain.collator import PairCollator

WORDS = "cell tumor gene blood risk study sleep diet water brain heart virus".split()


@pytest.fixture(scope="module")
def tokenizer():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "##s", "##ing", *WORDS]
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True)
    assert tokenizer.is_fast and tokenizer.tokenize("cells") == ["cell", "##s"]
    return tokenizer


def examples(n=64):
    long = " ".join(f"{w}s" if i % 2 else w for i, w in enumerate(WORDS * 3))
    return [{"passage": long, "context": "tumors blood", "kind": "query"}] * n


def test_sides_are_padded_separately_and_masked_by_whole_words(tokenizer):
    batch = PairCollator(tokenizer, mask_rate=0.3, seed=1)(examples())
    assert batch["passage"]["input_ids"].shape[1] == 2 + 36 + 18
    assert batch["context"]["input_ids"].shape[1] == 2 + 3  # [CLS] tumor ##s blood [SEP]
    labels, original = batch["passage"]["labels"], tokenizer(examples(1)[0]["passage"])
    ids = torch.tensor(original["input_ids"])
    masked = labels != -100
    assert torch.equal(labels[masked], ids.expand_as(labels)[masked])  # targets = originals
    assert not masked[:, 0].any() and not masked[:, -1].any()  # never [CLS] / [SEP]
    suffix = ids == tokenizer.convert_tokens_to_ids("##s")
    stems = torch.roll(suffix, -1)  # the token before each ##s
    assert torch.equal(masked[:, suffix], masked[:, stems])  # a word is masked whole
    words_masked = masked[:, ~suffix].float().mean().item()
    assert 0.2 < words_masked < 0.4  # ~30 % of the words (48 per row, 64 rows)


def test_decoder_views(tokenizer):
    ar = PairCollator(tokenizer, encode_context=False, decoder="autoregressive", seed=1)(
        examples(4))
    assert set(ar) == {"passage", "context_decoder"}
    assert "labels" not in ar["context_decoder"]
    expected = tokenizer(["tumors blood"] * 4, return_tensors="pt")["input_ids"]
    assert torch.equal(ar["context_decoder"]["input_ids"], expected)  # unmasked
    symmetric = PairCollator(tokenizer, mask_rate=0.3, encode_context=True, decoder="masked",
                             decoder_mask_rate=0.45, decode_passage=True, seed=1)(examples())
    assert set(symmetric) == {"passage", "context", "context_decoder", "passage_decoder"}
    rate = (symmetric["passage_decoder"]["labels"] != -100).float().mean().item()
    enc_rate = (symmetric["passage"]["labels"] != -100).float().mean().item()
    assert rate > enc_rate  # 45 % vs 30 % of the words


def test_seeded_masks_repeat(tokenizer):
    first = PairCollator(tokenizer, seed=3)(examples(8))
    again = PairCollator(tokenizer, seed=3)(examples(8))
    assert torch.equal(first["passage"]["labels"], again["passage"]["labels"])
