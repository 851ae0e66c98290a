"""Context pre-training of dense retrievers: coCondenser (contrastive) and CoT-MAE (generative),
with span or query context (``qcpt pretrain``)."""

from qcpt.utils.lazy import lazy_exports

_EXPORTS = {
    "ContextSampler": ".contexts",
    "ContextSpec": ".contexts",
    "PretrainConfig": ".config",
    "pretrain": ".training",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
