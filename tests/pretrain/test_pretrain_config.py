"""Pre-training recipes: every shipped YAML loads, overrides apply, mistakes name the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcpt.errors import QcptError
from qcpt.pretrain.config import PretrainConfig
from qcpt.pretrain.contexts import ContextSpec
from qcpt.pretrain.training import resolved_symmetric

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("pretrain-*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_recipes_load(path):
    config = PretrainConfig.from_yaml(path)
    ContextSpec.parse(config.data.context)
    assert PretrainConfig.from_yaml(path, {"training.max_steps": 3}).training.max_steps == 3


def test_paper_recipes_hold_the_paper_settings():
    root = CONFIGS[0].parent
    cocondenser = PretrainConfig.from_yaml(root / "pretrain-cocondenser-qc-msmarco-gpu.yaml")
    assert (cocondenser.training.learning_rate, cocondenser.training.max_steps) == (1e-4, 120000)
    assert cocondenser.contrastive.skip_from == 6 and cocondenser.model.pooling == "cls"
    cotmae = PretrainConfig.from_yaml(root / "pretrain-cotmae-qc-msmarco-gpu.yaml")
    assert cotmae.training.batch_size * cotmae.training.gradient_accumulation_steps * 8 == 16384
    assert (cotmae.generative.mask_rate, cotmae.generative.attn_window) == (0.30, 3)


def test_symmetric_defaults_to_span_only_contexts():
    def config(context, symmetric=None):
        return PretrainConfig.from_yaml(None, {"data.passages": "p", "data.context": context,
                                               "generative.symmetric": symmetric})

    assert resolved_symmetric(config("span-random"))
    assert not resolved_symmetric(config("query"))
    assert not resolved_symmetric(config("query:0.5,span:0.5"))
    assert not resolved_symmetric(config("span", symmetric=False))


def test_mistakes_name_the_file_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data: {passages: p}\ncontrastive: {head_layer: 2}\n")
    with pytest.raises(QcptError, match=r"bad.yaml: .*contrastive.head_layer"):
        PretrainConfig.from_yaml(path)
    with pytest.raises(QcptError, match="data"):
        PretrainConfig.from_yaml(None)
