import json

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from qcpt.data import Document
from qcpt.encoder import pool, resolve_model
from qcpt.encoder.checkpoints import packaged_minilm_path, read_model_defaults
from qcpt.errors import QcptError
from qcpt.retrieval import DenseEncoder, EncoderSettings

TEXTS = [
    "cells protein gene",
    "cancer",
    "blood study patients mice dna virus vaccine heart",
    "the sleep diet",
    "ocean ice rain storm river city train bus car road energy",
]


def reference_vectors(model_dir, texts, pooling, max_length=64):
    """One text at a time, no padding at all: the ground truth for batched encoding."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    rows = []
    for text in texts:
        batch = tokenizer([text], truncation=True, max_length=max_length, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state[0]
        rows.append(hidden[0] if pooling == "cls" else hidden.mean(0))
    return torch.stack(rows).numpy()


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_batched_length_sorted_encoding_matches_one_by_one(tiny_bert_dir, pooling):
    encoder = DenseEncoder(
        EncoderSettings(
            model=str(tiny_bert_dir), pooling=pooling, normalize=False, batch_size=2, device="cpu"
        )
    )
    got = encoder.encode_texts(TEXTS, max_length=64)
    np.testing.assert_allclose(got, reference_vectors(tiny_bert_dir, TEXTS, pooling), atol=1e-5)


def test_pool_mean_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert pool(hidden, mask, "mean").tolist() == [[2.0, 3.0]]
    assert pool(hidden, mask, "cls").tolist() == [[1.0, 2.0]]
    with pytest.raises(QcptError):
        pool(hidden, mask, "max")


def test_defaults_are_paper_lengths_and_cls(tiny_bert_dir):
    encoder = DenseEncoder(EncoderSettings(model=str(tiny_bert_dir), device="cpu"))
    s = encoder.settings
    assert (s.pooling, s.normalize, s.query_max_length, s.passage_max_length) == (
        "cls",
        False,
        32,
        144,
    )


def test_truncation_to_max_length(tiny_bert_dir):
    encoder = DenseEncoder(EncoderSettings(model=str(tiny_bert_dir), pooling="cls", device="cpu"))
    long_text = " ".join(["cells"] * 100)
    # [CLS] + 3 words + [SEP] == truncating the long text to 5 tokens
    np.testing.assert_allclose(
        encoder.encode_texts([long_text], 5),
        encoder.encode_texts(["cells cells cells"], 64),
        atol=1e-5,
    )


def test_normalize_and_query_passage_lengths(tiny_bert_dir):
    encoder = DenseEncoder(
        EncoderSettings(
            model=str(tiny_bert_dir),
            normalize=True,
            query_max_length=4,
            passage_max_length=64,
            device="cpu",
        )
    )
    passages = encoder.encode_passages([Document("x", "protein gene cancer", title="cells")])
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-6)
    # the query side cuts at 4 tokens: [CLS] cells protein [SEP]
    np.testing.assert_allclose(
        encoder.encode_queries(["cells protein gene cancer"]),
        encoder.encode_texts(["cells protein"], 64),
        atol=1e-5,
    )
    # passages join the title with a space
    np.testing.assert_allclose(
        passages, encoder.encode_passages(["cells protein gene cancer"]), atol=1e-6
    )


def test_settings_read_from_sentence_transformers_files(tiny_bert_dir, tmp_path):
    model_dir = tmp_path / "st-model"
    model_dir.mkdir()
    for item in tiny_bert_dir.iterdir():
        (model_dir / item.name).write_bytes(item.read_bytes())
    (model_dir / "modules.json").write_text(
        json.dumps(
            [
                {
                    "idx": 0,
                    "name": "0",
                    "path": "",
                    "type": "sentence_transformers.models.Transformer",
                },
                {
                    "idx": 1,
                    "name": "1",
                    "path": "1_Pooling",
                    "type": "sentence_transformers.models.Pooling",
                },
                {
                    "idx": 2,
                    "name": "2",
                    "path": "2_Normalize",
                    "type": "sentence_transformers.models.Normalize",
                },
            ]
        )
    )
    (model_dir / "1_Pooling").mkdir()
    (model_dir / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True})
    )
    (model_dir / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 48}))
    assert read_model_defaults(model_dir) == {
        "normalize": True,
        "pooling": "mean",
        "max_seq_length": 48,
    }
    encoder = DenseEncoder(
        EncoderSettings(model=str(model_dir), use_model_max_length=True, device="cpu")
    )
    assert (encoder.settings.pooling, encoder.settings.normalize) == ("mean", True)
    assert encoder.settings.query_max_length == encoder.settings.passage_max_length == 48
    # an explicit option overrides the checkpoint
    override = DenseEncoder(EncoderSettings(model=str(model_dir), pooling="cls", device="cpu"))
    assert override.settings.pooling == "cls"


def test_bf16_autocast_close_to_fp32(tiny_bert_dir):
    common = {"model": str(tiny_bert_dir), "normalize": True, "device": "cpu"}
    fp32 = DenseEncoder(EncoderSettings(**common)).encode_texts(TEXTS, 64)
    bf16 = DenseEncoder(EncoderSettings(**common, precision="bf16")).encode_texts(TEXTS, 64)
    assert bf16.dtype == np.float32
    assert np.abs(fp32 - bf16).max() < 0.05
    assert not np.array_equal(fp32, bf16)


def test_length_beyond_model_positions_is_rejected(tiny_bert_dir):
    with pytest.raises(QcptError, match="exceeds the model's 256 positions"):
        DenseEncoder(
            EncoderSettings(model=str(tiny_bert_dir), passage_max_length=512, device="cpu")
        )


def test_packaged_minilm_resolves_offline():
    path = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    assert path == str(packaged_minilm_path())
    assert read_model_defaults(path) == {
        "normalize": True,
        "pooling": "mean",
        "max_seq_length": 256,
    }


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(QcptError, match="cannot load encoder"):
        DenseEncoder(EncoderSettings(model="no-such-org/no-such-model", device="cpu"))


def test_prefixes_come_from_sentence_transformers_prompts_unless_set(tiny_bert_dir, tmp_path):
    model_dir = tmp_path / "e5-style"
    model_dir.mkdir()
    for item in tiny_bert_dir.iterdir():
        (model_dir / item.name).write_bytes(item.read_bytes())
    (model_dir / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "query: ", "passage": "passage: "}})
    )
    assert read_model_defaults(model_dir) == {
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
    }
    prompted = DenseEncoder(EncoderSettings(model=str(model_dir), device="cpu"))
    assert (prompted.settings.query_prefix, prompted.settings.passage_prefix) == (
        "query: ",
        "passage: ",
    )
    # an explicit empty prefix wins over the checkpoint's prompt
    plain = DenseEncoder(
        EncoderSettings(model=str(model_dir), query_prefix="", passage_prefix="", device="cpu")
    )
    assert np.allclose(
        prompted.encode_queries(["cells"]), plain.encode_queries(["query: cells"]), atol=1e-6
    )
    assert np.allclose(
        prompted.encode_passages([Document("d", "mice", "")]),
        plain.encode_passages(["passage: mice"]),
        atol=1e-6,
    )
    assert not np.allclose(prompted.encode_queries(["cells"]), plain.encode_queries(["cells"]))
    # sentence-transformers' order for documents: 'document' before 'passage'
    (model_dir / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"passage": "p: ", "document": "d: "}})
    )
    assert read_model_defaults(model_dir) == {"passage_prefix": "d: "}


def test_malformed_prompts_name_the_file(tiny_bert_dir, tmp_path):
    path = tmp_path / "config_sentence_transformers.json"
    path.write_text(json.dumps({"prompts": ["query: "]}))
    with pytest.raises(QcptError, match="config_sentence_transformers.json: 'prompts' must be"):
        read_model_defaults(tmp_path)
