"""``qcpt`` as a user runs it: a usage mistake is one line on stderr and exit 2, no traceback;
QCPT_DEBUG=1 shows the traceback for bug reports."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CASES = [
    (["bm25"], "qcpt bm25: Missing argument 'dataset'"),
    (["bm25x"], "No such command 'bm25x'"),
    (["bm25", "scifact", "-o", "x.trec", "--depth", "0"], "'--depth'"),
    (["encode", "scifact", "-o", "emb", "--batch-size", "0"], "'--batch-size'"),
    (["bm25", "--nope"], "No such option: --nope"),
    (["evaluate", "missing-qrels.tsv", "missing.trec"], "missing-qrels.tsv"),
]


def qcpt(args, tmp_path, **env):
    return subprocess.run(
        [sys.executable, "-m", "qcpt", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
    )


@pytest.mark.parametrize(("args", "expected"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_usage_mistakes_are_one_line_and_exit_2(tmp_path, args, expected):
    result = qcpt(args, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())


def test_debug_shows_the_traceback(tmp_path):
    result = qcpt(["bm25x"], tmp_path, QCPT_DEBUG="1")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_output_path_problems_are_one_line(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "q.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\n")
    (inputs / "r.trec").write_text("q1 Q0 d1 1 0.9 t\n")
    work = tmp_path / "work"
    work.mkdir()
    for args, expected in (
        (["evaluate", inputs / "q.tsv", inputs / "r.trec", "-o", inputs], "is a folder"),
        (["evaluate", inputs / "q.tsv", inputs], "Is a directory"),
        (
            ["evaluate", inputs / "q.tsv", inputs / "r.trec", "-o", inputs / "q.tsv" / "m.json"],
            "q.tsv",
        ),
    ):
        result = qcpt([str(a) for a in args], work)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert expected in lines[0] and "Traceback" not in result.stderr


def test_help_and_data_commands_do_not_import_the_heavy_libraries(tiny_beir):
    # torch alone is ~2 s and ~200 MiB a process: only commands that encode or train load it
    probe = (
        "import sys; from qcpt.cli import _register, app; _register(); "
        f"app(['data', 'stats', {str(tiny_beir)!r}], standalone_mode=False); "
        "print(sorted(m for m in ('torch', 'transformers', 'faiss', 'bm25s') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
