"""``qcpt data stats`` through typer's test runner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from qcpt.data.cli import data_app
from qcpt.errors import DatasetNotFoundError

from .helpers import write_beir


def test_stats_by_name_writes_json(tmp_path):
    write_beir(tmp_path / "data" / "tiny")
    out = tmp_path / "out" / "stats.json"
    result = CliRunner().invoke(
        data_app, ["stats", "tiny", "--data-dir", str(tmp_path / "data"), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "judged docs in corpus" in result.output
    stats = json.loads(out.read_text())
    assert stats["documents"] == 4
    assert stats["splits"]["test"]["qrels_rows"] == 5
    assert [path.name for path in out.parent.iterdir()] == ["stats.json"]  # no temporary left


def test_stats_of_unknown_dataset_raises_a_user_error(tmp_path):
    result = CliRunner().invoke(data_app, ["stats", "nothing", "--data-dir", str(tmp_path)])
    assert isinstance(result.exception, DatasetNotFoundError)
    assert "put corpus.jsonl, queries.jsonl and qrels/test.tsv in" in str(result.exception)
