"""Fixtures for query generation: tiny random T5 and Llama models with a word-level tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcpt.data.passages import Passage

WORDS = (
    "the a of and to in is for on with cells protein gene cancer risk brain blood study "
    "patients mice dna virus vaccine heart cell tumor growth insulin sleep diet water energy "
    "solar wind power battery climate ocean ice rain storm river city train bus car road"
).split()
GEN_SPECIALS = ["<pad>", "</s>", "<unk>", "<s>"]
GEN_WORDS = [*WORDS, "\n", ":", ".", ",", "?", "passage", "query", "write", "search", "short"]


def generation_tokenizer():
    """A word-level fast tokenizer: pad 0, eos 1, unk 2, bos 3; ``\\n`` is a token of its own."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(GEN_SPECIALS + GEN_WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"[ \t]+"), behavior="removed"),
            pre_tokenizers.Split(Regex(r"\n|\w+|[^\w\s]"), behavior="isolated"),
        ]
    )
    backend.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        bos_token="<s>",
    )


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-dim random T5 with the word-level tokenizer."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    root = tmp_path_factory.mktemp("tiny-t5")
    tokenizer = generation_tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_ff=64,
        d_kv=16,
        num_layers=2,
        num_heads=2,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(root)
    tokenizer.save_pretrained(root)
    return root


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-dim random Llama (grouped-query attention) with the word-level tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = generation_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=3,
        initializer_range=0.5,
    )  # wide weights: peaked, varied next-token distributions
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(root)
    tokenizer.save_pretrained(root)
    return root


@pytest.fixture()
def gen_passages() -> list[Passage]:
    """Seven passages of three to nine words from the shared word list."""
    return [
        Passage(f"p{i}", " ".join(WORDS[10 + i : 13 + i + i % 7]), f"t{i}", f"d{i // 2}")
        for i in range(7)
    ]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread (and do not stall on a busy machine)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
