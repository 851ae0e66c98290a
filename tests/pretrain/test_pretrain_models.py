"""Condenser head and CoT-MAE decoders: shapes, targets, no leakage in the decoder's window."""

from __future__ import annotations

import pytest
import torch

from qcpt.pretrain.condenser import CoCondenserModel, CondenserModel
from qcpt.pretrain.cotmae import AutoregressiveDecoder, CotMaeModel, local_causal_mask

from .conftest import tiny_mlm


def tokens(batch: int, length: int, seed: int = 1, masked: float = 0.3) -> dict:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 40, (batch, length), generator=generator)
    ids[:, 0] = 2
    attention = torch.ones(batch, length, dtype=torch.long)
    attention[0, -2:] = 0
    labels = torch.full((batch, length), -100)
    chosen = (torch.rand(batch, length, generator=generator) < masked) & attention.bool()
    chosen[:, 0] = False
    chosen[1, 1] = True
    labels[chosen] = ids[chosen]
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


@pytest.mark.parametrize("window", [1, 2, 3, 5])
def test_local_causal_mask_window_counts_the_current_token_as_the_authors(window):
    # the authors' attn_window = 3: position i sees position 0 and i-2 .. i
    blocked = local_causal_mask(7, window=window)
    allowed = {(t, j) for t in range(7) for j in range(7) if not blocked[t, j]}
    for t in range(7):
        expected = {0} | {j for j in range(max(0, t - window + 1), t + 1)}
        assert {j for (row, j) in allowed if row == t} == expected


def test_autoregressive_decoder_sees_no_future_and_nothing_outside_its_window():
    mlm = tiny_mlm()
    decoder = AutoregressiveDecoder(
        mlm.config, mlm.bert.embeddings, mlm.cls, layers=2, window=3
    ).eval()
    vector = torch.randn(1, 16)
    ids = torch.randint(5, 40, (1, 10), generator=torch.Generator().manual_seed(3))
    t = 6
    base = decoder.states(vector, ids)
    future = ids.clone()
    future[0, t + 1 :] = 7  # change every token after t
    torch.testing.assert_close(decoder.states(vector, future)[0, : t + 1], base[0, : t + 1])
    # each layer reaches 2 tokens back (window 3 counts t itself), 2 stacked layers reach 4
    far = ids.clone()
    far[0, 1 : t - 4] = 9
    torch.testing.assert_close(decoder.states(vector, far)[0, t], base[0, t])
    near = ids.clone()
    near[0, t - 1] = 9
    assert not torch.allclose(decoder.states(vector, near)[0, t], base[0, t])
    assert not torch.allclose(decoder.states(vector * 2, ids)[0, t], base[0, t])  # sees 0


def test_masked_decoder_predicts_only_masked_positions_and_symmetric_decodes_both_ways():
    mlm = tiny_mlm()
    model = CotMaeModel(mlm, decoder="masked", symmetric=False).eval()
    passage, context = tokens(2, 8, seed=1), tokens(2, 6, seed=2)
    out = model(passage=passage, context_decoder=context)
    assert int(out["decoder_count"]) == int((context["labels"] != -100).sum())
    assert int(out["mlm_count"]) == int((passage["labels"] != -100).sum())
    symmetric = CotMaeModel(mlm, decoder="masked", symmetric=True).eval()
    both = symmetric(
        passage=passage, context_decoder=context, context=context, passage_decoder=passage
    )
    assert int(both["decoder_count"]) == int(out["decoder_count"]) + int(out["mlm_count"])
    assert int(both["mlm_count"]) == int(out["mlm_count"]) + int(out["decoder_count"])
    # the decoder loss flows back into the encoder through the vector
    both["decoder"].backward()
    assert mlm.bert.encoder.layer[-1].output.dense.weight.grad.abs().sum() > 0


def test_autoregressive_cotmae_counts_next_tokens():
    model = CotMaeModel(tiny_mlm(), decoder="autoregressive", attn_window=3)
    passage, context = tokens(2, 8), tokens(2, 6, seed=4)
    out = model(
        passage=passage,
        context_decoder={
            "input_ids": context["input_ids"],
            "attention_mask": context["attention_mask"],
        },
    )
    assert int(out["decoder_count"]) == int(context["attention_mask"][:, 1:].sum())


def test_condenser_head_and_late_mlm():
    mlm = tiny_mlm(layers=4)
    condenser = CondenserModel(mlm, head_layers=2)
    assert condenser.skip_from == 2 and len(condenser.head) == 2
    head_weight = condenser.head[0].attention.self.query.weight
    assert not torch.equal(head_weight, mlm.bert.encoder.layer[-1].attention.self.query.weight)
    model = CoCondenserModel(condenser)
    passage, context = tokens(3, 8), tokens(3, 5, seed=2)
    out = model(passage=passage, context=context)
    assert out["passage_vectors"].shape == (3, 16) and out["context_vectors"].shape == (3, 16)
    masked = int((passage["labels"] != -100).sum() + (context["labels"] != -100).sum())
    assert int(out["head_mlm_count"]) == int(out["mlm_count"]) == masked
    out["head_mlm"].backward()  # the head's loss reaches the layers below skip_from
    assert mlm.bert.encoder.layer[0].output.dense.weight.grad.abs().sum() > 0
    no_late = CoCondenserModel(CondenserModel(tiny_mlm(), late_mlm=False))
    assert "mlm" not in no_late(passage=passage, context=context)
