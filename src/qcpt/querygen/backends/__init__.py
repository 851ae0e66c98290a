"""Query generators behind one interface: seq2seq (T5), causal LMs (llama.cpp or transformers),
and precomputed query files. Each backend is one :class:`Backend` registered by name; adding
one is a module with its :class:`QueryGenerator` and one :func:`register_backend` line."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qcpt.querygen.backends.base import QueryGenerator, batch_seed
from qcpt.querygen.backends.models import is_gguf, packaged_smollm2_path, resolve_causal_model
from qcpt.querygen.config import DEFAULT_CAUSAL_MODEL, DEFAULT_SEQ2SEQ_MODEL, GenerationSettings
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


@dataclass(frozen=True)
class Backend:
    """A query-generator backend: ``create(settings, passage_ids) -> QueryGenerator`` and the
    model it uses when the recipe names none."""

    name: str
    create: Callable[[GenerationSettings, Sequence[str]], QueryGenerator]
    default_model: str | None = None


BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    """Make ``backend`` usable by name (``generation.backend``, ``--backend``); returns it."""
    BACKENDS[backend.name] = backend
    return backend


def create_generator(settings: GenerationSettings, passage_ids: Sequence[str]) -> QueryGenerator:
    """Build the generator ``settings.backend`` names; ``passage_ids`` (in order) serve files."""
    return BACKENDS[settings.backend].create(settings, passage_ids)


def _file(settings: GenerationSettings, passage_ids: Sequence[str]) -> QueryGenerator:
    from qcpt.querygen.backends.file import FileQueries

    return FileQueries(settings, passage_ids)


def _seq2seq(settings: GenerationSettings, passage_ids: Sequence[str]) -> QueryGenerator:
    from qcpt.querygen.backends.seq2seq import Seq2SeqGenerator

    return Seq2SeqGenerator(settings)


def _causal(settings: GenerationSettings, passage_ids: Sequence[str]) -> QueryGenerator:
    prompt = FewShotPrompt.load(settings.prompt) if settings.prompt else FewShotPrompt()
    if causal_runtime(settings) == "llama-cpp":
        from qcpt.querygen.backends.llama_cpp import LlamaCppGenerator

        return LlamaCppGenerator(settings, prompt)
    from qcpt.querygen.backends.causal_hf import CausalHFGenerator

    return CausalHFGenerator(settings, prompt)


register_backend(Backend("causal", _causal, DEFAULT_CAUSAL_MODEL))
register_backend(Backend("seq2seq", _seq2seq, DEFAULT_SEQ2SEQ_MODEL))
register_backend(Backend("file", _file))


__all__ = [
    "BACKENDS",
    "Backend",
    "QueryGenerator",
    "batch_seed",
    "causal_runtime",
    "create_generator",
    "packaged_smollm2_path",
    "register_backend",
]
