"""Shared command-line helpers: the one k/n parser of every sharded command."""

from __future__ import annotations

import pytest

from qcpt.errors import QcptError
from qcpt.utils.cli import parse_part


def test_k_of_n():
    assert parse_part(None) == (0, 1)
    assert parse_part(" 1 / 4 ") == (1, 4)


@pytest.mark.parametrize("spec", ["2/2", "a/b", "1", "-1/2"])
def test_bad_k_of_n_names_the_option(spec):
    with pytest.raises(QcptError, match=r"bad --part .*expected k/n with 0 <= k < n"):
        parse_part(spec, "--part")


def test_recipe_options_take_type_and_help_from_the_recipe_field():
    import typing
    from pathlib import Path

    from qcpt.pretrain.cli import ContextOpt, pretrain_command
    from qcpt.pretrain.config import DataSettings
    from qcpt.utils.cli import RecipeKey, recipe_overrides

    kind, option, key = typing.get_args(ContextOpt)
    assert key == RecipeKey("data.context") and "--context" in (option.default, *option.param_decls)
    assert option.help.startswith("Query | span-random")
    assert "[recipe default: query]" in option.help
    assert DataSettings.model_fields["context"].description.split()[0] in option.help.lower()
    values = {"context": "span", "passages": Path("p.jsonl"), "seed": None, "output": "x"}
    overrides = recipe_overrides(pretrain_command, values)
    assert overrides["data.context"] == "span" and overrides["data.passages"] == "p.jsonl"
    assert overrides["training.seed"] is None and "output" not in overrides
