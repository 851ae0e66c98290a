"""Query generators behind one interface: seq2seq (T5), causal LMs (llama.cpp or transformers),
and precomputed query files."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from qcpt.querygen.backends.base import QueryGenerator, batch_seed
from qcpt.querygen.backends.models import is_gguf, packaged_smollm2_path, resolve_causal_model
from qcpt.querygen.config import GenerationSettings
from qcpt.querygen.prompts import FewShotPrompt


def causal_runtime(settings: GenerationSettings) -> str:
    """The runtime ``auto`` stands for: llama.cpp for a GGUF file when llama-cpp-python is
    installed (it measured faster on CPU, see benchmarks/results/querygen_throughput.md), else
    transformers."""
    if settings.runtime != "auto":
        return settings.runtime
    model = resolve_causal_model(settings.resolved_model())
    if is_gguf(model) and importlib.util.find_spec("llama_cpp") is not None:
        return "llama-cpp"
    return "transformers"


def create_generator(settings: GenerationSettings, passage_ids: Sequence[str]) -> QueryGenerator:
    """Build the generator ``settings.backend`` names; ``passage_ids`` (in order) serve files."""
    if settings.backend == "file":
        from qcpt.querygen.backends.file import FileQueries

        return FileQueries(settings, passage_ids)
    if settings.backend == "seq2seq":
        from qcpt.querygen.backends.seq2seq import Seq2SeqGenerator

        return Seq2SeqGenerator(settings)
    prompt = FewShotPrompt.load(settings.prompt) if settings.prompt else FewShotPrompt()
    if causal_runtime(settings) == "llama-cpp":
        from qcpt.querygen.backends.llama_cpp import LlamaCppGenerator

        return LlamaCppGenerator(settings, prompt)
    from qcpt.querygen.backends.causal_hf import CausalHFGenerator

    return CausalHFGenerator(settings, prompt)


__all__ = [
    "QueryGenerator",
    "batch_seed",
    "causal_runtime",
    "create_generator",
    "packaged_smollm2_path",
]
