"""Fine-tuning recipes: YAML, overrides, errors, and the shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcpt.errors import QcptError
from qcpt.finetune.config import FinetuneConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_defaults_are_the_paper_recipe():
    config = FinetuneConfig(dataset="msmarco")
    assert (config.training.learning_rate, config.training.epochs) == (2e-5, 3.0)
    assert config.training.group_size == 16
    assert (config.encoder.query_max_length, config.encoder.passage_max_length) == (32, 144)
    assert config.mined_negatives.depth == 200 and config.stage2_init == "initial"


def test_yaml_with_dotted_overrides(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("dataset: scifact\ntraining:\n  group_size: 8\n  learning_rate: 1.0e-5\n")
    config = FinetuneConfig.from_yaml(
        path, {"training.max_steps": 5, "training.epochs": None, "encoder.model": "m"}
    )
    assert config.training.group_size == 8 and config.training.max_steps == 5
    assert config.training.epochs == 3.0 and config.encoder.model == "m"
    assert FinetuneConfig.from_yaml(None, {"dataset": "x"}).dataset == "x"
    assert FinetuneConfig.model_validate_json(config.model_dump_json()) == config
    path.write_text(config.to_yaml())
    assert FinetuneConfig.from_yaml(path) == config


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("training:\n  group_size: 8\n", "dataset: Field required"),
        ("dataset: x\ntraining:\n  grup_size: 8\n", "training.grup_size"),
        ("dataset: x\nstages: 3\n", "stages"),
        ("- a list\n", "mapping"),
        ("dataset: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_configs_are_one_line_errors(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(QcptError, match=problem):
        FinetuneConfig.from_yaml(path)


@pytest.mark.parametrize("name", ["finetune-scifact-cpu.yaml", "finetune-msmarco-gpu.yaml"])
def test_shipped_recipes_load(name):
    config = FinetuneConfig.from_yaml(CONFIGS / name)
    assert config.stages == 2


def test_scifact_cpu_recipe_keeps_minilm_pooling():
    config = FinetuneConfig.from_yaml(CONFIGS / "finetune-scifact-cpu.yaml")
    assert config.encoder.pooling == "mean" and config.encoder.normalize is True
    assert config.training.temperature < 1 and config.encoder.passage_max_length >= 256
