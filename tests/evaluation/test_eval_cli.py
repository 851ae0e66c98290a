"""``evaluate_command`` through Typer: options, printed table, metrics JSON."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from qcpt.errors import QcptError
from qcpt.evaluation import merge_runs, read_run, reciprocal_rank_fusion
from qcpt.evaluation.cli import evaluate_command

from ..cli_helpers import invoke

app = typer.Typer()
app.command("evaluate")(evaluate_command)


@app.callback()
def _root() -> None:
    """Keeps ``evaluate`` a sub-command, as in the real ``qcpt`` app."""


# BEIR qrels with header. q1: d1=2, d2=1; q2: d3=1; q3: d4=2 (no results).
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\nq2\td3\t1\nq3\td4\t2\n"
# q1 ranks d2 (grade 1) then d1 (grade 2); q2 ranks its self-hit first, then d3.
RUN = "".join(
    [
        "q1 Q0 d2 1 0.9 t\n",
        "q1 Q0 d1 2 0.8 t\n",
        "q2 Q0 q2 1 0.7 t\n",
        "q2 Q0 d3 2 0.6 t\n",
        "q9 Q0 d1 1 0.5 t\n",
    ]
)


@pytest.fixture()
def files(tmp_path):
    qrels = tmp_path / "test.tsv"
    qrels.write_text(QRELS)
    run = tmp_path / "run.trec"
    run.write_text(RUN)
    return qrels, run


def test_evaluate_writes_json(files, tmp_path):
    qrels, run = files
    out = tmp_path / "out" / "metrics.json"
    args = ["evaluate", str(qrels), str(run), "--measure", "RR@10", "--measure", "MAP"]
    args += ["--min-relevance", "2", "--ignore-identical-ids", "--per-query", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    # grade >= 2: q1 has d1 at rank 2 (RR 1/2, AP 1/2); q2 none (0); q3 no results (0).
    assert data["aggregate"] == {
        "RR@10": pytest.approx(1 / 6, abs=1e-6),
        "MAP": pytest.approx(1 / 6, abs=1e-6),
    }
    assert data["per_query"] == {
        "q1": {"RR@10": 0.5, "MAP": 0.5},
        "q2": {"RR@10": 0.0, "MAP": 0.0},
        "q3": {"RR@10": 0.0, "MAP": 0.0},
    }
    assert data["num_queries"] == 3
    assert data["num_queries_without_results"] == 1
    assert data["num_run_queries_not_in_qrels"] == 1
    assert data["settings"]["measures"] == ["RR@10", "MAP"]
    assert data["settings"]["ir_measures"] == {"RR@10": "RR(rel=2)@10", "MAP": "AP(rel=2)"}
    assert data["settings"]["min_relevance"] == 2
    assert data["settings"]["ignore_identical_ids"] is True
    assert data["qrels"] == str(qrels) and data["run"] == str(run)
    assert "RR@10" in result.output and "0.1667" in result.output
    assert "per query" in result.output
    assert [p.name for p in out.parent.iterdir()] == ["metrics.json"]  # no temp file left


def test_evaluate_default_measures(files):
    qrels, run = files
    result = CliRunner().invoke(app, ["evaluate", str(qrels), str(run)])
    assert result.exit_code == 0, result.output
    for name in ("nDCG@10", "RR@10", "R@50", "R@100", "R@1000", "AP"):
        assert name in result.output
    # grade >= 1: RR q1 = 1, q2 = 1/2 (self-hit kept), q3 = 0 -> 0.5
    assert "0.5000" in result.output
    assert "3 queries evaluated, 1 without results" in " ".join(result.output.split())


def test_evaluate_unknown_measure(files):
    qrels, run = files
    result = CliRunner().invoke(app, ["evaluate", str(qrels), str(run), "--measure", "nope@10"])
    assert isinstance(result.exception, QcptError)
    assert "'nope@10'" in str(result.exception)


@pytest.mark.parametrize(("folder", "expected"), [("trec-dl19-passage", 2), ("scifact", 1)])
def test_evaluate_counts_relevance_as_eval_model_does(tmp_path, folder, expected):
    # TREC DL's grade 1 is "related": binary measures count grade >= 2 there, as in eval-model
    qrels = tmp_path / folder / "qrels" / "test.tsv"
    qrels.parent.mkdir(parents=True)
    qrels.write_text(QRELS)
    run = tmp_path / "run.trec"
    run.write_text(RUN)
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(app, ["evaluate", str(qrels), str(run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["settings"]["min_relevance"] == expected


def test_fuse_writes_rrf_or_best_score_runs(tmp_path):
    from qcpt import cli

    cli._register()
    qcpt_app = cli.app
    bm25, dense = tmp_path / "bm25.trec", tmp_path / "dense.trec"
    bm25.write_text("q1 Q0 d1 1 12.5 bm25\nq1 Q0 d2 2 11.0 bm25\nq2 Q0 d3 1 9.0 bm25\n")
    dense.write_text("q1 Q0 d2 1 0.91 dense\nq1 Q0 d4 2 0.80 dense\nq2 Q0 d3 1 0.70 dense\n")
    runs = [read_run(bm25), read_run(dense)]

    invoke(qcpt_app, "fuse", bm25, dense, "-o", tmp_path / "rrf.trec", "--depth", "2")
    fused = read_run(tmp_path / "rrf.trec")
    assert fused == reciprocal_rank_fusion(runs, depth=2)
    assert list(fused["q1"]) == ["d2", "d1"]  # d2: 1/62 + 1/61 beats d1's 1/61 alone
    assert fused["q1"]["d2"] == pytest.approx(1 / 62 + 1 / 61)

    invoke(qcpt_app, "fuse", bm25, dense, "--method", "max", "-o", tmp_path / "max.trec")
    assert read_run(tmp_path / "max.trec") == merge_runs(runs)
    assert (tmp_path / "max.trec").read_text().split("\n")[0].endswith(" fused")
