"""Hugging Face ``Trainer`` for context pre-training: weighted loss terms, GradCache, term logs.

Token-level terms (MLM, decoder) are normalised by the target count of the *global* batch
(counts are all-reduced, then multiplied back by the world size because DDP averages
gradients), so one process and N processes on the same global batch give the same loss and
update, and so do GradCache chunks. The contrastive term is
:func:`~qcpt.pretrain.losses.pair_infonce` over the vectors of all processes.

GradCache (``chunk_size``) is :mod:`qcpt.pretrain.gradcache`.
"""

from __future__ import annotations

import os
from collections import defaultdict

import torch
import torch.distributed as dist
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler

from qcpt.pretrain.gradcache import gradcache_step
from qcpt.pretrain.losses import pair_infonce
from qcpt.utils.training import epoch_setter, is_distributed, stop_if_not_finite

WEIGHTS_FILE = "model.safetensors"


def global_mean_count(count: torch.Tensor) -> torch.Tensor:
    """The per-process mean of ``count`` over all processes (itself outside a process group),
    at least 1: the divisor that turns a local sum into a share of the global mean."""
    total = count.detach().float().clone()
    if is_distributed():
        dist.all_reduce(total)
        total = total / dist.get_world_size()
    return total.clamp(min=1.0)


class PretrainTrainer(Trainer):
    """``Trainer`` over a :class:`~qcpt.pretrain.condenser.CoCondenserModel` or
    :class:`~qcpt.pretrain.cotmae.CotMaeModel` (given as ``model``).

    ``term_weights`` maps the model's token-level terms (``mlm``, ``head_mlm``, ``decoder``) to
    their weights; ``contrastive_weight`` > 0 adds InfoNCE between ``passage_vectors`` and
    ``context_vectors`` at ``temperature``. Every term is logged as ``loss_<name>``.
    """

    loss_is_scaled_for_ga = False  # a per-micro-batch mean: the Trainer divides it

    def __init__(
        self,
        *args,
        term_weights: dict[str, float],
        contrastive_weight: float = 0.0,
        temperature: float = 1.0,
        cross_device_negatives: bool = True,
        chunk_size: int | None = None,
        group_by_length: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.group_by_length = group_by_length
        self.term_weights = term_weights
        self.contrastive_weight = contrastive_weight
        self.temperature = temperature
        self.cross_device_negatives = cross_device_negatives
        self.chunk_size = chunk_size
        self._term_sums: dict[str, float] = defaultdict(float)
        self._term_batches = 0
        self.add_callback(epoch_setter(self.train_dataset))

    def _get_train_sampler(self, train_dataset=None):
        # transformers' own group_by_length would tokenise every item to learn its length
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if not self.group_by_length:
            return super()._get_train_sampler(train_dataset)
        return LengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            lengths=dataset.passage_lengths(),
        )

    # -- the loss ----------------------------------------------------------------------------

    def _token_terms(
        self, output: dict, counts: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        terms = {}
        for name in self.term_weights:
            if name in output:
                count = counts[name] if counts is not None else output[f"{name}_count"]
                terms[name] = output[name] / global_mean_count(count)
        return terms

    def _contrastive(self, passage_vectors, context_vectors) -> torch.Tensor:
        return pair_infonce(
            passage_vectors, context_vectors, self.temperature, self.cross_device_negatives
        )

    def _total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        weights = {**self.term_weights, "contrastive": self.contrastive_weight}
        return sum(weights[name] * value for name, value in terms.items())

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        output = model(**inputs)
        terms = self._token_terms(output)
        if self.contrastive_weight > 0:
            terms["contrastive"] = self._contrastive(
                output["passage_vectors"], output["context_vectors"]
            )
        self._record(terms)
        loss = self._total(terms)
        return (loss, output) if return_outputs else loss

    def training_step(self, model, inputs, num_items_in_batch=None):
        if not self.chunk_size or self.contrastive_weight <= 0:
            return super().training_step(model, inputs, num_items_in_batch)
        model.train()
        inputs = self._prepare_inputs(inputs)
        return gradcache_step(self, model, inputs)

    # -- logging and checkpoints -----------------------------------------------------------

    def _record(self, terms: dict[str, torch.Tensor]) -> None:
        if not self.model.training:
            return
        values = {name: float(value.detach()) for name, value in terms.items()}  # one sync each
        stop_if_not_finite(values, self)
        for name, value in values.items():
            self._term_sums[name] += value
        self._term_batches += 1

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._term_batches:
            names = sorted(self._term_sums)
            values = torch.tensor(
                [self._term_sums[n] / self._term_batches for n in names], device=self.args.device
            )
            if is_distributed():
                dist.all_reduce(values)
                values /= dist.get_world_size()
            logs.update(
                {f"loss_{n}": round(float(v), 4) for n, v in zip(names, values, strict=True)}
            )
            self._term_sums.clear()
            self._term_batches = 0
        super().log(logs, start_time)

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        # the MLM head is tied to the word embeddings: safetensors' save_model stores shared
        # tensors once (save_file refuses them)
        from safetensors.torch import save_model

        output_dir = output_dir or self.args.output_dir
        if not self.args.should_save:
            return
        os.makedirs(output_dir, exist_ok=True)
        save_model(
            self.accelerator.unwrap_model(self.model), os.path.join(output_dir, WEIGHTS_FILE)
        )
        torch.save(self.args, os.path.join(output_dir, "training_args.bin"))

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        from safetensors.torch import load_model

        load_model(
            model or self.accelerator.unwrap_model(self.model),
            os.path.join(resume_from_checkpoint, WEIGHTS_FILE),
            device="cpu",
        )
