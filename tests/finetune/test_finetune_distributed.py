"""Cross-process negatives: 2 gloo processes give the loss and gradients of one global batch.

Each process holds 2 of the 4 queries and their groups (interleaved by rank, as a distributed
sampler deals them), runs the real :class:`BiEncoder` under DDP and the trainer's
:func:`global_contrastive_loss`. The mean of the two local losses must equal the single-process
loss over the 4 queries, and the DDP-averaged gradients its gradients.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from qcpt.finetune.trainer import global_contrastive_loss

GROUP_SIZE = 3
QUERIES_PER_RANK = 2
WORLD = 2
TEMPERATURE = 0.5


def make_model():
    """A tiny dropout-free BERT bi-encoder, identical in every process (seeded)."""
    from transformers import BertConfig, BertModel

    from qcpt.finetune.model import BiEncoder

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=16,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
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


def worker(rank: int, init_method: str, output: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=WORLD)
    model = torch.nn.parallel.DistributedDataParallel(make_model())
    queries, passages = make_batch(WORLD * QUERIES_PER_RANK)
    query_rows, passage_rows = rank_rows(rank)
    query_vectors, passage_vectors = model(take(queries, query_rows),
                                           take(passages, passage_rows))
    loss = global_contrastive_loss(query_vectors, passage_vectors, GROUP_SIZE, TEMPERATURE)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.module.named_parameters() if p.grad is not None}
    torch.save({"loss": loss.detach(), "grads": grads}, f"{output}/rank{rank}.pt")
    dist.destroy_process_group()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_process_loss_and_gradients_equal_one_process(tmp_path):
    # a TCP store on the loopback (a file:// store can be removed by the rank that finishes
    # first, leaving the other waiting), and a deadline instead of waiting forever
    init_method = f"tcp://127.0.0.1:{free_port()}"
    context = mp.spawn(worker, args=(init_method, str(tmp_path)), nprocs=WORLD, join=False)
    for _ in range(240):
        if context.join(timeout=0.5):
            break
    else:
        for process in context.processes:
            process.kill()
        raise AssertionError("the two gloo processes did not finish within 120 s")
    results = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]

    # one process, the same global batch, ordered as the gathered passages are:
    # rank 0's queries (0, 2) then rank 1's (1, 3), each group in the same order
    order = [q for r in range(WORLD) for q in rank_rows(r)[0]]
    queries, passages = make_batch(WORLD * QUERIES_PER_RANK)
    model = make_model()
    query_vectors, passage_vectors = model(
        take(queries, order),
        take(passages, [q * GROUP_SIZE + j for q in order for j in range(GROUP_SIZE)]))
    loss = global_contrastive_loss(query_vectors, passage_vectors, GROUP_SIZE, TEMPERATURE)
    loss.backward()

    mean_loss = sum(r["loss"] for r in results) / WORLD
    torch.testing.assert_close(mean_loss, loss.detach(), rtol=1e-5, atol=1e-6)
    assert results[0]["loss"] != results[1]["loss"]  # each rank scores its own queries
    for name, param in model.named_parameters():
        if param.grad is None:
            continue
        for result in results:  # DDP leaves the same averaged gradient on every rank
            torch.testing.assert_close(result["grads"][name], param.grad, rtol=1e-4, atol=1e-6)
