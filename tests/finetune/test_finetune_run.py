"""``qcpt finetune --stages 2`` end to end on a tiny BEIR folder, rerun skip and resume."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from qcpt.cli import _register, app
from qcpt.errors import QcptError
from qcpt.finetune.config import FinetuneConfig
from qcpt.finetune.run import run_finetune

_register()


def recipe_file(tmp_path, dataset, model, **training):
    config = FinetuneConfig.from_yaml(
        None,
        {
            "dataset": str(dataset),
            "encoder.model": str(model),
            "encoder.query_max_length": 8,
            "encoder.passage_max_length": 16,
            "bm25_negatives.depth": 8,
            "bm25_negatives.negatives": 4,
            "mined_negatives.depth": 8,
            "mined_negatives.negatives": 4,
            "training.max_steps": 2,
            "training.batch_size": 2,
            "training.group_size": 3,
            "training.learning_rate": 1e-3,
            "training.logging_steps": 1,
            **{f"training.{k}": v for k, v in training.items()},
        },
    )
    path = tmp_path / "recipe.yaml"
    path.write_text(config.to_yaml())
    return path


def test_two_stages_end_to_end_then_rerun_skips(tiny_beir, tiny_bert_dir, tmp_path, caplog):
    out = tmp_path / "out"
    recipe = recipe_file(tmp_path, tiny_beir, tiny_bert_dir)
    result = CliRunner().invoke(
        app,
        [
            "finetune",
            "--config",
            str(recipe),
            "--output",
            str(out),
            "--stages",
            "2",
            "--zero-shot",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "stage 2" in result.output

    for stage in ("stage1", "stage2"):
        for name in (
            "groups.jsonl",
            "run.trec",
            "metrics.json",
            "mining-run.trec",
            "model/qcpt.json",
            "model/modules.json",
            "model/model.safetensors",
        ):
            assert (out / stage / name).is_file(), f"{stage}/{name}"
        assert not (out / stage / "checkpoints").exists()
        artefact = json.loads((out / stage / "model" / "qcpt.json").read_text())
        assert artefact["steps"] == 2
        assert artefact["recipe"]["init_model"] == str(tiny_bert_dir)  # stage 2 restarts
        assert artefact["data"]["groups"]["sha256"]
        stage_info = json.loads((out / stage / "stage.json").read_text())
        assert {"groups_s", "train_s", "evaluate_s", "total_s"} <= set(stage_info["timings"])
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["results"]) == ["zero-shot", "stage 1", "stage 2"]
    assert "| stage 2 |" in (out / "summary.md").read_text()

    trained = load_file(out / "stage1" / "model" / "model.safetensors")
    initial = load_file(tiny_bert_dir / "model.safetensors")
    name = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(trained[name], initial[name])
    assert torch.equal(trained["pooler.dense.weight"], initial["pooler.dense.weight"])

    before = (out / "stage2" / "metrics.json").stat().st_mtime_ns
    caplog.clear()
    config = FinetuneConfig.from_yaml(recipe, {"evaluation.zero_shot": True})
    with caplog.at_level("INFO"):
        again = run_finetune(config, out, show_progress=False)
    assert again["results"] == summary["results"]
    assert (out / "stage2" / "metrics.json").stat().st_mtime_ns == before
    assert "this finetune run is finished (same recipe and inputs): skipped" in caplog.text


def test_resume_continues_from_the_last_checkpoint(tiny_beir, tiny_bert_dir, tmp_path, caplog):
    out = tmp_path / "out"
    recipe = recipe_file(tmp_path, tiny_beir, tiny_bert_dir, save_steps=1, keep_checkpoints=True)
    config = FinetuneConfig.from_yaml(recipe, {"stages": 1})
    run_finetune(config, out, show_progress=False)
    assert (out / "stage1" / "checkpoints" / "checkpoint-2").is_dir()
    # make it look interrupted after step 1, with one more step to go
    shutil.rmtree(out / "stage1" / "model")
    shutil.rmtree(out / "stage1" / "checkpoints" / "checkpoint-2")
    (out / "stage1" / "metrics.json").unlink()
    caplog.clear()
    with caplog.at_level("INFO"):
        run_finetune(config, out, resume=True, show_progress=False)
    assert "resuming from" in caplog.text and "checkpoint-1" in caplog.text
    artefact = json.loads((out / "stage1" / "model" / "qcpt.json").read_text())
    assert artefact["steps"] == 2


def test_dev_loss_is_recorded_and_another_recipe_is_refused(tiny_beir, tiny_bert_dir, tmp_path):
    out = tmp_path / "out"
    recipe = recipe_file(tmp_path, tiny_beir, tiny_bert_dir, eval_steps=1)
    config = FinetuneConfig.from_yaml(recipe, {"stages": 1, "dev_split": "test"})
    run_finetune(config, out, show_progress=False)
    assert len((out / "dev-groups.jsonl").read_text().splitlines()) == 4
    dev_loss = json.loads((out / "stage1" / "stage.json").read_text())["training"]["dev_loss"]
    assert [step for step, _ in dev_loss] == [1, 2]
    changed = config.model_copy(update={"stage2_init": "stage1"})
    with pytest.raises(QcptError, match="another recipe"):
        run_finetune(changed, out, show_progress=False)


def test_build_train_and_mine_commands(tiny_beir, tiny_bert_dir, tmp_path):
    runner = CliRunner()
    bm25 = tmp_path / "bm25.jsonl"
    result = runner.invoke(
        app,
        [
            "build-train",
            str(tiny_beir),
            "-o",
            str(bm25),
            "--depth",
            "6",
            "--negatives",
            "2",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(bm25.read_text().splitlines()) == 8
    mined = tmp_path / "mined.jsonl"
    result = runner.invoke(
        app,
        [
            "mine",
            str(tiny_beir),
            "-o",
            str(mined),
            "--model",
            str(tiny_bert_dir),
            "--negatives",
            "3",
            "--run",
            str(tmp_path / "run.trec"),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in mined.read_text().splitlines()]
    assert len(lines) == 8 and all(len(line["negative_passages"]) == 3 for line in lines)
    assert (tmp_path / "mined.embeddings" / "manifest.json").is_file()
    assert (tmp_path / "run.trec").is_file()


def test_finished_run_is_skipped_and_a_failed_start_does_not_block(
    tiny_beir, tiny_bert_dir, tmp_path, caplog
):
    out = tmp_path / "out"
    recipe = recipe_file(tmp_path, tiny_beir, tiny_bert_dir)
    bad = FinetuneConfig.from_yaml(recipe, {"stages": 1, "dataset": str(tmp_path / "nowhere")})
    with pytest.raises(QcptError):
        run_finetune(bad, out, show_progress=False)
    config = FinetuneConfig.from_yaml(recipe, {"stages": 1})
    first = run_finetune(config, out, show_progress=False)  # the corrected rerun is accepted
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    with caplog.at_level("INFO"):
        assert run_finetune(config, out, show_progress=False) == first
    assert "skipped" in caplog.text
    changed = config.model_copy(update={"stage2_init": "stage1"})
    with pytest.raises(QcptError, match="stage2_init: 'initial' -> 'stage1'"):
        run_finetune(changed, out, show_progress=False)
    assert run_finetune(changed, out, overwrite=True, show_progress=False)["results"]
