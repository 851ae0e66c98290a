"""Cross-process negatives: 2 gloo processes give the loss and gradients of one global batch.

Each process holds 2 of the 4 queries and their groups (interleaved by rank, as a distributed
sampler deals them), runs the real :class:`BiEncoder` under DDP and the trainer's
:func:`global_contrastive_loss` (distributed_worker.py, started by ``torchrun``). The mean of the
two local losses must equal the single-process loss over the 4 queries, and the DDP-averaged
gradients its gradients.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from qcpt.finetune.trainer import global_contrastive_loss

from .distributed_worker import (
    GROUP_SIZE,
    QUERIES_PER_RANK,
    TEMPERATURE,
    WORLD,
    make_batch,
    make_model,
    rank_rows,
    take,
)

WORKER = Path(__file__).with_name("distributed_worker.py")


def test_two_process_loss_and_gradients_equal_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(WORLD),
        str(WORKER),
        str(tmp_path),
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]

    # one process, the same global batch, ordered as the gathered passages are:
    # rank 0's queries (0, 2) then rank 1's (1, 3), each group in the same order
    order = [q for r in range(WORLD) for q in rank_rows(r)[0]]
    queries, passages = make_batch(WORLD * QUERIES_PER_RANK)
    model = make_model()
    query_vectors, passage_vectors = model(
        take(queries, order),
        take(passages, [q * GROUP_SIZE + j for q in order for j in range(GROUP_SIZE)]),
    )
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
