"""Optimisation settings every training stage shares, as a recipe section.

Kept apart from :mod:`qcpt.utils.training` (which needs torch) so that loading or validating a
recipe, and commands that only read data, do not import torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from qcpt.utils.config import Section


class TrainerSettings(Section):
    """Optimisation settings every training stage shares (one Hugging Face Trainer run)."""

    learning_rate: float = Field(2e-5, gt=0)
    epochs: float = Field(3.0, gt=0)
    max_steps: int = Field(
        -1,
        description="> 0: stop after this many steps (overrides epochs); -1: train for the epochs",
    )
    batch_size: int = Field(8, gt=0, description="examples per device and step")
    gradient_accumulation_steps: int = Field(
        1, gt=0, description="each micro-batch keeps its own in-batch negatives"
    )
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    precision: Literal["fp32", "bf16", "fp16", "auto"] = Field(
        "fp32", description="auto: bf16 autocast where the hardware has native bf16, else fp32"
    )
    gradient_checkpointing: bool = False
    logging_steps: int = Field(10, gt=0)
    save_steps: int = Field(500, gt=0, description="checkpoint every this many steps (resume)")
    save_total_limit: int = Field(2, gt=0)
    eval_steps: int | None = Field(
        None,
        gt=0,
        description="dev loss every this many steps (needs dev data); default save_steps",
    )
    dataloader_num_workers: int = Field(0, ge=0)
    deepspeed: str | None = Field(
        None,
        description="DeepSpeed JSON config file passed to the "
        "Trainer (configs/launch/deepspeed-zero2.json: ZeRO-2, its "
        "'auto' values filled from these settings); needs deepspeed",
    )
    seed: int = 42
    keep_checkpoints: bool = Field(
        False, description="keep Trainer checkpoints of a finished run (they hold optimizer states)"
    )

    @field_validator("max_steps")
    @classmethod
    def _steps_or_epochs(cls, value: int) -> int:
        if value != -1 and value < 1:
            raise ValueError("give a number of steps > 0, or -1 to train for the epochs")
        return value

    @field_validator("deepspeed")
    @classmethod
    def _deepspeed_usable(cls, value: str | None) -> str | None:
        # checked when the recipe loads, not when training starts: a run (or qcpt run's plan)
        # fails before it writes anything or spends hours on the steps before training
        if value is not None:
            read_deepspeed_config(value)
            if not deepspeed_installed():
                raise ValueError(
                    "needs the deepspeed package, which is not installed: "
                    "pip install deepspeed (on a machine with CUDA)"
                )
        return value


def read_deepspeed_config(path: str | Path) -> dict:
    """The DeepSpeed config at ``path`` as a dict; ValueError (one line) unless the file exists
    and holds a JSON object."""
    import json

    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"no such DeepSpeed config file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the DeepSpeed config {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}"
        ) from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a DeepSpeed config is a JSON object")
    return config


def deepspeed_installed() -> bool:
    """Whether the ``deepspeed`` package can be imported (the Trainer needs it for a config)."""
    import importlib.util

    return importlib.util.find_spec("deepspeed") is not None
