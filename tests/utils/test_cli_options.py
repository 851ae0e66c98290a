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
