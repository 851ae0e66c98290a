"""One training run: a bi-encoder trained on a groups file and saved as a qcpt model artefact."""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from qcpt.finetune.config import EncoderConfig, TrainingConfig

logger = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
# main-process-only work (mining, evaluation) runs between collective calls: be patient
DISTRIBUTED_TIMEOUT = timedelta(hours=8)


def no_accelerator() -> bool:
    """True on a machine without CUDA, MPS or XPU: processes then train on CPUs (gloo)."""
    import torch

    xpu = getattr(torch, "xpu", None)
    return not (torch.cuda.is_available() or torch.backends.mps.is_available()
                or (xpu is not None and xpu.is_available()))


def distributed_state():
    """accelerate's ``PartialState``: one process, or the torchrun / accelerate group.

    Without an accelerator it is created for CPUs, which is what makes several processes form
    a gloo group (accelerate only does so when asked for CPUs).
    """
    from accelerate import PartialState

    return PartialState(cpu=no_accelerator(), timeout=DISTRIBUTED_TIMEOUT)


def training_arguments(training: TrainingConfig, output_dir: str | Path, *,
                       with_dev: bool, show_progress: bool = True):
    """``TrainingArguments`` for :class:`~qcpt.finetune.trainer.BiEncoderTrainer`."""
    import torch
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
        bf16=training.precision == "bf16",
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
        remove_unused_columns=False,  # the collator reads "query" and "passages"
        ddp_find_unused_parameters=False,
        ddp_timeout=int(DISTRIBUTED_TIMEOUT.total_seconds()),
        deepspeed=training.deepspeed,
        seed=training.seed,
        report_to="none",
        disable_tqdm=not show_progress,
    )


def train_bi_encoder(init_model: str, groups_path: str | Path, output_dir: str | Path, *,
                     encoder: EncoderConfig, training: TrainingConfig, pooling: str,
                     normalize: bool, dev_groups_path: str | Path | None = None,
                     resume: bool = False, recipe: dict[str, Any] | None = None,
                     data: dict[str, Any] | None = None, show_progress: bool = True
                     ) -> dict[str, Any]:
    """Train from ``init_model`` on ``groups_path``; write the artefact to ``output_dir/model``.

    Trainer checkpoints go to ``output_dir/checkpoints``; with ``resume`` training continues
    from the last one, otherwise it starts afresh. Returns the Trainer's train metrics
    (runtime, loss, steps) plus ``global_step`` and, with dev groups, ``dev_loss`` as
    ``[[step, loss], ...]``. Every process of a distributed run calls this;
    only the main one writes the artefact.
    """
    from transformers import AutoTokenizer
    from transformers.trainer_utils import get_last_checkpoint

    from qcpt.finetune.collator import GroupCollator
    from qcpt.finetune.dataset import GroupsDataset
    from qcpt.finetune.model import BiEncoder
    from qcpt.finetune.trainer import BiEncoderTrainer
    from qcpt.retrieval.export import save_encoder_artifact

    output_dir = Path(output_dir)
    checkpoints = output_dir / CHECKPOINTS_DIR
    state = distributed_state()
    last_checkpoint = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if last_checkpoint and not resume:
        if state.is_main_process:
            logger.info("starting afresh: removing the checkpoints of an earlier run in %s "
                        "(pass --resume to continue from them)", checkpoints)
            shutil.rmtree(checkpoints)
        state.wait_for_everyone()
        last_checkpoint = None
    args = training_arguments(training, checkpoints, with_dev=dev_groups_path is not None,
                              show_progress=show_progress)
    tokenizer = AutoTokenizer.from_pretrained(init_model)
    model = BiEncoder.from_pretrained(init_model, pooling, normalize)
    dataset_options = {"seed": training.seed, "title_separator": encoder.title_separator}
    trainer = BiEncoderTrainer(
        model=model, args=args,
        train_dataset=GroupsDataset(groups_path, training.group_size, **dataset_options),
        eval_dataset=GroupsDataset(dev_groups_path, training.group_size, **dataset_options)
        if dev_groups_path is not None else None,
        data_collator=GroupCollator(tokenizer, encoder.query_max_length,
                                    encoder.passage_max_length),
        processing_class=tokenizer,
        group_size=training.group_size, temperature=training.temperature,
        cross_process_negatives=training.cross_device_negatives,
    )
    if last_checkpoint:
        logger.info("resuming from %s", last_checkpoint)
    result = trainer.train(resume_from_checkpoint=last_checkpoint)
    state_dict = None
    if trainer.is_deepspeed_enabled:  # gather ZeRO-partitioned weights on every process
        gathered = trainer.accelerator.get_state_dict(trainer.deepspeed)
        state_dict = {k.removeprefix("encoder."): v for k, v in gathered.items()}
    if state.is_main_process:
        save_encoder_artifact(
            model.encoder, tokenizer, output_dir / "model", pooling=pooling,
            normalize=normalize, query_max_length=encoder.query_max_length,
            passage_max_length=encoder.passage_max_length,
            title_separator=encoder.title_separator, recipe=recipe, data=data,
            steps=trainer.state.global_step, state_dict=state_dict)
        if not training.keep_checkpoints:
            shutil.rmtree(checkpoints, ignore_errors=True)
    state.wait_for_everyone()
    dev_loss = [[entry["step"], entry["eval_loss"]] for entry in trainer.state.log_history
                if "eval_loss" in entry]
    return {**result.metrics, "global_step": trainer.state.global_step,
            **({"dev_loss": dev_loss} if dev_loss else {})}
