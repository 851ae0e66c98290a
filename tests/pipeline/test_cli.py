"""eval-model and demo end to end on a tiny BEIR folder: exit codes, files written, errors."""

import json
import sys

import pytest

from qcpt.cli import main
from qcpt.evaluation import read_run

from ..cli_helpers import invoke


def test_eval_model_writes_run_and_metrics(app, tiny_beir, tiny_bert_dir, tmp_path):
    out = tmp_path / "eval"
    invoke(
        app,
        "eval-model",
        tiny_bert_dir,
        tiny_beir,
        "-o",
        out,
        "--split",
        "train",
        "--measure",
        "nDCG@10",
        "--measure",
        "R@5",
        "-q",
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["aggregate"]) == {"nDCG@10", "R@5"}
    assert metrics["num_queries"] == 8
    assert metrics["system"]["pooling"] == "cls" and metrics["system"]["passage_max_length"] == 144
    assert set(read_run(out / "run.trec")) == {f"q{i}" for i in range(8)}


def test_demo_tables(tiny_beir, tmp_path):
    from qcpt.pipeline.demo import run_demo

    summary = run_demo(tmp_path / "demo", [str(tiny_beir)], precision="fp32")
    systems = summary["tiny-beir"]
    assert set(systems) == {"BM25 (bm25s)", "all-MiniLM-L6-v2 zero-shot"}
    assert systems["BM25 (bm25s)"]["nDCG@10"] == pytest.approx(1.0)
    assert 0.5 < systems["all-MiniLM-L6-v2 zero-shot"]["nDCG@10"] <= 1.0
    markdown = (tmp_path / "demo" / "results.md").read_text()
    assert "| all-MiniLM-L6-v2 zero-shot |" in markdown
    recorded = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert recorded["results"] == summary
    assert recorded["settings"]["tiny-beir"]["all-MiniLM-L6-v2"]["pooling"] == "mean"


def test_bad_input_is_one_line_and_no_output(tiny_beir, tmp_path, monkeypatch, capsys):
    corpus = tiny_beir / "corpus.jsonl"
    lines = corpus.read_text().splitlines()
    lines[1] = '{"_id": "d1", "text": '  # truncated JSON on line 2
    corpus.write_text("\n".join(lines) + "\n")
    run_file = tmp_path / "never.trec"
    monkeypatch.setattr(sys, "argv", ["qcpt", "bm25", str(tiny_beir), "-o", str(run_file), "-q"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{corpus}:2:" in err and "Traceback" not in err
    assert not run_file.exists()


def test_trec_dl_counts_grade_two_as_relevant_by_default():
    from qcpt.data import default_min_relevance

    assert default_min_relevance("trec-dl19-passage") == 2
    assert default_min_relevance("TREC-DL20-passage") == 2
    assert default_min_relevance("scifact") == 1
