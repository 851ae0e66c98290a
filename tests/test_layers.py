"""The import layers of src/qcpt (scripts/check_layers.py): clean today, and violations found."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_checker():
    spec = importlib.util.spec_from_file_location(
        "check_layers", ROOT / "scripts" / "check_layers.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_module_imports_a_higher_layer_or_another_stage():
    violations, _ = load_checker().check(ROOT / "src" / "qcpt")
    assert violations == []


def test_violations_are_found_with_file_and_line(tmp_path):
    package = tmp_path / "qcpt"
    for folder in ("utils", "data", "pretrain", "querygen", "pipeline"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "pretrain" / "dataset.py").write_text(
        "import json\n\n\ndef load():\n    from qcpt.querygen.writer import read_queries\n"
    )
    (package / "utils" / "cli.py").write_text("from ..pipeline import run\n")
    (package / "data" / "ok.py").write_text("from qcpt.utils import io\nfrom . import x\n")
    violations, _ = load_checker().check(package)
    assert len(violations) == 2
    assert any(
        "pretrain/dataset.py:5: stage pretrain imports stage querygen" in v for v in violations
    )
    assert any(
        "utils/cli.py:1: foundation (utils) imports the higher layer pipeline" in v
        for v in violations
    )
