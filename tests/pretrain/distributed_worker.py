"""One pre-training step of each objective, run by ``torchrun`` (2 CPU processes, gloo) and by
the test in one process on the same global batch; see test_pretrain_distributed.py.

Usage: torchrun --standalone --nproc_per_node 2 distributed_worker.py OUTPUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

PAIRS = 4  # global batch
CASES = ("contrastive", "contrastive-gradcache", "generative-ar", "generative-masked-symmetric")


def tiny_mlm():
    """A dropout-free tiny BERT with an MLM head, identical in every process (seeded)."""
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertForMaskedLM(config)


def side(length: int, seed: int) -> dict[str, torch.Tensor]:
    """Masked tokens for the global batch (rows of unequal length, unequal masked counts)."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 40, (PAIRS, length), generator=generator)
    ids[:, 0] = 2
    attention = torch.ones(PAIRS, length, dtype=torch.long)
    attention[1, -2:] = 0
    attention[2, -1:] = 0
    labels = torch.full((PAIRS, length), -100)
    chosen = (torch.rand(PAIRS, length, generator=generator) < 0.4) & attention.bool()
    chosen[:, 0] = False
    chosen[:, 1] = True
    chosen[3, 2:] = attention[3, 2:].bool()  # rank 1 holds more targets than rank 0
    labels[chosen] = ids[chosen]
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


def global_batch(case: str) -> dict:
    passage, context = side(9, 1), side(6, 2)
    if case.startswith("contrastive"):
        return {"passage": passage, "context": context}
    if case == "generative-ar":
        return {
            "passage": passage,
            "context_decoder": {
                "input_ids": context["input_ids"],
                "attention_mask": context["attention_mask"],
            },
        }
    return {
        "passage": passage,
        "context": context,
        "context_decoder": side(6, 3),
        "passage_decoder": side(9, 4),
    }


def rows(batch: dict, start: int, stop: int) -> dict:
    return {name: {k: v[start:stop] for k, v in tokens.items()} for name, tokens in batch.items()}


def make_trainer(case: str, output_dir: str):
    from transformers import TrainingArguments

    from qcpt.pretrain.condenser import CoCondenserModel, CondenserModel
    from qcpt.pretrain.cotmae import CotMaeModel
    from qcpt.pretrain.trainer import PretrainTrainer

    if case.startswith("contrastive"):
        model = CoCondenserModel(CondenserModel(tiny_mlm()))
        loss = {
            "term_weights": {"head_mlm": 1.0, "mlm": 1.0},
            "contrastive_weight": 1.0,
            "chunk_size": 1 if case.endswith("gradcache") else None,
        }
    else:
        model = CotMaeModel(
            tiny_mlm(),
            decoder="masked" if "masked" in case else "autoregressive",
            symmetric=case.endswith("symmetric"),
        )
        loss = {"term_weights": {"mlm": 1.0, "decoder": 1.0}}
    args = TrainingArguments(
        output_dir=output_dir, use_cpu=True, report_to="none", per_device_train_batch_size=PAIRS
    )
    trainer = PretrainTrainer(model=model, args=args, train_dataset=[0] * PAIRS, **loss)
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop
    return trainer


def step(case: str, output_dir: str, model_wrapper=None, batch_rows=(0, PAIRS)) -> dict:
    """One training step of ``case`` on ``batch_rows`` of the global batch, then one SGD update
    (lr 1); returns the loss and each parameter's change."""
    trainer = make_trainer(case, output_dir)
    model = trainer.model
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    wrapped = model_wrapper(model) if model_wrapper else model
    loss = trainer.training_step(wrapped, rows(global_batch(case), *batch_rows))
    torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0).step()
    return {
        "loss": loss.detach().cpu(),
        "update": {n: (p.detach() - before[n]) for n, p in model.named_parameters()},
    }


def main(output_dir: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    share = PAIRS // world
    results = {}
    for case in CASES:
        results[case] = step(
            case,
            f"{output_dir}/trainer-{rank}",
            lambda m: torch.nn.parallel.DistributedDataParallel(m),
            (rank * share, (rank + 1) * share),
        )
    torch.save(results, Path(output_dir) / f"rank{rank}.pt")
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
