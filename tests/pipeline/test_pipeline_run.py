"""``qcpt run`` end to end on a tiny experiment: every step kind, a shared step, the report,
then reruns that skip, resume, and redo only a changed step and its dependants."""

from __future__ import annotations

import json

import pytest

from qcpt.errors import QcptError
from qcpt.pipeline import steps as step_kinds
from qcpt.pipeline.experiment import load_experiment
from qcpt.pipeline.plan import STEP_FILE, build_plan
from qcpt.pipeline.runner import run_experiment
from tests.cli_helpers import invoke


@pytest.fixture()
def finished_run(tiny_experiment, tmp_path):
    output = tmp_path / "out"
    report = run_experiment(load_experiment(tiny_experiment), output, quiet=True)
    return tiny_experiment, output, report


def test_tiny_matrix_runs_end_to_end_and_its_report_renders(finished_run):
    recipe, output, report = finished_run
    plan = build_plan(load_experiment(recipe), output)
    assert all(step.action == "skip" for step in plan.steps)
    # the label-free system pre-trains with qc's recipe and seed: one step serves both
    shared = plan.step("pretrain/qc-seed1")
    assert shared.systems == ["qc", "label-free"]
    assert not any(s.id.startswith("pretrain/label-free") for s in plan.steps)
    assert {s.kind for s in plan.steps} == {
        "queries",
        "evaluate-bm25",
        "evaluate-dense",
        "finetune",
        "pretrain",
        "label-free-groups",
        "fuse",
    }

    folder = output / "report"
    for name in ("metrics.png", "pretrain_loss.png", "finetune_loss.png", "step_time.png"):
        assert (folder / name).stat().st_size > 1000, name
    summary = json.loads((folder / "report.json").read_text())
    rows = summary["systems"]
    assert set(rows) == {
        "bm25",
        "zero-shot",
        "ft-only",
        "span",
        "qc",
        "cotmae-qc",
        "label-free",
        "hybrid",
    }
    assert rows["qc"]["seeds"] == [1, 2] and rows["qc"]["seed_sd"] is not None
    assert rows["bm25"]["seeds"] == [1] and rows["bm25"]["seed_sd"] is None
    low, high = rows["qc"]["ci"]
    assert low <= rows["qc"]["mean"]["nDCG@10"] <= high
    (context,) = summary["query_vs_span"]
    assert set(context["per_seed_difference"]) == {"1", "2"}
    assert {t["system"] for t in summary["versus_baseline"]} == set(rows) - {"ft-only"}
    assert all(0 <= t["p_adjusted"] <= 1 for t in summary["versus_baseline"])
    assert len(summary["pretraining"]) == 5  # span x2, qc x2, cotmae-qc
    costs = {c["step"]: c for c in summary["steps"]}
    assert all(
        c["status"] == "complete" and c["wall_seconds"] is not None and c["peak_rss_mib"] > 0
        for c in costs.values()
    )

    markdown = (folder / "report.md").read_text()
    assert markdown == report["markdown"]
    assert "| qc | 2 |" in markdown and "Benjamini-Hochberg" in markdown
    assert f"{rows['qc']['mean']['nDCG@10']:.4f}" in markdown
    # the label-free groups come from generated queries only: one per passage, no qrels ids
    groups = (output / "label-free/label-free-seed1/groups.jsonl").read_text().splitlines()
    assert len(groups) == 12
    assert all(json.loads(g)["query_id"].endswith("-q0") for g in groups)


def test_rerun_skips_everything(finished_run, monkeypatch):
    recipe, output, _ = finished_run
    monkeypatch.setattr(step_kinds, "RUNNERS", {})  # any step that runs fails with KeyError
    report = run_experiment(load_experiment(recipe), output, quiet=True)
    assert report["systems"]["qc"]["mean"]


def test_changed_setting_redoes_only_that_step_and_its_dependants(finished_run):
    recipe, output, _ = finished_run
    plan = build_plan(
        load_experiment(recipe, {"systems.5.overrides": {"generative.decoder_layers": 2}}), output
    )
    actions = {step.id: step.action for step in plan.steps}
    assert actions.pop("pretrain/cotmae-qc-seed1") == "redo"
    assert actions.pop("finetune/cotmae-qc-seed1") == "redo"
    assert set(actions.values()) == {"skip"}
    assert (
        "settings changed: config.generative.decoder_layers: 1 -> 2"
        in plan.step("pretrain/cotmae-qc-seed1").reason
    )
    assert (
        plan.step("finetune/cotmae-qc-seed1").reason
        == "input step pretrain/cotmae-qc-seed1 changed"
    )

    # the fine-tuning recipe reaches every fine-tuned system and the hybrid that fuses one,
    # not BM25, zero-shot, the generation, pre-training or the label-free groups
    plan = build_plan(
        load_experiment(recipe, {"finetuning.overrides": {"training.learning_rate": 5e-4}}), output
    )
    redone = {s.id for s in plan.steps if s.action == "redo"}
    assert redone == {s.id for s in plan.steps if s.kind in ("finetune", "fuse")}


def test_an_interrupted_step_resumes(finished_run):
    recipe, output, _ = finished_run
    record_path = output / "finetune/ft-only-seed1" / STEP_FILE
    record = json.loads(record_path.read_text())
    record["status"] = "running"
    record_path.write_text(json.dumps(record))
    (output / "finetune/ft-only-seed1/summary.json").unlink()  # the stage had not finished
    plan = build_plan(load_experiment(recipe), output)
    assert plan.step("finetune/ft-only-seed1").action == "resume"
    assert [s.id for s in plan.to_run] == ["finetune/ft-only-seed1"]
    run_experiment(load_experiment(recipe), output, quiet=True)
    record = json.loads(record_path.read_text())
    assert record["status"] == "complete" and record["attempts"] == 2
    assert (output / "finetune/ft-only-seed1/summary.json").is_file()


def test_dry_run_prints_the_plan_and_writes_nothing(app, tiny_experiment, tmp_path):
    output = tmp_path / "planned"
    result = invoke(app, "run", str(tiny_experiment), "-o", str(output), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "18 of 18 steps to run" in result.output
    assert "run    pretrain/qc-seed1" in result.output
    assert "[qc, label-free]" in result.output
    assert not output.exists()


def test_a_failing_step_in_its_own_process_is_named(tiny_experiment, tmp_path):
    experiment = load_experiment(
        tiny_experiment,
        {
            "executor": "subprocess",
            "model": str(tmp_path / "no-model"),
            "systems": [{"name": "zero-shot", "kind": "zero-shot"}],
            "baseline": "zero-shot",
            "comparisons": [],
        },
    )
    with pytest.raises(QcptError, match=r"step evaluate/zero-shot failed \(exit 2\)"):
        run_experiment(experiment, tmp_path / "out", quiet=True)
    record = json.loads((tmp_path / "out/evaluate/zero-shot" / STEP_FILE).read_text())
    assert record["status"] == "running"  # a rerun resumes it


def test_a_missing_dataset_stops_before_any_step(tiny_experiment, tmp_path):
    experiment = load_experiment(tiny_experiment, {"dataset": str(tmp_path / "gone")})
    with pytest.raises(QcptError, match="gone"):
        run_experiment(experiment, tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


def test_report_only_prints_whole_rows_in_a_narrow_terminal(finished_run):
    import io

    from rich.console import Console

    recipe, output, report = finished_run
    buffer = io.StringIO()
    run_experiment(
        load_experiment(recipe), output, report_only=True, console=Console(file=buffer, width=40)
    )
    printed = buffer.getvalue().splitlines()
    row = next(line for line in report["markdown"].splitlines() if line.startswith("| qc |"))
    assert row in printed  # one line, every number whole
    assert all("…" not in line for line in printed)


def test_recipes_in_another_place_are_the_same_steps(finished_run, tmp_path):
    """A second clone of the repository (its recorded queries file elsewhere, same content)
    reuses every finished step."""
    import shutil

    recipe, output, _ = finished_run
    moved = shutil.copytree(recipe.parent, tmp_path / "another-clone")
    plan = build_plan(load_experiment(moved / recipe.name), output)
    assert [s.id for s in plan.to_run] == []
    (moved / "queries.jsonl").write_text(
        (moved / "queries.jsonl").read_text().replace('"queries": ["', '"queries": ["x ')
    )
    plan = build_plan(load_experiment(moved / recipe.name), output)
    assert plan.step("queries").action == "redo"  # other content is another step
