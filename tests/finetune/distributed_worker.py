"""Each rank's fine-tuning loss and DDP gradients on its share of one global batch, run by
``torchrun`` (2 CPU processes, gloo); see test_finetune_distributed.py.

Usage: torchrun --standalone --nproc_per_node 2 distributed_worker.py OUTPUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

GROUP_SIZE = 3
QUERIES_PER_RANK = 2
WORLD = 2
TEMPERATURE = 0.5


def make_model():
    """A tiny dropout-free BERT bi-encoder, identical in every process (seeded)."""
    from transformers import BertConfig, BertModel

    from qcpt.finetune.model import BiEncoder

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BiEncoder(BertModel(config), pooling="mean")


def make_batch(queries: int):
    """Token ids for ``queries`` queries and their groups (same for every call)."""
    generator = torch.Generator().manual_seed(1)

    def tokens(n, length):
        ids = torch.randint(5, 30, (n, length), generator=generator)
        mask = torch.ones(n, length, dtype=torch.long)
        mask[::2, -2:] = 0  # some padding
        return {"input_ids": ids, "attention_mask": mask}

    return tokens(queries, 5), tokens(queries * GROUP_SIZE, 8)


def take(tokens: dict, rows: list[int]) -> dict:
    return {name: value[rows] for name, value in tokens.items()}


def rank_rows(rank: int) -> tuple[list[int], list[int]]:
    """Queries of ``rank`` (interleaved: rank 0 gets 0 and 2, rank 1 gets 1 and 3) and passages."""
    queries = list(range(rank, WORLD * QUERIES_PER_RANK, WORLD))
    passages = [q * GROUP_SIZE + j for q in queries for j in range(GROUP_SIZE)]
    return queries, passages


def main(output_dir: str) -> None:
    from datetime import timedelta

    import torch.distributed as dist

    from qcpt.finetune.trainer import global_contrastive_loss

    torch.set_num_threads(1)
    # a stuck collective fails within a minute instead of holding the suite (one run here hung
    # with one rank gone and the other waiting)
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    rank = dist.get_rank()
    model = torch.nn.parallel.DistributedDataParallel(make_model())
    queries, passages = make_batch(WORLD * QUERIES_PER_RANK)
    query_rows, passage_rows = rank_rows(rank)
    query_vectors, passage_vectors = model(take(queries, query_rows), take(passages, passage_rows))
    loss = global_contrastive_loss(query_vectors, passage_vectors, GROUP_SIZE, TEMPERATURE)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.module.named_parameters() if p.grad is not None}
    torch.save({"loss": loss.detach(), "grads": grads}, Path(output_dir) / f"rank{rank}.pt")
    dist.barrier()  # neither rank shuts the group down while the other still uses it
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
