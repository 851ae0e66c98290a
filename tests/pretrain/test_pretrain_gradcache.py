"""GradCache: the chunked step gives the full-batch step's loss and gradients.

Without dropout the chunked step must equal the full-batch step; with dropout (other masks than
the full batch's) each chunk's second pass must replay the random state of its first pass, so
its vectors are the ones the contrastive gradient was computed for.
Tolerance: 1e-5 relative / 1e-6 absolute (float32; only summation order differs).
"""

from __future__ import annotations

import torch
from transformers import TrainingArguments

from qcpt.pretrain.condenser import CoCondenserModel, CondenserModel
from qcpt.pretrain.gradcache import split_pairs
from qcpt.pretrain.trainer import PretrainTrainer

from .conftest import tiny_mlm
from .test_pretrain_models import tokens

LOSS = {
    "term_weights": {"head_mlm": 1.0, "mlm": 1.0},
    "contrastive_weight": 1.0,
    "temperature": 0.5,
}


def make_trainer(tmp_path, chunk_size, dropout=0.0):
    torch.manual_seed(0)
    model = CoCondenserModel(CondenserModel(tiny_mlm(dropout=dropout), normalize=True))
    args = TrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to="none", per_device_train_batch_size=6
    )
    return PretrainTrainer(
        model=model, args=args, train_dataset=[0] * 6, chunk_size=chunk_size, **LOSS
    )


def batch():
    passage, context = tokens(6, 9, seed=1), tokens(6, 5, seed=2)
    context["attention_mask"][2:, -1] = 0  # chunks with other lengths than the batch
    return {"passage": passage, "context": context}


def step(tmp_path, chunk_size):
    trainer = make_trainer(tmp_path, chunk_size)
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop
    torch.manual_seed(123)  # the dropout stream of the step
    loss = trainer.training_step(trainer.model, batch())
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    return loss.detach(), grads


def test_gradcache_chunks_give_the_full_batch_gradients(tmp_path):
    full_loss, full_grads = step(tmp_path / "full", None)
    for chunk_size in (1, 4):
        loss, grads = step(tmp_path / f"chunk{chunk_size}", chunk_size)
        torch.testing.assert_close(loss, full_loss, rtol=1e-5, atol=1e-6)
        assert grads.keys() == full_grads.keys()
        for name, grad in grads.items():
            torch.testing.assert_close(
                grad, full_grads[name], rtol=1e-5, atol=1e-6, msg=f"gradient of {name}"
            )


def test_split_pairs_trims_each_chunk_to_its_longest_text():
    chunks = split_pairs(batch(), 2)
    assert [len(c["passage"]["input_ids"]) for c in chunks] == [2, 2, 2]
    assert chunks[0]["context"]["input_ids"].shape[1] == 5
    assert chunks[1]["context"]["input_ids"].shape[1] == 4
    assert chunks[0]["passage"]["input_ids"].shape[1] == 9


def test_gradcache_replays_each_chunk_with_its_first_pass_dropout(tmp_path):
    trainer = make_trainer(tmp_path, 2, dropout=0.3)
    trainer.current_gradient_accumulation_steps = 1
    calls = []
    forward = trainer.model.forward

    def recording_forward(*args, **kwargs):
        output = forward(*args, **kwargs)
        calls.append(output["passage_vectors"].detach().clone())
        return output

    trainer.model.forward = recording_forward
    torch.manual_seed(5)
    trainer.training_step(trainer.model, batch())
    first, second = calls[:3], calls[3:]
    assert len(second) == 3
    for before, again in zip(first, second, strict=True):
        torch.testing.assert_close(again, before, rtol=1e-5, atol=1e-6)
    chunk = split_pairs(batch(), 2)[0]  # dropout is really on: two passes differ
    assert not torch.allclose(
        forward(**chunk)["passage_vectors"], forward(**chunk)["passage_vectors"]
    )
