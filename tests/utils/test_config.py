"""Recipe loading: YAML errors with file, line and column; unknown keys named by their path."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcpt.errors import QcptError
from qcpt.querygen.config import QueryGenConfig

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("querygen-*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_query_generation_recipes_load(path):
    recipe = QueryGenConfig.from_yaml(path)
    assert recipe.generation.num_queries > 0


def test_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("generation:\n  num_queries: 4\n  top_k: [1, 2\n")
    with pytest.raises(QcptError) as error:
        QueryGenConfig.from_yaml(path)
    message = str(error.value)
    assert message.startswith(f"{path}:4:1: not valid YAML") and "\n" not in message


def test_unknown_query_generation_key_is_an_error_naming_its_path(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("generation:\n  num_querys: 4\n")
    with pytest.raises(
        QcptError,
        match=r"typo.yaml: bad query-generation config: "
        r"generation.num_querys: unknown key",
    ):
        QueryGenConfig.from_yaml(path)


@pytest.mark.parametrize("steps", [0, -5])
def test_max_steps_is_positive_or_minus_one(steps):
    from qcpt.pretrain.config import PretrainConfig

    with pytest.raises(QcptError, match=r"training.max_steps: .*steps > 0, or -1"):
        PretrainConfig.from_yaml(None, {"data.passages": "p", "training.max_steps": steps})
    assert PretrainConfig.from_yaml(None, {"data.passages": "p"}).training.max_steps == -1
