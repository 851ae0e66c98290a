"""One pre-training run: passages + contexts -> an encoder artefact, its logs and loss curves.

Output folder::

    model/             the encoder only (HF checkpoint + tokenizer + sentence-transformers files
                       + qcpt.json with the recipe, data fingerprints and steps)
    checkpoints/       Trainer checkpoints (with head / decoder and optimizer) for --resume
    config.yaml        the recipe as run
    manifest.json      stage, status, settings, input fingerprints, versions, wall time, peak
                       memory, outputs (qcpt.utils.stage: reruns skip, resume or refuse)
    train_log.json     Trainer log history (loss terms per logging step) + run summary
    loss_curves.png    one panel per loss term
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from qcpt.encoder.checkpoints import QCPT_RECIPE_FILE
from qcpt.errors import QcptError
from qcpt.pretrain.config import PretrainConfig
from qcpt.utils.io import write_json
from qcpt.utils.stage import open_stage
from qcpt.utils.training import (
    CHECKPOINTS_DIR,
    checkpoint_to_resume,
    distributed_state,
    training_arguments,
)

logger = logging.getLogger(__name__)

MODEL_DIR = "model"
TRAIN_LOG_FILE = "train_log.json"
CURVES_FILE = "loss_curves.png"


def build_model(config: PretrainConfig, mlm_model, pooling: str, normalize: bool):
    """The objective's model around ``mlm_model`` and the trainer's loss settings."""
    from qcpt.pretrain.objectives import OBJECTIVES

    return OBJECTIVES[config.objective].build_model(config, mlm_model, pooling, normalize)


def build_collator(config: PretrainConfig, tokenizer, seed: int):
    """The :class:`~qcpt.pretrain.collator.PairCollator` the objective needs."""
    from qcpt.pretrain.collator import PairCollator
    from qcpt.pretrain.objectives import OBJECTIVES

    return PairCollator(
        tokenizer,
        passage_max_length=config.model.passage_max_length,
        context_max_length=config.model.context_max_length,
        masking=config.masking,
        seed=seed,
        **OBJECTIVES[config.objective].collator_options(config),
    )


def pretrain(
    config: PretrainConfig,
    output_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool = True,
    callbacks: list | None = None,
) -> dict[str, Any]:
    """Run ``config`` and write the output folder (see the module docstring).

    The folder follows the stage protocol (:mod:`qcpt.utils.stage`): a finished run of the
    same recipe and inputs is skipped (its summary returned), a folder holding another recipe's
    run is refused naming the differences unless ``overwrite``; ``resume`` continues an
    unfinished run from its last Trainer checkpoint. Every process of a distributed run
    (torchrun / accelerate launch) calls this; only the main one writes files. ``callbacks`` are
    extra ``TrainerCallback`` objects (timers, loggers). Returns the run summary (steps,
    runtime, pairs per second, final loss terms, passage counts, where the model is).
    """
    from transformers import AutoTokenizer, set_seed

    from qcpt.encoder import save_encoder_artifact
    from qcpt.encoder.checkpoints import read_model_defaults, resolve_model
    from qcpt.pretrain.curves import plot_loss_curves
    from qcpt.pretrain.dataset import load_pairs_dataset
    from qcpt.pretrain.modeling import backbone_of, load_mlm_model
    from qcpt.pretrain.trainer import PretrainTrainer

    output_dir = Path(output_dir)
    state = distributed_state()
    checkpoints = output_dir / CHECKPOINTS_DIR
    log_file = output_dir / TRAIN_LOG_FILE
    finished = (output_dir / MODEL_DIR / QCPT_RECIPE_FILE).is_file() and log_file.is_file()
    stage = open_stage(
        output_dir,
        "pretrain",
        config,
        finished=finished,
        overwrite=overwrite,
        progress=finished or (checkpoints.is_dir() and any(checkpoints.iterdir())),
        inputs={"data.passages": config.data.passages, "data.queries": config.data.queries},
    )
    state.wait_for_everyone()
    if stage.action == "skip":
        return json.loads(log_file.read_text())["summary"]
    init_model = resolve_model(config.model.model)
    pooling, normalize = config.model.vector_settings(read_model_defaults(init_model))
    dataset = load_pairs_dataset(
        config.data.passages,
        config.data.queries,
        config.data.context,
        seed=config.training.seed,
        with_title=config.data.with_title,
        title_separator=config.model.title_separator,
        data_dir=config.data.data_dir,
        missing_queries=config.data.missing_queries,
    )
    global_batch = (
        config.training.batch_size
        * config.training.gradient_accumulation_steps
        * state.num_processes
    )
    if len(dataset) < global_batch:  # batches are full (drop_last): not one step would run
        raise QcptError(
            f"{config.data.passages}: {len(dataset)} pre-training pairs, fewer than "
            f"one batch of {global_batch}; lower training.batch_size"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(init_model)
    except (OSError, ValueError) as error:  # ValueError: a folder without a tokenizer
        raise QcptError(f"cannot load the tokenizer of {config.model.model!r}: {error}") from None
    # seeded before any layer is created (a missing MLM head, the Condenser head, the decoder):
    # the Trainer seeds only after it is given the model, so a run would not be a function of
    # its recipe and seed
    set_seed(config.training.seed)
    mlm_model = load_mlm_model(init_model)
    stage.start(state.is_main_process)  # the inputs loaded: from here the folder is this run's
    state.wait_for_everyone()
    last_checkpoint = checkpoint_to_resume(checkpoints, resume, state)
    model, loss_settings = build_model(config, mlm_model, pooling, normalize)
    trainer = PretrainTrainer(
        model=model,
        args=training_arguments(config.training, checkpoints, show_progress=show_progress),
        train_dataset=dataset,
        data_collator=build_collator(config, tokenizer, config.training.seed),
        processing_class=tokenizer,
        callbacks=callbacks,
        group_by_length=config.training.group_by_length,
        **loss_settings,
    )
    result = trainer.train(resume_from_checkpoint=last_checkpoint)
    seconds = float(result.metrics.get("train_runtime", 0.0))
    steps = trainer.state.global_step
    summary = {
        "objective": config.objective,
        "context": config.data.context,
        "steps": steps,
        "global_batch": global_batch,
        "train_seconds": round(seconds, 1),
        "pairs_per_second": round(steps * global_batch / seconds, 2) if seconds else None,
        "pooling": pooling,
        "normalize": normalize,
        "init_model": config.model.model,
        "precision": "bf16" if trainer.args.bf16 else "fp16" if trainer.args.fp16 else "fp32",
        "data": dataset.stats,
        "final_losses": {
            k: v
            for k, v in _last_log(trainer.state.log_history).items()
            if k == "loss" or k.startswith("loss_")
        },
        "trainer_metrics": result.metrics,
        "model": str(output_dir / MODEL_DIR),
    }
    if state.is_main_process:
        inputs = stage.manifest["inputs"]  # hashed once, when the stage was opened
        data = {"passages": inputs["data.passages"], "counts": dataset.stats}
        if "data.queries" in inputs:
            data["queries"] = inputs["data.queries"]
        save_encoder_artifact(
            backbone_of(mlm_model),
            tokenizer,
            output_dir / MODEL_DIR,
            pooling=pooling,
            normalize=normalize,
            query_max_length=min(32, config.model.context_max_length),
            passage_max_length=config.model.passage_max_length,
            title_separator=config.model.title_separator,
            recipe={"stage": "pretrain", **config.model_dump(mode="json")},
            data=data,
            steps=steps,
        )
        write_json(log_file, {"summary": summary, "log_history": trainer.state.log_history})
        if any("loss" in entry for entry in trainer.state.log_history):
            plot_loss_curves(
                {f"{config.objective}, {config.data.context}": trainer.state.log_history},
                output_dir / CURVES_FILE,
                title=f"qcpt pretrain ({config.model.model})",
            )
        if not config.training.keep_checkpoints:
            shutil.rmtree(checkpoints, ignore_errors=True)
        stage.finish(
            {"model": MODEL_DIR, "train_log": TRAIN_LOG_FILE, "loss_curves": CURVES_FILE},
            steps=steps,
            train_seconds=summary["train_seconds"],
            data=dataset.stats,
        )
    state.wait_for_everyone()
    return summary


def _last_log(log_history: list[dict]) -> dict:
    for entry in reversed(log_history):
        if "loss" in entry:
            return entry
    return {}
