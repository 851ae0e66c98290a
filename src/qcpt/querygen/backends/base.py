"""The interface every query generator implements, and helpers they share."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence

from qcpt.data.passages import Passage
from qcpt.data.text import document_text


class QueryGenerator(ABC):
    """Produces queries for a batch of passages.

    ``generate`` is called once per batch with the batch's seed and must return, for each
    passage, the raw (uncleaned) queries; a sampling generator returns ``num_queries`` of them.
    Equal passages, ``num_queries`` and ``seed`` give equal output.
    """

    @abstractmethod
    def generate(
        self, passages: Sequence[Passage], num_queries: int | None, seed: int
    ) -> list[list[str]]:
        """Raw queries for each passage of the batch, in order."""

    @abstractmethod
    def describe(self) -> dict:
        """Backend, model and settings, for the sidecar file."""


def batch_seed(seed: int, batch_index: int) -> int:
    """A 31-bit seed for one batch, from the run's seed and the batch's index in the corpus."""
    digest = hashlib.blake2b(f"{seed}:{batch_index}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def passage_input(passage: Passage, with_title: bool) -> str:
    """The text a generator reads: the passage text, or ``title text`` with ``with_title``."""
    return document_text(passage) if with_title else passage.text.strip()


def causal_description(settings, prompt, model_path: str, runtime: str, stop: str) -> dict:
    """Sidecar description shared by the few-shot causal runtimes (model, prompt, sampling)."""
    return {
        "backend": "causal",
        "runtime": runtime,
        "model": settings.resolved_model(),
        "model_path": model_path,
        "prompt": {
            "prefix": prompt.prefix(),
            "passage": prompt.passage_part("{passage}"),
        },
        "sampling": {
            "top_k": settings.top_k,
            "top_p": settings.top_p,
            "temperature": settings.temperature,
            "max_new_tokens": settings.max_new_tokens,
            "stop": stop,
        },
    }
