"""Parts shared by the pre-training models: the MLM model, its backbone and head, fresh layers."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import torch
from torch import nn

from qcpt.errors import QcptError

logger = logging.getLogger(__name__)


def load_mlm_model(path: str | Path):
    """``AutoModelForMaskedLM`` in float32; a checkpoint without an MLM head gets a new one.

    The new head's output projection is tied to the word embeddings (the config's default), so
    only its small transform layer and bias start random.
    """
    from transformers import AutoModelForMaskedLM
    from transformers.utils import logging as hf_logging

    # transformers reports a checkpoint without MLM head as "corrupted" with a table of missing
    # keys; for an encoder-only checkpoint that is expected, so say it once in plain words
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model, info = AutoModelForMaskedLM.from_pretrained(
            str(path), dtype=torch.float32, output_loading_info=True
        )
    except (OSError, ValueError) as error:
        raise QcptError(f"cannot load {str(path)!r} as a masked language model: {error}") from error
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = [key for key in info.get("missing_keys", ()) if not _is_head_key(key)]
    if missing:
        raise QcptError(
            f"{path}: encoder weights missing from the checkpoint: {', '.join(sorted(missing)[:5])}"
        )
    if any(_is_head_key(key) for key in info.get("missing_keys", ())):
        logger.info(
            "%s has no MLM head: created one (its output layer tied to the word embeddings)", path
        )
    return model


def _is_head_key(key: str) -> bool:
    return key.startswith(("cls.", "lm_head."))


def backbone_of(mlm_model) -> nn.Module:
    """The encoder inside an MLM model (``BertModel`` inside ``BertForMaskedLM``)."""
    return mlm_model.base_model


def mlm_head_of(mlm_model) -> nn.Module:
    """The MLM head (token states -> vocabulary logits) of BERT-, RoBERTa-like models."""
    for name in ("cls", "lm_head"):
        head = getattr(mlm_model, name, None)
        if isinstance(head, nn.Module):
            return head
    raise QcptError(
        f"{type(mlm_model).__name__} has no MLM head named cls or lm_head; "
        "qcpt pre-trains BERT-like encoders"
    )


def fresh_layers(mlm_model, count: int) -> nn.ModuleList:
    """``count`` new transformer layers of the backbone's own kind, freshly initialised.

    Copies the backbone's last layer (so any BERT-like architecture works) and re-initialises
    the copies with the model's own initialiser, as the Condenser head and CoT-MAE decoder are.
    """
    layers = backbone_of(mlm_model).encoder.layer
    fresh = nn.ModuleList(copy.deepcopy(layers[-1]) for _ in range(count))
    for module in fresh.modules():
        mlm_model._init_weights(module)
    return fresh


def run_layers(
    layers: nn.ModuleList, hidden: torch.Tensor, attention_mask: torch.Tensor, config
) -> torch.Tensor:
    """Apply bidirectional transformer ``layers`` to ``hidden`` with a (batch, length) padding
    mask, building the attention mask the way the backbone does for its attention kernel."""
    from transformers.masking_utils import create_bidirectional_mask

    mask = create_bidirectional_mask(
        config=config, inputs_embeds=hidden, attention_mask=attention_mask
    )
    for layer in layers:
        output = layer(hidden, mask)
        hidden = output[0] if isinstance(output, tuple) else output
    return hidden
