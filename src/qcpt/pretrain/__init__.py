"""Context pre-training of dense retrievers: coCondenser (contrastive) and CoT-MAE (generative),
with span or query context (``qcpt pretrain``)."""

from qcpt.pretrain.config import PretrainConfig
from qcpt.pretrain.contexts import ContextSampler, ContextSpec

__all__ = ["ContextSampler", "ContextSpec", "PretrainConfig", "pretrain"]


def __getattr__(name: str):
    if name == "pretrain":
        from qcpt.pretrain.training import pretrain

        return pretrain
    raise AttributeError(name)
