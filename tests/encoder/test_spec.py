"""One encoder section for every stage, and one rule for the settings a recipe leaves open."""

from __future__ import annotations

import pytest

from qcpt.encoder import EncoderSpec
from qcpt.finetune.config import FinetuneEncoderSettings
from qcpt.pretrain.config import ModelSettings
from qcpt.retrieval import EncoderSettings


@pytest.mark.parametrize(
    ("spec", "defaults", "expected"),
    [
        ({}, {}, ("cls", False)),  # the paper's
        ({}, {"pooling": "mean", "normalize": True}, ("mean", True)),  # the checkpoint's own
        (
            {"pooling": "cls", "normalize": False},
            {"pooling": "mean", "normalize": True},
            ("cls", False),
        ),  # the recipe's wins
        ({"normalize": False}, {"normalize": True}, ("cls", False)),  # False is a setting
    ],
)
def test_unset_settings_fall_back_to_the_checkpoint_then_the_paper(spec, defaults, expected):
    for section in (EncoderSpec, FinetuneEncoderSettings, ModelSettings, EncoderSettings):
        assert section(**spec).vector_settings(defaults) == expected, section


def test_every_stage_names_its_encoder_with_the_same_section():
    for section in (FinetuneEncoderSettings, ModelSettings, EncoderSettings):
        assert issubclass(section, EncoderSpec)
        assert {"model", "pooling", "normalize", "title_separator"} <= set(section.model_fields)
    with pytest.raises(ValueError, match="poling"):
        EncoderSettings(poling="mean")  # a typo is an error here too, as in recipes
