"""How a recipe names its encoder: one section that pre-training, fine-tuning and retrieval
extend with their own lengths, and the one rule for the settings a recipe leaves open.

A recipe that leaves ``pooling`` or ``normalize`` unset gets the checkpoint's own (its
sentence-transformers files or the ``qcpt.json`` of a qcpt model folder, see
:func:`qcpt.encoder.read_model_defaults`), else the paper's: [CLS] pooling, raw dot products.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from qcpt.utils.config import Section

PAPER_POOLING = "cls"


class EncoderSpec(Section):
    """The checkpoint a stage starts from and how its token states become one vector."""

    model: str = Field(
        "bert-base-uncased", description="checkpoint folder, Hugging Face id or a qcpt model folder"
    )
    pooling: Literal["cls", "mean"] | None = Field(
        None,
        description="cls or mean; default: the checkpoint's own (sentence-transformers / "
        "qcpt.json), else cls (the paper)",
    )
    normalize: bool | None = Field(
        None, description="L2-normalise vectors; default: the checkpoint's own, else no"
    )
    title_separator: str = Field(" ", description="between a passage's title and text")

    def vector_settings(self, defaults: Mapping[str, Any]) -> tuple[str, bool]:
        """``(pooling, normalize)`` of this spec, each falling back to the checkpoint's recorded
        ``defaults`` (:func:`qcpt.encoder.read_model_defaults`), then to [CLS] and no
        normalisation."""
        pooling = self.pooling or defaults.get("pooling", PAPER_POOLING)
        normalize = (
            self.normalize if self.normalize is not None else bool(defaults.get("normalize", False))
        )
        return pooling, normalize
