"""Contrastive loss of a bi-encoder over in-batch and hard negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def contrastive_loss(
    query_vectors: torch.Tensor,
    passage_vectors: torch.Tensor,
    group_size: int,
    temperature: float = 1.0,
    query_offset: int = 0,
) -> torch.Tensor:
    """Mean cross-entropy of each query over every passage of the batch.

    Inputs: ``query_vectors`` (n, dim) and ``passage_vectors`` (m * group_size, dim) laid out
    group after group, ``[pos_0, neg_0_1, ..., neg_0_{g-1}, pos_1, ...]``; m >= n when the
    passages of other processes are included. Computes
    ``scores = query_vectors @ passage_vectors.T / temperature`` (in float32) and the
    cross-entropy with target index ``(query_offset + i) * group_size`` for query i, so each
    query is contrasted with its own hard negatives and with every other group's passages
    (in-batch negatives). ``query_offset`` is the global index of the first local query (rank x
    local batch size when passages are gathered across processes).

    Reference: Karpukhin et al., "Dense Passage Retrieval for Open-Domain Question Answering"
    (2020); Gao & Callan, "Unsupervised Corpus Aware Language Model Pre-training for Dense
    Passage Retrieval" (2022), fine-tuned with Tevatron.
    """
    scores = query_vectors.float() @ passage_vectors.float().T / temperature
    targets = (query_offset + torch.arange(len(query_vectors), device=scores.device)) * group_size
    return F.cross_entropy(scores, targets)
