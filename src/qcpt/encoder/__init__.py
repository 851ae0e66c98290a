"""The encoder core every stage shares: finding checkpoints and the settings they were trained
with, pooling, and the model folder (HF checkpoint + sentence-transformers files + qcpt.json)."""

from qcpt.encoder.artifact import save_encoder_artifact
from qcpt.encoder.checkpoints import (
    DEFAULT_MODEL,
    QCPT_RECIPE_FILE,
    packaged_minilm_path,
    read_model_defaults,
    resolve_model,
)
from qcpt.encoder.pooling import freeze_pooler, pool
from qcpt.encoder.spec import EncoderSpec

__all__ = [
    "DEFAULT_MODEL",
    "EncoderSpec",
    "QCPT_RECIPE_FILE",
    "freeze_pooler",
    "packaged_minilm_path",
    "pool",
    "read_model_defaults",
    "resolve_model",
    "save_encoder_artifact",
]
