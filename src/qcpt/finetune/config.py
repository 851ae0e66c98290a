"""Fine-tuning recipes as pydantic models, loadable from YAML with command-line overrides.

Defaults follow the paper's Tevatron recipe (Gao & Callan 2022, coCondenser): lr 2e-5, 3 epochs,
group = 1 positive + 15 negatives, query 32 / passage 144 tokens, [CLS] pooling, dot product.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qcpt.errors import QcptError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EncoderConfig(_Section):
    """The encoder to start from and how it turns token states into vectors."""

    model: str = Field("bert-base-uncased", description="checkpoint folder or Hugging Face id")
    pooling: Literal["cls", "mean"] | None = Field(
        None, description="default: the checkpoint's own (sentence-transformers / qcpt.json), "
        "else cls (the paper)")
    normalize: bool | None = Field(None, description="L2-normalise; default: the checkpoint's own")
    query_max_length: int = Field(32, gt=0)
    passage_max_length: int = Field(144, gt=0)
    title_separator: str = Field(" ", description="between a passage's title and text")


class NegativesConfig(_Section):
    """Where hard negatives come from in a ranking: depth, how many are kept, seed."""

    depth: int = Field(200, gt=0, description="ranks searched per query")
    negatives: int = Field(128, gt=0, description="negatives sampled per query")
    skip_top: int = Field(0, ge=0, description="ranks dropped from the top before sampling "
                          "(unjudged near-duplicates of the positive are often there)")
    seed: int = 42


class TrainingConfig(_Section):
    """Optimisation of the bi-encoder (one Hugging Face Trainer run per stage)."""

    learning_rate: float = Field(2e-5, gt=0)
    epochs: float = Field(3.0, gt=0)
    max_steps: int = Field(-1, description="> 0: stop after this many steps (overrides epochs)")
    batch_size: int = Field(8, gt=0, description="queries per device and step")
    gradient_accumulation_steps: int = Field(1, gt=0, description="each micro-batch keeps its "
                                             "own in-batch negatives")
    group_size: int = Field(16, ge=1, description="passages per query: 1 positive + negatives")
    temperature: float = Field(1.0, gt=0, description="scores = q.p / temperature; 1 for raw "
                               "dot products, ~0.05 for normalised vectors")
    cross_device_negatives: bool = Field(True, description="score against the passages of all "
                                         "processes")
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    gradient_checkpointing: bool = False
    logging_steps: int = Field(10, gt=0)
    save_steps: int = Field(500, gt=0, description="checkpoint every this many steps (resume)")
    save_total_limit: int = Field(2, gt=0)
    eval_steps: int | None = Field(None, gt=0, description="dev loss every this many steps "
                                   "(needs dev_split); default save_steps")
    dataloader_num_workers: int = Field(0, ge=0)
    deepspeed: str | None = Field(None, description="DeepSpeed JSON config file")
    seed: int = 42
    keep_checkpoints: bool = Field(False, description="keep Trainer checkpoints of a finished "
                                   "stage (they hold optimizer states)")


class EvaluationConfig(_Section):
    """Test-set retrieval after each stage (and of the starting model when zero_shot)."""

    split: str = "test"
    depth: int = Field(1000, gt=0)
    batch_size: int = Field(64, gt=0)
    precision: Literal["fp32", "bf16"] = "fp32"
    factory: str = "Flat"
    zero_shot: bool = Field(False, description="also evaluate the starting model")


class FinetuneConfig(_Section):
    """A complete fine-tuning recipe: data, encoder, negatives, training and evaluation."""

    dataset: str = Field(description="dataset folder or name resolved in data_dir")
    data_dir: str | None = None
    train_split: str = "train"
    dev_split: str | None = Field(None, description="qrels split for the dev loss in training")
    train_groups: str | None = Field(
        None, description="stage-1 groups file (Tevatron or FlagEmbedding jsonl) used instead "
        "of BM25 negatives")
    stages: Literal[1, 2] = 2
    stage2_init: Literal["initial", "stage1"] = Field(
        "initial", description="stage 2 restarts from the starting model (the authors) or "
        "continues from the stage-1 model")
    encoder: EncoderConfig = EncoderConfig()
    bm25_negatives: NegativesConfig = NegativesConfig(negatives=30)
    mined_negatives: NegativesConfig = NegativesConfig()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()

    @classmethod
    def from_yaml(cls, path: str | Path | None, overrides: dict[str, Any] | None = None
                  ) -> FinetuneConfig:
        """Load a YAML recipe (or none) and apply ``overrides`` given as dotted keys.

        ``{"training.max_steps": 10, "encoder.model": "x"}`` sets nested fields; ``None`` values
        are ignored, so unset command-line options keep the recipe's values.
        """
        data: dict[str, Any] = {}
        if path is not None:
            path = Path(path)
            if not path.is_file():
                raise QcptError(f"{path}: no such config file")
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as error:
                raise QcptError(f"{path}: not valid YAML: {error}") from error
            if not isinstance(data, dict):
                raise QcptError(f"{path}: a config is a mapping of sections")
        for dotted, value in (overrides or {}).items():
            if value is None:
                continue
            *parents, leaf = dotted.split(".")
            node = data
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = value
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in error.errors())
            where = f"{path}: " if path is not None else ""
            raise QcptError(f"{where}bad fine-tuning config: {problems}") from error

    def to_yaml(self) -> str:
        """The recipe as YAML (what ``from_yaml`` reads back)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)
