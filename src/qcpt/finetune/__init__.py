"""Fine-tuning of dense retrievers with hard negatives (Tevatron recipe, two stages).

Groups (built by :mod:`~qcpt.finetune.groups`, read and written by
:mod:`qcpt.data.training_groups`) -> examples (:mod:`~qcpt.finetune.dataset`,
:mod:`~qcpt.finetune.collator`) -> bi-encoder (:mod:`~qcpt.finetune.model`) trained with a
contrastive loss (:mod:`~qcpt.finetune.losses`) by a Hugging Face Trainer
(:mod:`~qcpt.finetune.trainer`, :mod:`~qcpt.finetune.training`); :mod:`~qcpt.finetune.run`
chains BM25-negative and mined-negative stages.
"""

from qcpt.utils.lazy import lazy_exports

_EXPORTS = {
    "FinetuneConfig": ".config",
    "FinetuneEncoderSettings": ".config",
    "FinetuneEvaluationSettings": ".config",
    "FinetuneTrainingSettings": ".config",
    "NegativesSettings": ".config",
    "bm25_groups": ".groups",
    "contrastive_loss": ".losses",
    "groups_from_run": ".groups",
    "mine_groups": ".groups",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
