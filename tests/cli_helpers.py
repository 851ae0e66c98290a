"""Running the real ``qcpt`` app in tests (the ``app`` fixture is in conftest.py)."""

from __future__ import annotations

from typer.testing import CliRunner

runner = CliRunner()


def invoke(app, *args):
    """Run ``qcpt ARGS`` in-process and return the result; fails the test on a non-zero exit."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result
