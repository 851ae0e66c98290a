"""InfoNCE over the vectors of passages and their contexts, both directions, global batch."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F

from qcpt.utils.training import all_gather_with_grad, is_distributed


def pair_infonce(
    passage_vectors: torch.Tensor,
    context_vectors: torch.Tensor,
    temperature: float = 1.0,
    cross_process: bool = True,
) -> torch.Tensor:
    """Mean cross-entropy of every passage and context against all 2N vectors of the batch.

    Inputs: ``passage_vectors`` and ``context_vectors`` (n, dim), row i of each a pair. Every
    one of the 2n vectors is scored (dot product / ``temperature``, in float32) against all
    vectors of the batch except itself; its target is its partner, every other passage and
    context is a negative. With ``cross_process`` inside a process group the columns are the
    vectors of *all* processes, gathered with gradients (targets offset by rank), so the mean of
    the per-process losses is the loss of the global batch and DDP's gradient average is its
    gradient. All processes must hold the same n.

    Reference: Gao & Callan, "Unsupervised Corpus Aware Language Model Pre-training for Dense
    Passage Retrieval" (coCondenser, 2022), its span-pair loss; Chen et al., SimCLR (2020).
    """
    n = len(passage_vectors)
    rank, world = 0, 1
    all_passages, all_contexts = passage_vectors, context_vectors
    if cross_process and is_distributed():
        rank, world = dist.get_rank(), dist.get_world_size()
        all_passages = all_gather_with_grad(passage_vectors)
        all_contexts = all_gather_with_grad(context_vectors)
    rows = torch.cat([passage_vectors, context_vectors]).float()
    columns = torch.cat([all_passages, all_contexts]).float()
    scores = rows @ columns.T / temperature
    total = n * world  # columns: all passages, then all contexts
    local = torch.arange(n, device=scores.device) + rank * n
    own = torch.cat([local, local + total])
    partner = torch.cat([local + total, local])
    scores[torch.arange(2 * n, device=scores.device), own] = float("-inf")
    return F.cross_entropy(scores, partner)
