"""Pre-training objectives, one :class:`Objective` each: what model wraps the MLM model, which
loss terms the trainer weighs, what the collator must produce.

Adding an objective is one ``Objective`` and one :func:`register_objective` line; the recipe's
``objective`` then names it. The loss-term protocol the trainer relies on is in
:mod:`qcpt.pretrain.losses`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Objective:
    """``build_model(config, mlm_model, pooling, normalize) -> (model, trainer loss settings)``
    and ``collator_options(config) -> PairCollator keyword arguments`` (masking rate, which
    views to build)."""

    name: str
    build_model: Callable[..., tuple[Any, dict[str, Any]]]
    collator_options: Callable[[Any], dict[str, Any]]


OBJECTIVES: dict[str, Objective] = {}


def register_objective(objective: Objective) -> Objective:
    """Make ``objective`` usable by name in recipes; returns it."""
    OBJECTIVES[objective.name] = objective
    return objective


def _contrastive_model(config, mlm_model, pooling: str, normalize: bool):
    from qcpt.pretrain.condenser import CoCondenserModel, CondenserModel

    settings = config.contrastive
    model = CoCondenserModel(
        CondenserModel(
            mlm_model,
            pooling=pooling,
            normalize=normalize,
            skip_from=settings.skip_from,
            head_layers=settings.head_layers,
            late_mlm=settings.late_mlm,
        )
    )
    weights = {
        **({"head_mlm": settings.mlm_weight} if settings.head_layers else {}),
        **({"mlm": settings.mlm_weight} if settings.late_mlm else {}),
    }
    return model, {
        "term_weights": weights,
        "contrastive_weight": settings.contrastive_weight,
        "temperature": settings.temperature,
        "cross_device_negatives": settings.cross_device_negatives,
        "chunk_size": settings.chunk_size,
    }


def _generative_model(config, mlm_model, pooling: str, normalize: bool):
    from qcpt.pretrain.cotmae import CotMaeModel

    settings = config.generative
    model = CotMaeModel(
        mlm_model,
        pooling=pooling,
        decoder=settings.decoder,
        decoder_layers=settings.decoder_layers,
        attn_window=settings.attn_window,
        symmetric=settings.symmetric,
    )
    return model, {"term_weights": {"mlm": 1.0, "decoder": settings.decoder_weight}}


def _generative_views(config) -> dict[str, Any]:
    settings = config.generative
    return {
        "mask_rate": settings.mask_rate,
        "encode_context": settings.symmetric,
        "decoder": settings.decoder,
        "decoder_mask_rate": settings.decoder_mask_rate,
        "decode_passage": settings.symmetric,
    }


# coCondenser: Condenser head MLM + late MLM + InfoNCE between passage and context
register_objective(
    Objective(
        "contrastive",
        _contrastive_model,
        lambda config: {"mask_rate": config.contrastive.mask_rate, "encode_context": True},
    )
)
# CoT-MAE: masked encoder + a shallow decoder that rebuilds the context
register_objective(Objective("generative", _generative_model, _generative_views))
