"""Fine-tuning recipes as pydantic models, loadable from YAML with command-line overrides.

Defaults follow the paper's Tevatron recipe (Gao & Callan 2022, coCondenser): lr 2e-5, 3 epochs,
group = 1 positive + 15 negatives, query 32 / passage 144 tokens, [CLS] pooling, dot product.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from qcpt.encoder.spec import EncoderSpec
from qcpt.utils.config import Recipe
from qcpt.utils.config import Section as _Section
from qcpt.utils.trainer_settings import TrainerSettings


class FinetuneEncoderSettings(EncoderSpec):
    """The encoder to start from, how it turns token states into vectors, and text lengths."""

    query_max_length: int = Field(32, gt=0)
    passage_max_length: int = Field(144, gt=0)


class NegativesSettings(_Section):
    """Where hard negatives come from in a ranking: depth, how many are kept, seed."""

    depth: int = Field(200, gt=0, description="ranks searched per query")
    negatives: int = Field(128, gt=0, description="negatives sampled per query")
    skip_top: int = Field(
        0,
        ge=0,
        description="ranks dropped from the top before sampling "
        "(unjudged near-duplicates of the positive are often there)",
    )
    seed: int = 42


class FinetuneTrainingSettings(TrainerSettings):
    """Optimisation of the bi-encoder (one Hugging Face Trainer run per stage)."""

    learning_rate: float = Field(2e-5, gt=0)
    epochs: float = Field(3.0, gt=0)
    batch_size: int = Field(8, gt=0, description="queries per device and step")
    group_size: int = Field(16, ge=1, description="passages per query: 1 positive + negatives")
    temperature: float = Field(
        1.0,
        gt=0,
        description="scores = q.p / temperature; 1 for raw "
        "dot products, ~0.05 for normalised vectors",
    )
    cross_device_negatives: bool = Field(
        True, description="score against the passages of all processes"
    )


class FinetuneEvaluationSettings(_Section):
    """Test-set retrieval after each stage (and of the starting model when zero_shot)."""

    split: str | None = Field(
        "test", description="null: no evaluation (a corpus without qrels, trained on given groups)"
    )
    depth: int = Field(1000, gt=0)
    batch_size: int = Field(64, gt=0)
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    factory: str = "Flat"
    zero_shot: bool = Field(False, description="also evaluate the starting model")


class FinetuneConfig(Recipe):
    """A complete fine-tuning recipe: data, encoder, negatives, training and evaluation."""

    dataset: str = Field(description="dataset folder or name resolved in data_dir")
    data_dir: str | None = None
    train_split: str = "train"
    dev_split: str | None = Field(None, description="qrels split for the dev loss in training")
    train_groups: str | None = Field(
        None,
        description="stage-1 groups file (Tevatron or FlagEmbedding jsonl) used instead "
        "of BM25 negatives",
    )
    stages: Literal[1, 2] = 2
    stage2_init: Literal["initial", "stage1"] = Field(
        "initial",
        description="stage 2 restarts from the starting model (the authors) or "
        "continues from the stage-1 model",
    )
    encoder: FinetuneEncoderSettings = FinetuneEncoderSettings()
    bm25_negatives: NegativesSettings = NegativesSettings(negatives=30)
    mined_negatives: NegativesSettings = NegativesSettings()
    training: FinetuneTrainingSettings = FinetuneTrainingSettings()
    evaluation: FinetuneEvaluationSettings = FinetuneEvaluationSettings()

    kind = "fine-tuning config"
