"""Fine-tuning of dense retrievers with hard negatives (Tevatron recipe, two stages).

Groups (built by :mod:`~qcpt.finetune.groups`, read and written by
:mod:`qcpt.data.training_groups`) -> examples (:mod:`~qcpt.finetune.dataset`,
:mod:`~qcpt.finetune.collator`) -> bi-encoder (:mod:`~qcpt.finetune.model`) trained with a
contrastive loss (:mod:`~qcpt.finetune.losses`) by a Hugging Face Trainer
(:mod:`~qcpt.finetune.trainer`, :mod:`~qcpt.finetune.training`); :mod:`~qcpt.finetune.run`
chains BM25-negative and mined-negative stages.
"""

from qcpt.finetune.config import (
    FinetuneConfig,
    FinetuneEncoderSettings,
    FinetuneEvaluationSettings,
    FinetuneTrainingSettings,
    NegativesSettings,
)
from qcpt.finetune.groups import bm25_groups, groups_from_run, mine_groups
from qcpt.finetune.losses import contrastive_loss

__all__ = [
    "FinetuneEncoderSettings",
    "FinetuneEvaluationSettings",
    "FinetuneConfig",
    "NegativesSettings",
    "FinetuneTrainingSettings",
    "bm25_groups",
    "contrastive_loss",
    "groups_from_run",
    "mine_groups",
]
