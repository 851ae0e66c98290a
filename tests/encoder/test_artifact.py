"""Model artefacts: sentence-transformers and DenseEncoder read the same vectors out of them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from transformers import AutoModel, AutoTokenizer

from qcpt.encoder import save_encoder_artifact
from qcpt.encoder.checkpoints import read_model_defaults
from qcpt.retrieval import DenseEncoder, EncoderSettings
from qcpt.utils.io import file_fingerprint

TEXTS = ["cells protein gene", "risk brain", "the study of solar wind power and battery"]


def export(tiny_bert_dir, path, pooling, normalize):
    return save_encoder_artifact(
        AutoModel.from_pretrained(tiny_bert_dir),
        AutoTokenizer.from_pretrained(tiny_bert_dir),
        path,
        pooling=pooling,
        normalize=normalize,
        query_max_length=16,
        passage_max_length=48,
        title_separator=" | ",
        recipe={"kind": "test"},
        data={"corpus": {"sha256": "x"}},
        steps=7,
    )


@pytest.mark.parametrize(("pooling", "normalize"), [("cls", False), ("mean", True)])
def test_sentence_transformers_and_dense_encoder_agree(tiny_bert_dir, tmp_path, pooling, normalize):
    from sentence_transformers import SentenceTransformer

    path = export(tiny_bert_dir, tmp_path / "model", pooling, normalize)
    st_vectors = SentenceTransformer(str(path), device="cpu").encode(TEXTS)
    encoder = DenseEncoder(EncoderSettings(model=str(path)))
    assert (encoder.settings.pooling, encoder.settings.normalize) == (pooling, normalize)
    assert (encoder.settings.query_max_length, encoder.settings.passage_max_length) == (16, 48)
    assert encoder.settings.title_separator == " | "
    np.testing.assert_allclose(st_vectors, encoder.encode_passages(TEXTS), rtol=1e-4, atol=1e-5)
    if normalize:
        np.testing.assert_allclose(np.linalg.norm(st_vectors, axis=1), 1.0, rtol=1e-5)


def test_artefact_files_and_recipe(tiny_bert_dir, tmp_path):
    path = export(tiny_bert_dir, tmp_path / "model", "cls", False)
    assert not (path / "2_Normalize").exists()
    recipe = json.loads((path / "qcpt.json").read_text())
    assert recipe["encoder"] == {
        "pooling": "cls",
        "normalize": False,
        "query_max_length": 16,
        "passage_max_length": 48,
        "title_separator": " | ",
    }
    assert recipe["steps"] == 7 and recipe["recipe"] == {"kind": "test"}
    assert json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"] == 48
    assert (
        json.loads((path / "config_sentence_transformers.json").read_text())["similarity_fn_name"]
        == "dot"
    )
    assert read_model_defaults(path)["pooling"] == "cls"
    assert not list(tmp_path.glob(".*partial"))


def test_rewrite_replaces_the_old_artefact(tiny_bert_dir, tmp_path):
    export(tiny_bert_dir, tmp_path / "model", "mean", True)
    path = export(tiny_bert_dir, tmp_path / "model", "cls", False)
    assert read_model_defaults(path)["pooling"] == "cls"
    assert not (path / "2_Normalize").exists()


def test_file_fingerprint(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("abc")
    assert file_fingerprint(path) == {
        "path": str(path),
        "bytes": 3,
        "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    }
