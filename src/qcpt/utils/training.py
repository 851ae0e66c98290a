"""Plumbing shared by the training stages (pre-training, fine-tuning) on the Hugging Face Trainer.

``TrainingArguments`` built from the shared settings (:mod:`qcpt.utils.trainer_settings`), the
process group (one process, torchrun or accelerate; gloo on CPU-only machines), an
``all_gather`` that passes gradients back, and the checkpoint-folder policy (resume or start
afresh).
"""

from __future__ import annotations

import logging
import math
import shutil
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from qcpt.utils.devices import resolve_precision
from qcpt.utils.trainer_settings import TrainerSettings

logger = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"  # Trainer checkpoints inside a stage folder (--resume)
# main-process-only work (mining, evaluation) runs between collective calls: be patient
DISTRIBUTED_TIMEOUT = timedelta(hours=8)


def no_accelerator() -> bool:
    """True on a machine without CUDA, MPS or XPU: processes then train on CPUs (gloo)."""
    xpu = getattr(torch, "xpu", None)
    return not (
        torch.cuda.is_available()
        or torch.backends.mps.is_available()
        or (xpu is not None and xpu.is_available())
    )


def distributed_state():
    """accelerate's ``PartialState``: one process, or the torchrun / accelerate group.

    Without an accelerator it is created for CPUs, which is what makes several processes form
    a gloo group (accelerate only does so when asked for CPUs).
    """
    from accelerate import PartialState

    return PartialState(cpu=no_accelerator(), timeout=DISTRIBUTED_TIMEOUT)


def training_arguments(
    training: TrainerSettings,
    output_dir: str | Path,
    *,
    with_dev: bool = False,
    show_progress: bool = True,
):
    """``TrainingArguments`` for a qcpt Trainer subclass from the shared settings."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=training.batch_size,
        per_device_eval_batch_size=training.batch_size,
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        num_train_epochs=training.epochs,
        max_steps=training.max_steps,
        learning_rate=training.learning_rate,
        warmup_steps=training.warmup_ratio,
        weight_decay=training.weight_decay,
        max_grad_norm=training.max_grad_norm,
        use_cpu=no_accelerator(),  # CPU bf16 autocast and CPU process groups need it
        bf16=resolve_precision(training.precision) == "bf16",
        fp16=training.precision == "fp16",
        activation_checkpointing=training.gradient_checkpointing,
        logging_steps=training.logging_steps,
        save_strategy="steps",
        save_steps=training.save_steps,
        save_total_limit=training.save_total_limit,
        eval_strategy="steps" if with_dev else "no",
        eval_steps=training.eval_steps or training.save_steps,
        dataloader_drop_last=True,  # equal batches on every process (cross-process negatives)
        dataloader_num_workers=training.dataloader_num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        remove_unused_columns=False,  # collators read their own keys
        ddp_find_unused_parameters=False,
        ddp_timeout=int(DISTRIBUTED_TIMEOUT.total_seconds()),
        deepspeed=training.deepspeed,
        seed=training.seed,
        report_to="none",
        disable_tqdm=not show_progress,
    )


_WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)


def complete_checkpoint(folder: Path) -> bool:
    """Whether a Trainer checkpoint folder was written to the end: the Trainer writes
    ``trainer_state.json`` after the weights, optimizer and random states, so a kill during a
    save leaves a folder without it (or with a torn one)."""
    import json

    state_file = folder / "trainer_state.json"
    if not state_file.is_file() or not any((folder / name).is_file() for name in _WEIGHT_FILES):
        return False
    try:
        json.loads(state_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return True


def last_complete_checkpoint(checkpoints: Path) -> str | None:
    """The newest complete ``checkpoint-<step>`` folder in ``checkpoints`` (incomplete ones
    are skipped with a warning), or None."""
    import re

    found = sorted(
        (
            (int(m[1]), path)
            for path in checkpoints.iterdir()
            if path.is_dir() and (m := re.fullmatch(r"checkpoint-(\d+)", path.name))
        ),
        reverse=True,
    )
    for _, path in found:
        if complete_checkpoint(path):
            return str(path)
        logger.warning("%s is incomplete (a save was interrupted): skipped", path)
    return None


def checkpoint_to_resume(checkpoints: Path, resume: bool, state) -> str | None:
    """The newest complete Trainer checkpoint in ``checkpoints`` when ``resume``; otherwise none.

    Without ``resume`` the checkpoints of an earlier run are removed (by the main process), so a
    new run never mixes with an old one.
    """
    if not checkpoints.is_dir() or not any(checkpoints.iterdir()):
        return None
    if not resume:
        if state.is_main_process:
            logger.info(
                "starting afresh: removing the checkpoints of an earlier run in %s "
                "(pass --resume to continue from them)",
                checkpoints,
            )
            shutil.rmtree(checkpoints)
        state.wait_for_everyone()
        return None
    last = last_complete_checkpoint(checkpoints)
    if last:
        logger.info("resuming from %s", last)
    return last


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenation of ``tensor`` from every process, in rank order, differentiable.

    The backward pass returns to each process the gradient of its own tensor summed over the
    losses of all processes (what ``torch.distributed.nn.functional.all_gather`` does; that one
    is deprecated from torch 2.13). Outside a process group it returns ``tensor``.
    """
    if not is_distributed():
        return tensor
    return torch.cat(_AllGatherWithGrad.apply(tensor.contiguous()))


class _AllGatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> tuple[torch.Tensor, ...]:
        gathered = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(gathered, tensor)
        return tuple(gathered)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack(grads)
        dist.all_reduce(stacked)  # all_reduce also works with gloo (reduce_scatter does not)
        return stacked[dist.get_rank()]


def epoch_setter(dataset):
    """A ``TrainerCallback`` that tells ``dataset.set_epoch`` which epoch starts."""
    from transformers import TrainerCallback

    class _EpochSetter(TrainerCallback):
        def on_epoch_begin(self, args, state, control, **kwargs):
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(int(state.epoch + 1e-6))

    return _EpochSetter()


def stop_if_not_finite(terms: dict[str, float], trainer) -> None:
    """Raise ``QcptError`` naming the step and the loss term when a term's value (a float, as
    the trainer already reads it for its logs) is NaN or infinite.

    Nothing of the broken step is saved: the newest checkpoint (named in the message) is the
    last good state, and ``--resume`` continues from it (after lowering the learning rate or
    moving to fp32, usually).
    """
    bad = {name: value for name, value in terms.items() if not math.isfinite(value)}
    if not bad:
        return
    from qcpt.errors import QcptError

    step = trainer.state.global_step + 1
    checkpoints = Path(trainer.args.output_dir)
    last = last_complete_checkpoint(checkpoints) if checkpoints.is_dir() else None
    kept = f"the last good checkpoint is {last}" if last else "no checkpoint was saved yet"
    terms_text = ", ".join(f"{name} = {value}" for name, value in bad.items())
    raise QcptError(
        f"training stopped at step {step}: loss term {terms_text} is not finite; "
        f"{kept} (resume it with --resume, e.g. with a lower learning rate or "
        "precision fp32)"
    )
