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
        examples(4)
    )
    assert set(ar) == {"passage", "context_decoder"}
    assert "labels" not in ar["context_decoder"]
    expected = tokenizer(["tumors blood"] * 4, return_tensors="pt")["input_ids"]
    assert torch.equal(ar["context_decoder"]["input_ids"], expected)  # unmasked
    symmetric = PairCollator(
        tokenizer,
        mask_rate=0.3,
        encode_context=True,
        decoder="masked",
        decoder_mask_rate=0.45,
        decode_passage=True,
        seed=1,
    )(examples())
    assert set(symmetric) == {"passage", "context", "context_decoder", "passage_decoder"}
    rate = (symmetric["passage_decoder"]["labels"] != -100).float().mean().item()
    enc_rate = (symmetric["passage"]["labels"] != -100).float().mean().item()
    assert rate > enc_rate  # 45 % vs 30 % of the words


def test_seeded_masks_repeat(tokenizer):
    first = PairCollator(tokenizer, seed=3)(examples(8))
    again = PairCollator(tokenizer, seed=3)(examples(8))
    assert torch.equal(first["passage"]["labels"], again["passage"]["labels"])


def indexed(pairs, start=0, epoch=0):
    """Dataset-like items: ``index`` and ``epoch`` make the collator seed each batch."""
    return [
        {"passage": p, "context": c, "kind": "span-random", "index": start + i, "epoch": epoch}
        for i, (p, c) in enumerate(pairs)
    ]


def test_equal_length_passage_and_context_get_independent_masks(tokenizer):
    text = " ".join(WORDS * 2)  # same text on both sides: same length, same word boundaries
    collator = PairCollator(
        tokenizer,
        mask_rate=0.3,
        seed=5,
        decoder="masked",
        decoder_mask_rate=0.3,
        decode_passage=True,
    )
    batch = collator(indexed([(text, text)] * 16))
    views = {
        name: batch[name]["labels"] != -100
        for name in ("passage", "context", "context_decoder", "passage_decoder")
    }
    assert views["passage"].shape == views["context"].shape
    for name, masked in views.items():
        for other, masked_other in views.items():
            if name < other:
                assert not torch.equal(masked, masked_other), (name, other)
    rows_alike = (views["passage"] == views["context"]).all(dim=1).sum().item()
    assert rows_alike == 0  # no row of one side repeats its partner's mask
    # positions masked on both sides: as often as independent draws at 30 % make them
    both = (views["passage"] & views["context"]).float().sum()
    expected = views["passage"].float().mean() * views["context"].float().sum()
    assert 0.6 < (both / expected).item() < 1.4
    again = collator(indexed([(text, text)] * 16))
    assert torch.equal(again["context"]["labels"], batch["context"]["labels"])  # reproducible


def test_masks_give_no_shortcut_to_unrelated_pairs(tiny_bert_dir):
    """Contrastive-only training on *unrelated* random pairs with masking on must stay at the
    chance loss log(2n - 1): nothing but the words could tell a pair apart, and they are
    unrelated. With one mask seed shared by both sides (the old collator) this model learns to
    match mask positions and drives the loss far below chance within these steps."""
    import math
    import random

    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from qcpt.pretrain.condenser import CondenserModel
    from qcpt.pretrain.losses import pair_infonce

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    words = [w for w in tokenizer.get_vocab() if not w.startswith("[")]
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = CondenserModel(BertForMaskedLM(config), pooling="cls", head_layers=0, late_mlm=False)
    collator = PairCollator(tokenizer, mask_rate=0.3, seed=7)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    rng = random.Random(0)
    n, length, losses = 16, 24, []
    for step in range(150):
        pairs = [
            (" ".join(rng.choices(words, k=length)), " ".join(rng.choices(words, k=length)))
            for _ in range(n)
        ]
        batch = collator(indexed(pairs, start=step * n))
        loss = pair_infonce(
            model(**batch["passage"])["vectors"], model(**batch["context"])["vectors"]
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    chance = math.log(2 * n - 1)
    late = sum(losses[-30:]) / 30
    assert late > chance - 0.1, f"loss {late:.3f} below chance {chance:.3f}: a mask shortcut"


def masked_rows(batch, side="passage"):
    return batch[side]["labels"] != -100


def test_exact_count_masks_round_rate_words_and_at_least_one(tokenizer):
    from qcpt.pretrain.config import MaskingSettings

    exact = MaskingSettings(count="exact")
    pairs = [(" ".join(WORDS[: 2 + i % 9]), WORDS[i % len(WORDS)]) for i in range(40)]
    batch = PairCollator(tokenizer, mask_rate=0.15, seed=2, masking=exact)(indexed(pairs))
    words_per_row = [len(p.split()) for p, _ in pairs]  # no ## pieces in these texts
    assert masked_rows(batch).sum(1).tolist() == [max(1, round(0.15 * n)) for n in words_per_row]
    assert masked_rows(batch, "context").sum(1).tolist() == [1] * 40  # one-word queries too
    bernoulli = PairCollator(tokenizer, mask_rate=0.15, seed=2)(indexed(pairs))
    assert (masked_rows(bernoulli, "context").sum(1) == 0).any()  # the default can mask none


def test_wordpiece_grouping_keeps_continuations_and_splits_at_punctuation():
    from transformers import BertTokenizer

    from qcpt.pretrain.config import MaskingSettings

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "##s", "-", *WORDS]
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True)
    text = "cells-tumors blood"  # cell ##s - tumor ##s blood
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids)[1:-1] == [
        "cell",
        "##s",
        "-",
        "tumor",
        "##s",
        "blood",
    ]
    wordpiece = MaskingSettings(words="wordpiece", count="exact")
    offsets = MaskingSettings(words="offsets", count="exact")
    collate = {
        name: PairCollator(tokenizer, mask_rate=0.01, seed=4, masking=settings)
        for name, settings in (("wordpiece", wordpiece), ("offsets", offsets))
    }
    seen = {name: set() for name in collate}
    for start in range(0, 400, 40):
        for name, collator in collate.items():
            masked = masked_rows(collator(indexed([(text, "blood")] * 40, start=start)))
            seen[name] |= {tuple(row.nonzero()[:, 0].tolist()) for row in masked}
    # one word per row (rate 0.01, at least one): wordpiece words are cell##s, -, tumor##s,
    # blood; offsets words are "cells-tumors" (no gap) and blood
    assert seen["wordpiece"] == {(1, 2), (3,), (4, 5), (6,)}
    assert seen["offsets"] == {(1, 2, 3, 4, 5), (6,)}


def test_bert_replacement_is_80_10_10_and_labels_keep_the_originals(tokenizer):
    from qcpt.pretrain.config import MaskingSettings

    text = " ".join(WORDS * 3)
    collator = PairCollator(
        tokenizer, mask_rate=0.5, seed=6, masking=MaskingSettings(replacement="bert")
    )
    batch = collator(indexed([(text, text)] * 64))
    original = tokenizer([text] * 64, return_tensors="pt")["input_ids"]
    labels, inputs = batch["passage"]["labels"], batch["passage"]["input_ids"]
    masked = labels != -100
    assert torch.equal(labels[masked], original[masked])
    assert torch.equal(inputs[~masked], original[~masked])  # nothing else changes
    as_mask = (inputs[masked] == tokenizer.mask_token_id).float().mean().item()
    kept = (inputs[masked] == original[masked]).float().mean().item()
    assert 0.76 < as_mask < 0.84 and 0.07 < kept < 0.14  # kept includes random = original


def test_masking_settings_reach_the_collator_from_the_recipe():
    from qcpt.pretrain.config import PretrainConfig
    from qcpt.pretrain.training import build_collator

    recipe = PretrainConfig.from_yaml(None, {"data.passages": "p", "masking.count": "exact"})
    assert build_collator(recipe, None, 1).masking.count == "exact"
    assert PretrainConfig.from_yaml(None, {"data.passages": "p"}).masking.is_default
