"""Pre-training recipes (contrastive coCondenser / generative CoT-MAE) as pydantic models.

Defaults follow the papers where they apply: whole-word masking 15 % (contrastive) or 30 %
(generative encoder), Condenser head of 2 layers on the middle layer, InfoNCE without
temperature, autoregressive decoder of 1 block with a window of 3, lr 1e-4, max length 144.
"""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import Field, field_validator, model_validator

from qcpt.encoder.spec import EncoderSpec
from qcpt.errors import QcptError
from qcpt.utils.config import Recipe, Section, registered
from qcpt.utils.trainer_settings import TrainerSettings

logger = logging.getLogger(__name__)


class DataSettings(Section):
    """Passages to pre-train on and where their contexts come from."""

    passages: str = Field(description="passages jsonl (split-passages), corpus file, or dataset")
    data_dir: str | None = None
    queries: str | None = Field(None, description="generated-queries jsonl (query context)")
    context: str = Field(
        "query",
        description="query | span-random | span-nearby | "
        "span-overlap | span (= span-random) or a weighted mixture such as "
        "'query:0.5,span-random:0.5' (any registered context kind)",
    )
    missing_queries: Literal["drop", "span"] = Field(
        "drop",
        description="a passage without generated queries, when the context uses "
        "queries: drop it (the authors) or give it a span-random context",
    )
    with_title: bool = Field(False, description="prepend the document title to every passage")

    @field_validator("context")
    @classmethod
    def _known_context(cls, value: str) -> str:
        from qcpt.pretrain.contexts import ContextSpec

        try:
            ContextSpec.parse(value)
        except QcptError as error:
            raise ValueError(str(error)) from None
        return value


class ModelSettings(EncoderSpec):
    """The encoder to start from (an MLM head is created when it has none), how its vector is
    read, and text lengths."""

    normalize: bool | None = Field(
        None,
        description="L2-normalise vectors in the contrastive loss; default: the checkpoint's own",
    )
    passage_max_length: int = Field(144, gt=2)
    context_max_length: int = Field(
        144, gt=2, description="contexts are padded per batch, so short queries cost what they are"
    )


class ContrastiveSettings(Section):
    """coCondenser: Condenser head MLM + late MLM + InfoNCE over passages and contexts."""

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data):
        # the key's name before fine-tuning and pre-training shared one: still read, with a note
        if isinstance(data, dict) and "cross_process_negatives" in data:
            data = dict(data)
            if "cross_device_negatives" in data:
                raise ValueError(
                    "give cross_device_negatives only (cross_process_negatives is its old name)"
                )
            logger.warning("contrastive.cross_process_negatives is now cross_device_negatives")
            data["cross_device_negatives"] = data.pop("cross_process_negatives")
        return data

    mask_rate: float = Field(
        0.15,
        ge=0,
        lt=1,
        description="whole-word masking rate (0 with "
        "head_layers 0 and no late MLM: contrastive loss only)",
    )
    skip_from: int | None = Field(
        None, ge=1, description="layer whose token states feed the head; default: half the depth"
    )
    head_layers: int = Field(2, ge=0, description="Condenser head depth; 0: no head")
    late_mlm: bool = Field(True, description="also the backbone's own MLM loss")
    temperature: float = Field(
        1.0,
        gt=0,
        description="scores / temperature; 1 = the authors' "
        "raw dot product, ~0.05 for normalised vectors",
    )
    contrastive_weight: float = Field(1.0, ge=0)
    mlm_weight: float = Field(
        1.0,
        ge=0,
        description="weight of each MLM term (head and late) "
        "against the contrastive term: 1 = the paper's plain sum; the "
        "authors' GradCache code as released adds the MLM terms twice "
        "(2 reproduces it as run)",
    )
    cross_device_negatives: bool = Field(
        True, description="score against the contexts of all processes (as fine-tuning does)"
    )
    chunk_size: int | None = Field(
        None,
        gt=0,
        description="GradCache: pairs per forward chunk "
        "(exact gradients of the whole batch in chunk-sized memory)",
    )


class GenerativeSettings(Section):
    """CoT-MAE: masked encoder + a shallow decoder that reconstructs the context."""

    mask_rate: float = Field(0.30, gt=0, lt=1, description="encoder whole-word masking rate")
    decoder: Literal["autoregressive", "masked"] = "autoregressive"
    decoder_layers: int = Field(1, ge=1)
    attn_window: int = Field(
        3,
        ge=1,
        description="autoregressive: tokens each position sees, "
        "itself included, besides position 0 (the authors' attn_window: "
        "3 = position i sees 0 and i-2 .. i)",
    )
    decoder_mask_rate: float = Field(
        0.45, gt=0, lt=1, description="masked decoder: context masking rate"
    )
    decoder_weight: float = Field(1.0, ge=0)
    symmetric: bool = Field(
        False,
        description="encode both sides and decode each from the "
        "other (original CoT-MAE, configs/pretrain-cotmae-*.yaml); chosen "
        "explicitly, never implied by the context",
    )


class MaskingSettings(Section):
    """How masked positions are chosen and replaced, for every masked view of a run (the rates
    belong to each objective). Defaults: transformers' whole-word collator as it is."""

    count: Literal["bernoulli", "exact"] = Field(
        "bernoulli",
        description="bernoulli: each word masked with probability rate; exact: "
        "max(1, round(rate x words)) words per sequence (BERT's create_pretraining_data)",
    )
    words: Literal["offsets", "wordpiece"] = Field(
        "offsets",
        description="word boundaries: offsets (text without a gap is one word, "
        "transformers' collator) or wordpiece (a token and its ## continuations)",
    )
    replacement: Literal["mask", "bert"] = Field(
        "mask",
        description="mask: every masked token becomes [MASK]; bert: 80 % [MASK], "
        "10 % a random token, 10 % unchanged",
    )

    @property
    def is_default(self) -> bool:
        return (self.count, self.words, self.replacement) == ("bernoulli", "offsets", "mask")


class PretrainTrainingSettings(TrainerSettings):
    """Optimisation of a pre-training run (one Hugging Face Trainer run)."""

    learning_rate: float = Field(1e-4, gt=0)
    epochs: float = Field(1.0, gt=0)
    batch_size: int = Field(32, gt=0, description="passages (pairs) per device and step")
    weight_decay: float = Field(0.01, ge=0)
    logging_steps: int = Field(5, gt=0)
    group_by_length: bool = Field(
        False,
        description="batches of passages of similar length (transformers' LengthGroupedSampler: "
        "shuffled, then sorted by characters within mega-batches of 50 batches): 13-26 % fewer "
        "encoder FLOPs a step on SciFact (benchmarks/results/batch_padding.md); the in-batch "
        "negatives become passages of similar length",
    )


class PretrainConfig(Recipe):
    """A complete pre-training recipe."""

    objective: str = Field(
        "contrastive",
        description="contrastive (coCondenser) | generative "
        "(CoT-MAE) | any registered objective (qcpt.pretrain.objectives)",
    )
    data: DataSettings
    model: ModelSettings = ModelSettings()
    contrastive: ContrastiveSettings = ContrastiveSettings()
    generative: GenerativeSettings = GenerativeSettings()
    masking: MaskingSettings = MaskingSettings()
    training: PretrainTrainingSettings = PretrainTrainingSettings()

    kind = "pre-training config"

    @field_validator("objective")
    @classmethod
    def _known_objective(cls, value: str) -> str:
        from qcpt.pretrain.objectives import OBJECTIVES

        return registered(value, OBJECTIVES, "objective")

    @model_validator(mode="after")
    def _gradcache_without_deepspeed(self) -> PretrainConfig:
        # GradCache calls backward once per chunk: under DeepSpeed, accelerate's backward also
        # steps the engine where gradients sync (once per chunk, not once per step), and the
        # engine divides the loss by the accumulation steps, which GradCache has already done
        if self.contrastive.chunk_size and self.training.deepspeed:
            raise ValueError(
                "contrastive.chunk_size (GradCache) and training.deepspeed do not "
                "go together: GradCache runs its own backward passes, which "
                "DeepSpeed's engine does not support; drop one of them"
            )
        return self
