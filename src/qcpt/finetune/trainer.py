"""Hugging Face ``Trainer`` for the bi-encoder: contrastive loss with cross-process negatives.

Each process scores its own queries against the passages of *all* processes: passage vectors are
gathered by an ``all_gather`` that passes gradients back to the process that computed them, and
the local targets are offset by ``rank x local batch``. The mean of the per-process losses is the
loss of the global batch, and DDP's gradient averaging gives its exact gradient (tested with two
gloo processes). Works unchanged under torchrun, accelerate and DeepSpeed.

Reference: Gao & Callan 2022 (coCondenser, Tevatron's cross-device negatives).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from transformers import Trainer

from qcpt.finetune.losses import contrastive_loss
from qcpt.utils.training import (
    all_gather_with_grad,
    epoch_setter,
    is_distributed,
    stop_if_not_finite,
)


def global_contrastive_loss(
    query_vectors: torch.Tensor,
    passage_vectors: torch.Tensor,
    group_size: int,
    temperature: float = 1.0,
    cross_process: bool = True,
) -> torch.Tensor:
    """:func:`contrastive_loss` of the local queries against the passages of every process.

    Without an initialised process group (or with ``cross_process=False``) only the local
    passages are used. All processes must hold the same number of queries (drop the last
    incomplete batch).
    """
    query_offset = 0
    if cross_process and is_distributed():
        passage_vectors = all_gather_with_grad(passage_vectors)
        query_offset = dist.get_rank() * len(query_vectors)
    return contrastive_loss(query_vectors, passage_vectors, group_size, temperature, query_offset)


class BiEncoderTrainer(Trainer):
    """``Trainer`` whose loss is :func:`global_contrastive_loss` of the model's vectors.

    The model is a :class:`~qcpt.finetune.model.BiEncoder`; batches come from
    :class:`~qcpt.finetune.collator.GroupCollator`. The evaluation loss (dev groups) is the same
    loss without gradients.
    """

    loss_is_scaled_for_ga = False  # a per-micro-batch mean: the Trainer divides it

    def __init__(
        self,
        *args,
        group_size: int,
        temperature: float = 1.0,
        cross_device_negatives: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.group_size = group_size
        self.temperature = temperature
        self.cross_device_negatives = cross_device_negatives
        self.add_callback(epoch_setter(self.train_dataset))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        query_vectors, passage_vectors = model(**inputs)
        loss = global_contrastive_loss(
            query_vectors,
            passage_vectors,
            self.group_size,
            self.temperature,
            self.cross_device_negatives,
        )
        if model.training:
            stop_if_not_finite({"contrastive": float(loss.detach())}, self)
        return (loss, (query_vectors, passage_vectors)) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None
