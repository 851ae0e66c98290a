"""``qcpt pretrain`` end to end with a tiny BERT: artefact, logs, curves, resume, bad input."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from qcpt.cli import _register, app
from qcpt.errors import QcptError
from qcpt.pretrain.config import PretrainConfig
from qcpt.pretrain.training import pretrain

_register()

TINY = {
    "model.passage_max_length": 16,
    "model.context_max_length": 16,
    "training.max_steps": 2,
    "training.batch_size": 4,
    "training.logging_steps": 1,
    "training.learning_rate": 1e-3,
}


def config(passages, queries, model, **overrides):
    return PretrainConfig.from_yaml(
        None,
        {
            "data.passages": str(passages),
            "data.queries": str(queries),
            "model.model": str(model),
            **TINY,
            **overrides,
        },
    )


def test_contrastive_query_context_from_the_command_line(pairs_files, tiny_bert_dir, tmp_path):
    passages, queries = pairs_files
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(config(passages, queries, tiny_bert_dir).to_yaml())
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "pretrain",
            "-c",
            str(recipe),
            "-o",
            str(out),
            "--objective",
            "contrastive",
            "--context",
            "query",
            "--chunk-size",
            "2",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    log = json.loads((out / "train_log.json").read_text())
    assert log["summary"]["steps"] == 2
    assert {"loss_contrastive", "loss_head_mlm", "loss_mlm"} <= set(log["log_history"][0])
    assert (out / "loss_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "checkpoints").exists()
    recipe_back = PretrainConfig.from_yaml(out / "config.yaml")
    assert recipe_back.contrastive.chunk_size == 2

    artefact = out / "model"
    saved = json.loads((artefact / "qcpt.json").read_text())
    assert saved["encoder"]["pooling"] == "cls" and saved["steps"] == 2
    assert saved["recipe"]["objective"] == "contrastive"
    assert saved["data"]["queries"]["sha256"]
    before = load_file(tiny_bert_dir / "model.safetensors")
    after = load_file(artefact / "model.safetensors")
    name = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(before[name], after[name])  # the encoder was trained
    assert not any(k.startswith("cls.") for k in after)  # heads are not saved

    import numpy as np
    from sentence_transformers import SentenceTransformer

    from qcpt.retrieval import DenseEncoder, EncoderSettings

    ours = DenseEncoder(EncoderSettings(model=str(artefact)))
    theirs = SentenceTransformer(str(artefact), device="cpu")
    text = ["cells protein gene"]
    np.testing.assert_allclose(
        ours.encode_texts(text, max_length=16), theirs.encode(text), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("decoder", ["autoregressive", "masked"])
def test_generative_span_context_symmetric(pairs_files, tiny_bert_dir, tmp_path, decoder):
    passages, queries = pairs_files
    recipe = config(
        passages,
        queries,
        tiny_bert_dir,
        **{
            "objective": "generative",
            "data.context": "span",
            "generative.decoder": decoder,
            "generative.symmetric": True,
        },
    )
    summary = pretrain(recipe, tmp_path / "run", show_progress=False)
    assert summary["steps"] == 2
    assert {"loss_mlm", "loss_decoder"} <= set(summary["final_losses"])
    saved = json.loads((tmp_path / "run" / "model" / "qcpt.json").read_text())
    assert saved["recipe"]["generative"]["decoder"] == decoder


def test_resume_continues_from_the_last_checkpoint(pairs_files, tiny_bert_dir, tmp_path, caplog):
    passages, queries = pairs_files
    recipe = config(
        passages,
        queries,
        tiny_bert_dir,
        **{"training.save_steps": 1, "training.keep_checkpoints": True},
    )
    out = tmp_path / "run"
    pretrain(recipe, out, show_progress=False)
    first = load_file(out / "model" / "model.safetensors")
    shutil.rmtree(out / "model")
    shutil.rmtree(out / "checkpoints" / "checkpoint-2")
    with caplog.at_level("INFO"):
        summary = pretrain(recipe, out, resume=True, show_progress=False)
    assert "resuming from" in caplog.text and "checkpoint-1" in caplog.text
    assert summary["steps"] == 2
    again = load_file(out / "model" / "model.safetensors")
    name = "encoder.layer.1.output.dense.weight"
    torch.testing.assert_close(again[name], first[name], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--context", "title"], "unknown context kind"),
        (["--objective", "other"], "objective"),
        (["--context", "query"], "needs generated queries"),
    ],
)
def test_bad_input_is_a_clear_error(pairs_files, tiny_bert_dir, tmp_path, args, message):
    passages, _ = pairs_files
    result = CliRunner().invoke(
        app,
        [
            "pretrain",
            "-o",
            str(tmp_path / "run"),
            "--passages",
            str(passages),
            "--model",
            str(tiny_bert_dir),
            *args,
        ],
    )
    assert isinstance(result.exception, QcptError)  # main() prints it as one line, exit 2
    assert message in str(result.exception)
    assert not (tmp_path / "run" / "model").exists()


def test_contrastive_only_has_no_masking_and_no_mlm_terms(pairs_files, tiny_bert_dir, tmp_path):
    passages, queries = pairs_files
    recipe = config(
        passages,
        queries,
        tiny_bert_dir,
        **{
            "contrastive.head_layers": 0,
            "contrastive.late_mlm": False,
            "contrastive.mask_rate": 0.0,
            "contrastive.temperature": 0.05,
        },
    )
    summary = pretrain(recipe, tmp_path / "run", show_progress=False)
    assert set(summary["final_losses"]) == {"loss", "loss_contrastive"}


@pytest.mark.parametrize("objective", ["contrastive", "generative"])
def test_two_runs_of_one_recipe_and_seed_are_bit_identical(
    pairs_files, tiny_bert_dir, tmp_path, objective
):
    # tiny_bert_dir has no MLM head: the head (and the Condenser head / decoder) start random,
    # so this fails unless every random layer is created after seeding
    passages, queries = pairs_files
    recipe = config(passages, queries, tiny_bert_dir, objective=objective, **{"training.seed": 3})
    runs = [pretrain(recipe, tmp_path / f"run{i}", show_progress=False) for i in range(2)]
    first, second = (
        load_file(tmp_path / f"run{i}" / "model" / "model.safetensors") for i in range(2)
    )
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name
    assert runs[0]["final_losses"] == runs[1]["final_losses"]
    logs = [
        json.loads((tmp_path / f"run{i}" / "train_log.json").read_text())["log_history"]
        for i in range(2)
    ]
    assert logs[0][0]["loss"] == logs[1][0]["loss"]  # the first step too


def test_reruns_skip_a_finished_run_and_refuse_another_recipe(
    pairs_files, tiny_bert_dir, tmp_path, caplog
):
    passages, queries = pairs_files
    recipe = config(passages, queries, tiny_bert_dir)
    out = tmp_path / "run"
    first = pretrain(recipe, out, show_progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["stage"] == "pretrain"
    assert manifest["inputs"]["data.queries"]["sha256"]
    assert manifest["outputs"]["model"] == "model" and manifest["peak_rss_mib"] > 0
    weights = (out / "model" / "model.safetensors").stat().st_mtime_ns
    with caplog.at_level("INFO"):
        again = pretrain(recipe, out, show_progress=False)
    assert "skipped" in caplog.text and again == json.loads(json.dumps(first))
    assert (out / "model" / "model.safetensors").stat().st_mtime_ns == weights
    other = config(passages, queries, tiny_bert_dir, **{"training.learning_rate": 5e-4})
    with pytest.raises(
        QcptError,
        match=r"another recipe: training.learning_rate: 0.001 -> "
        r"0.0005",
    ):
        pretrain(other, out, show_progress=False)
    assert PretrainConfig.from_yaml(out / "config.yaml") == recipe  # not overwritten
    queries.write_text(queries.read_text() + "\n")  # same records, other bytes
    with pytest.raises(QcptError, match="input data.queries differs"):
        pretrain(recipe, out, show_progress=False)
    summary = pretrain(other, out, overwrite=True, show_progress=False)
    assert summary["steps"] == 2
    assert PretrainConfig.from_yaml(out / "config.yaml") == other


def test_a_failed_start_does_not_block_the_corrected_rerun(pairs_files, tiny_bert_dir, tmp_path):
    passages, queries = pairs_files
    out = tmp_path / "run"
    with pytest.raises(QcptError, match="needs generated queries"):
        pretrain(
            config(passages, queries, tiny_bert_dir, **{"data.queries": None}),
            out,
            show_progress=False,
        )
    assert not out.exists()  # nothing half-written
    summary = pretrain(config(passages, queries, tiny_bert_dir), out, show_progress=False)
    assert summary["steps"] == 2


def test_resume_after_a_kill_during_a_save_uses_the_last_complete_checkpoint(
    pairs_files, tiny_bert_dir, tmp_path
):
    passages, queries = pairs_files
    recipe = config(
        passages,
        queries,
        tiny_bert_dir,
        **{"training.save_steps": 1, "training.keep_checkpoints": True, "training.max_steps": 3},
    )
    out = tmp_path / "run"
    pretrain(recipe, out, show_progress=False)
    first = load_file(out / "model" / "model.safetensors")
    shutil.rmtree(out / "model")
    (out / "train_log.json").unlink()
    # what a kill in the middle of saving checkpoint-3 leaves: weights, no trainer state
    (out / "checkpoints" / "checkpoint-3" / "trainer_state.json").unlink()
    summary = pretrain(recipe, out, resume=True, show_progress=False)
    assert summary["steps"] == 3
    again = load_file(out / "model" / "model.safetensors")
    for name in first:
        assert torch.equal(again[name], first[name]), name


def test_a_nan_loss_stops_with_the_step_and_term_and_keeps_the_last_checkpoint(
    pairs_files, tiny_bert_dir, tmp_path, monkeypatch
):
    import qcpt.pretrain.trainer as trainer_module

    passages, queries = pairs_files
    recipe = config(
        passages, queries, tiny_bert_dir, **{"training.save_steps": 1, "training.max_steps": 3}
    )
    real, calls = trainer_module.pair_infonce, []

    def nan_at_step_2(*args, **kwargs):
        calls.append(1)
        loss = real(*args, **kwargs)
        return loss * float("nan") if len(calls) == 2 else loss

    monkeypatch.setattr(trainer_module, "pair_infonce", nan_at_step_2)
    out = tmp_path / "run"
    with pytest.raises(
        QcptError,
        match=r"stopped at step 2: loss term contrastive = nan is "
        r"not finite; the last good checkpoint is .*checkpoint-1",
    ):
        pretrain(recipe, out, show_progress=False)
    assert (out / "checkpoints" / "checkpoint-1" / "trainer_state.json").is_file()
    assert not (out / "checkpoints" / "checkpoint-2").exists() and not (out / "model").exists()
    monkeypatch.setattr(trainer_module, "pair_infonce", real)
    assert pretrain(recipe, out, resume=True, show_progress=False)["steps"] == 3


def test_a_context_kind_registered_in_one_place_runs_end_to_end(
    pairs_files, tiny_bert_dir, tmp_path, monkeypatch
):
    """Adding a context kind is one ContextKind and one registration line."""
    from qcpt.pretrain import contexts

    monkeypatch.setattr(contexts, "CONTEXT_KINDS", dict(contexts.CONTEXT_KINDS))
    monkeypatch.setattr(contexts, "_ALIASES", dict(contexts._ALIASES))
    drawn = []

    def first_words(sampler, index, rng):
        drawn.append(index)
        return " ".join(sampler.words[index][: 2 + int(rng.integers(3))])

    contexts.register_context_kind(
        contexts.ContextKind(
            "lead", lambda sampler, index: True, first_words, aliases=("first-words",)
        )
    )
    passages, queries = pairs_files
    recipe = config(passages, queries, tiny_bert_dir, **{"data.context": "first-words:1,query:1"})
    assert recipe.data.context == "first-words:1,query:1"
    summary = pretrain(recipe, tmp_path / "run", show_progress=False)
    assert summary["steps"] == 2 and drawn
    assert "loss_contrastive" in summary["final_losses"]


def test_an_objective_registered_in_one_place_runs_end_to_end(
    pairs_files, tiny_bert_dir, tmp_path, monkeypatch
):
    """Adding an objective is one Objective and one registration line: here, plain MLM on the
    passages (no context, no head)."""
    from torch import nn

    from qcpt.pretrain import objectives
    from qcpt.pretrain.losses import masked_lm_loss
    from qcpt.pretrain.modeling import backbone_of, mlm_head_of

    class PassageMlm(nn.Module):
        def __init__(self, mlm_model):
            super().__init__()
            self.backbone, self.head = backbone_of(mlm_model), mlm_head_of(mlm_model)

        def forward(self, passage, **views):
            last = self.backbone(
                input_ids=passage["input_ids"], attention_mask=passage["attention_mask"]
            ).last_hidden_state
            loss, count = masked_lm_loss(last, passage["labels"], self.head)
            return {"mlm": loss, "mlm_count": count}

    monkeypatch.setattr(objectives, "OBJECTIVES", dict(objectives.OBJECTIVES))
    objectives.register_objective(
        objectives.Objective(
            "passage-mlm",
            lambda config, mlm, pooling, normalize: (
                PassageMlm(mlm),
                {"term_weights": {"mlm": 1.0}},
            ),
            lambda config: {"mask_rate": 0.3, "encode_context": False},
        )
    )
    passages, queries = pairs_files
    recipe = config(passages, queries, tiny_bert_dir, objective="passage-mlm")
    summary = pretrain(recipe, tmp_path / "run", show_progress=False)
    assert summary["steps"] == 2 and set(summary["final_losses"]) == {"loss", "loss_mlm"}
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    with pytest.raises(QcptError, match="unknown objective 'nope'"):
        config(passages, queries, tiny_bert_dir, objective="nope")


def test_fewer_pairs_than_one_batch_is_an_error_before_anything_is_written(
    pairs_files, tiny_bert_dir, tmp_path
):
    passages, queries = pairs_files
    recipe = config(passages, queries, tiny_bert_dir, **{"training.batch_size": 64})
    with pytest.raises(QcptError, match="fewer than one batch of 64"):
        pretrain(recipe, tmp_path / "out", show_progress=False)
    assert not (tmp_path / "out" / "config.yaml").exists()


def _passages_of_many_lengths(root, count=256):
    """``count`` passages of 2 to 41 words (two per document), each with one query."""
    words = "cells protein gene cancer risk brain blood study patients mice dna virus".split()
    passages, queries = root / "varied.jsonl", root / "varied-queries.jsonl"
    with passages.open("w") as p_file, queries.open("w") as q_file:
        for i in range(count):
            text = " ".join(words[(i + k) % len(words)] for k in range(2 + (i * 7) % 40))
            p_file.write(json.dumps({"_id": f"p{i}", "doc_id": f"d{i // 2}", "text": text}) + "\n")
            q_file.write(json.dumps({"_id": f"p{i}", "queries": [text.split()[0]]}) + "\n")
    return passages, queries


@pytest.mark.parametrize("group_by_length", [False, True])
def test_length_grouped_batches_hold_passages_of_similar_length(
    tiny_bert_dir, tmp_path, monkeypatch, group_by_length
):
    from qcpt.pretrain import training

    passages, queries = _passages_of_many_lengths(tmp_path)
    batches: list[list[str]] = []
    build = training.build_collator

    def recording_collator(*args, **kwargs):
        collate = build(*args, **kwargs)
        return lambda items: batches.append([i["passage"] for i in items]) or collate(items)

    monkeypatch.setattr(training, "build_collator", recording_collator)
    recipe = config(
        passages,
        queries,
        tiny_bert_dir,
        **{
            "model.passage_max_length": 64,
            "training.batch_size": 8,
            "training.max_steps": 32,  # one epoch of 256 passages
            "training.group_by_length": group_by_length,
        },
    )
    runs = [pretrain(recipe, tmp_path / f"run{i}", show_progress=False) for i in range(2)]
    assert runs[0]["final_losses"] == runs[1]["final_losses"]  # same seed, same batches
    first_run = batches[: len(batches) // 2]
    assert sorted(p for batch in first_run for p in batch) == sorted(
        json.loads(line)["text"] for line in passages.read_text().splitlines()
    )  # an epoch still visits every passage once
    spread = sum(
        max(len(p.split()) for p in b) - min(len(p.split()) for p in b) for b in first_run
    ) / len(first_run)
    if group_by_length:
        # transformers sorts mega-batches of min(50, 256 // (4 x 8)) = 8 batches: a batch
        # spans about an eighth of the 2-41 words
        assert spread <= 10
    else:
        assert spread >= 20  # random batches of 2-41 words span most of the range
