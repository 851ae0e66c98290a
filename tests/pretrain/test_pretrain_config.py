"""Pre-training recipes: every shipped YAML loads, overrides apply, mistakes name the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcpt.errors import QcptError
from qcpt.pretrain.config import PretrainConfig
from qcpt.pretrain.contexts import ContextSpec

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("pretrain-*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_recipes_load(path):
    config = PretrainConfig.from_yaml(path)
    ContextSpec.parse(config.data.context)
    assert PretrainConfig.from_yaml(path, {"training.max_steps": 3}).training.max_steps == 3


def test_paper_recipes_hold_the_paper_settings():
    root = CONFIGS[0].parent
    cocondenser = PretrainConfig.from_yaml(root / "pretrain-cocondenser-qc-msmarco-gpu.yaml")
    assert (cocondenser.training.learning_rate, cocondenser.training.max_steps) == (1e-4, 120000)
    assert cocondenser.contrastive.skip_from == 6 and cocondenser.model.pooling == "cls"
    cotmae = PretrainConfig.from_yaml(root / "pretrain-cotmae-qc-msmarco-gpu.yaml")
    assert cotmae.training.batch_size * cotmae.training.gradient_accumulation_steps * 8 == 16384
    assert (cotmae.generative.mask_rate, cotmae.generative.attn_window) == (0.30, 3)


def test_span_recipes_differ_from_their_query_twins_in_the_context_only():
    root = CONFIGS[0].parent

    def settings(name):
        dump = PretrainConfig.from_yaml(root / name).model_dump()
        data = dump.pop("data")
        return dump, data

    for query, span in (
        ("pretrain-cotmae-qc-scifact-cpu.yaml", "pretrain-cotmae-span-scifact-cpu.yaml"),
        ("pretrain-cocondenser-qc-msmarco-gpu.yaml", "pretrain-cocondenser-msmarco-gpu.yaml"),
    ):
        (query_rest, query_data), (span_rest, span_data) = settings(query), settings(span)
        assert query_rest == span_rest, (query, span)
        assert query_data["context"] == "query" and span_data["context"] == "span-random"
    twin = PretrainConfig.from_yaml(root / "pretrain-cotmae-span-scifact-cpu.yaml")
    assert not twin.generative.symmetric and twin.generative.decoder == "autoregressive"
    original = PretrainConfig.from_yaml(root / "pretrain-cotmae-scifact-cpu.yaml")
    assert original.generative.symmetric and original.generative.decoder == "masked"
    assert original.generative.decoder_layers == 2
    assert set(ContextSpec.parse(original.data.context).kinds) == {
        "span-random",
        "span-nearby",
        "span-overlap",
    }
    # MS MARCO span recipes read document spans; coCondenser starts from Condenser
    for name in ("pretrain-cocondenser-msmarco-gpu.yaml", "pretrain-cotmae-msmarco-gpu.yaml"):
        assert "msmarco-docs" in PretrainConfig.from_yaml(root / name).data.passages
    assert (
        PretrainConfig.from_yaml(root / "pretrain-cocondenser-qc-msmarco-gpu.yaml").model.model
        == "Luyu/condenser"
    )


def test_mlm_weight_reaches_both_mlm_terms():
    from qcpt.pretrain.training import build_model

    from .conftest import tiny_mlm

    recipe = PretrainConfig.from_yaml(None, {"data.passages": "p", "contrastive.mlm_weight": 2.0})
    _, loss = build_model(recipe, tiny_mlm(), "cls", False)
    assert loss["term_weights"] == {"head_mlm": 2.0, "mlm": 2.0}
    assert loss["contrastive_weight"] == 1.0


def test_symmetric_is_chosen_explicitly_and_contexts_are_checked_at_load():
    def config(context, symmetric=None):
        return PretrainConfig.from_yaml(
            None, {"data.passages": "p", "data.context": context, "generative.symmetric": symmetric}
        )

    assert not config("span-random").generative.symmetric  # no longer implied by spans
    assert config("span", symmetric=True).generative.symmetric
    with pytest.raises(QcptError, match=r"data.context: .*unknown context kind 'title'"):
        config("title")


def test_mistakes_name_the_file_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data: {passages: p}\ncontrastive: {head_layer: 2}\n")
    with pytest.raises(QcptError, match=r"bad.yaml: .*contrastive.head_layer"):
        PretrainConfig.from_yaml(path)
    with pytest.raises(QcptError, match="data"):
        PretrainConfig.from_yaml(None)


def test_cross_device_negatives_is_read_under_its_old_name_too(tmp_path, caplog):
    old = tmp_path / "old.yaml"
    old.write_text("data: {passages: p}\ncontrastive:\n  cross_process_negatives: false\n")
    assert PretrainConfig.from_yaml(old).contrastive.cross_device_negatives is False
    assert "now cross_device_negatives" in caplog.text
    both = tmp_path / "both.yaml"
    both.write_text(
        "data: {passages: p}\n"
        "contrastive:\n  cross_process_negatives: false\n  cross_device_negatives: true\n"
    )
    with pytest.raises(QcptError, match="give cross_device_negatives only"):
        PretrainConfig.from_yaml(both)
