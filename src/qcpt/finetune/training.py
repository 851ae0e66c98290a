"""One training run: a bi-encoder trained on a groups file and saved as a qcpt model artefact."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from qcpt.finetune.config import FinetuneEncoderSettings, FinetuneTrainingSettings
from qcpt.utils.io import write_json
from qcpt.utils.training import (
    CHECKPOINTS_DIR,
    checkpoint_to_resume,
    distributed_state,
    training_arguments,
)

logger = logging.getLogger(__name__)

TRAIN_LOG_FILE = "train_log.json"  # the Trainer's log history (loss per logging step)


def train_bi_encoder(
    init_model: str,
    groups_path: str | Path,
    output_dir: str | Path,
    *,
    encoder: FinetuneEncoderSettings,
    training: FinetuneTrainingSettings,
    pooling: str,
    normalize: bool,
    dev_groups_path: str | Path | None = None,
    resume: bool = False,
    recipe: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Train from ``init_model`` on ``groups_path``; write the artefact to ``output_dir/model``.

    Trainer checkpoints go to ``output_dir/checkpoints``, the log history to
    ``output_dir/train_log.json``; with ``resume`` training continues
    from the last one, otherwise it starts afresh. Returns the Trainer's train metrics
    (runtime, loss, steps) plus ``global_step`` and, with dev groups, ``dev_loss`` as
    ``[[step, loss], ...]``. Every process of a distributed run calls this;
    only the main one writes the artefact.
    """
    from transformers import AutoTokenizer

    from qcpt.encoder import save_encoder_artifact
    from qcpt.finetune.collator import GroupCollator
    from qcpt.finetune.dataset import GroupsDataset
    from qcpt.finetune.model import BiEncoder
    from qcpt.finetune.trainer import BiEncoderTrainer

    output_dir = Path(output_dir)
    checkpoints = output_dir / CHECKPOINTS_DIR
    state = distributed_state()
    last_checkpoint = checkpoint_to_resume(checkpoints, resume, state)
    args = training_arguments(
        training, checkpoints, with_dev=dev_groups_path is not None, show_progress=show_progress
    )
    tokenizer = AutoTokenizer.from_pretrained(init_model)
    model = BiEncoder.from_pretrained(init_model, pooling, normalize)
    dataset_options = {"seed": training.seed, "title_separator": encoder.title_separator}
    trainer = BiEncoderTrainer(
        model=model,
        args=args,
        train_dataset=GroupsDataset(groups_path, training.group_size, **dataset_options),
        eval_dataset=GroupsDataset(dev_groups_path, training.group_size, **dataset_options)
        if dev_groups_path is not None
        else None,
        data_collator=GroupCollator(
            tokenizer, encoder.query_max_length, encoder.passage_max_length
        ),
        processing_class=tokenizer,
        group_size=training.group_size,
        temperature=training.temperature,
        cross_device_negatives=training.cross_device_negatives,
    )
    result = trainer.train(resume_from_checkpoint=last_checkpoint)
    state_dict = None
    if trainer.is_deepspeed_enabled:  # gather ZeRO-partitioned weights on every process
        gathered = trainer.accelerator.get_state_dict(trainer.deepspeed)
        state_dict = {k.removeprefix("encoder."): v for k, v in gathered.items()}
    if state.is_main_process:
        save_encoder_artifact(
            model.encoder,
            tokenizer,
            output_dir / "model",
            pooling=pooling,
            normalize=normalize,
            query_max_length=encoder.query_max_length,
            passage_max_length=encoder.passage_max_length,
            title_separator=encoder.title_separator,
            recipe=recipe,
            data=data,
            steps=trainer.state.global_step,
            state_dict=state_dict,
        )
        write_json(output_dir / TRAIN_LOG_FILE, {"log_history": trainer.state.log_history})
        if not training.keep_checkpoints:
            shutil.rmtree(checkpoints, ignore_errors=True)
    state.wait_for_everyone()
    dev_loss = [
        [entry["step"], entry["eval_loss"]]
        for entry in trainer.state.log_history
        if "eval_loss" in entry
    ]
    return {
        **result.metrics,
        "global_step": trainer.state.global_step,
        **({"dev_loss": dev_loss} if dev_loss else {}),
    }
