"""Experiment recipes: every mistake is one line naming the file and the key, before any step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qcpt.errors import QcptError
from qcpt.pipeline.experiment import load_experiment
from qcpt.pipeline.plan import build_plan

REPO = Path(__file__).resolve().parents[2]


def edited(path: Path, change) -> Path:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["systems"][1].update(kindd="x"), r"systems\.1\.kindd: unknown key"),
        (lambda d: d["systems"][1].update(kind="dense"), r"systems\.1\.kind: Input should be"),
        (lambda d: d.update(colour="red"), r"colour: unknown key"),
        (
            lambda d: d["systems"].append({"name": "bm25", "kind": "bm25"}),
            "systems named twice: bm25",
        ),
        (lambda d: d.update(baseline="nope"), "baseline: unknown system 'nope'"),
        (
            lambda d: d["comparisons"].append({"query": "qc", "span": "spam"}),
            "comparison qc vs spam: unknown system 'spam'",
        ),
        (lambda d: d["systems"][3].pop("pretrain"), "needs pretrain"),
        (lambda d: d["systems"][7].update(fuse=["bm25", "ghost"]), "fuses unknown system 'ghost'"),
        (lambda d: d["systems"][7].update(fuse=["bm25"]), "fuses at least 2 systems"),
        (lambda d: d.pop("queries"), "pre-training systems need the queries section"),
        (lambda d: d["systems"][0].update(name="Has Space"), r"systems\.0\.name: String should"),
        (lambda d: d["pretraining"].update(max_steps=0), r"pretraining\.max_steps"),
    ],
)
def test_invalid_recipes_are_refused_naming_the_key(tiny_experiment, change, message):
    edited(tiny_experiment, change)
    with pytest.raises(QcptError, match=message) as error:
        load_experiment(tiny_experiment)
    assert str(error.value).startswith(f"{tiny_experiment}: ") or "experiment.yaml" in str(
        error.value
    )


def test_missing_stage_recipe_is_named_with_its_key(tiny_experiment):
    edited(tiny_experiment, lambda d: d["systems"][3].update(pretrain="nowhere.yaml"))
    with pytest.raises(QcptError, match=r"systems\.3\.pretrain: no such file 'nowhere.yaml'"):
        load_experiment(tiny_experiment)


def test_bad_stage_override_fails_at_planning_naming_the_stage_recipe(tiny_experiment, tmp_path):
    edited(tiny_experiment, lambda d: d["systems"][3].update(overrides={"data.contxt": "q"}))
    experiment = load_experiment(tiny_experiment)
    with pytest.raises(QcptError, match=r"pretrain-contrastive\.yaml: .*data\.contxt: unknown"):
        build_plan(experiment, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_command_line_errors_are_one_line_with_exit_2(tiny_experiment, tmp_path):
    edited(tiny_experiment, lambda d: d.update(baseline="nope"))
    for args, expected in (
        (
            [tiny_experiment, "--dry-run"],
            f"error: {tiny_experiment}: bad experiment recipe: baseline: unknown system 'nope'",
        ),
        ([tmp_path / "none.yaml"], "no such config file"),
        ([tiny_experiment, "--set", "novalue"], "--set 'novalue': expected KEY=VALUE"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "qcpt", "run", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert expected in lines[0], lines[0]
    assert not (tmp_path / "outputs").exists()


def test_set_overrides_reach_list_items(tiny_experiment):
    experiment = load_experiment(
        tiny_experiment, {"systems.4.seeds": [7, 8, 9], "pretraining.max_steps": 5}
    )
    assert experiment.system("qc").seeds == [7, 8, 9]
    assert experiment.pretraining.max_steps == 5
    with pytest.raises(QcptError, match=r"systems\.40\.seeds: '40' is not an index"):
        load_experiment(tiny_experiment, {"systems.40.seeds": [1]})


@pytest.mark.parametrize("recipe", sorted((REPO / "configs").glob("run-*.yaml")))
def test_shipped_experiment_recipes_plan(recipe, tmp_path, monkeypatch):
    """Every configs/run-*.yaml loads, and its stage recipes and overrides validate."""
    experiment = load_experiment(recipe)
    plan = build_plan(experiment, tmp_path / "out")
    assert plan.steps and plan.results
    pretraining = [s.settings["config"] for s in plan.steps if s.kind == "pretrain"]
    # every pre-training row: the same budget, start model and passages
    for key in ("max_steps", "batch_size", "learning_rate", "warmup_ratio"):
        assert len({c["training"][key] for c in pretraining}) <= 1, key
    assert len({c["data"]["passages"] for c in pretraining}) <= 1
    assert len({c["model"]["model"] for c in pretraining}) <= 1
