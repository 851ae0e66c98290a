"""The context of a passage: a generated query or another span of its document.

Context kinds:

- ``query``: one of the passage's generated queries, drawn uniformly (query-as-context);
- ``span-random``: another passage of the same document (coCondenser / CoT-MAE);
- ``span-nearby``: the previous or next passage of the document;
- ``span-overlap``: a window of the document's words as long as the passage, shifted by up to
  half its length so that it overlaps it.

A spec is one kind or a weighted mixture (``"query:0.5,span-random:0.5"``); for each passage
and epoch a kind is drawn by weight, then the context is drawn, both from a generator seeded by
(seed, epoch, passage), so runs are reproducible and every epoch sees other contexts.

Fallbacks, when a passage lacks the drawn kind: ``query`` without generated queries falls back
to ``span-random``; ``span-random`` / ``span-nearby`` in a single-passage document fall back to
``span-overlap``, which always exists (in a single-passage document it is a random window of
50-99 % of the passage's words). Counts are in :meth:`ContextSampler.fallback_counts`.

Every kind is one :class:`ContextKind` in ``CONTEXT_KINDS`` (its test of availability, its draw,
its fallback and aliases); :func:`register_context_kind` adds one, and the kind is then usable
in any spec, recipe and command.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qcpt.data.store import string_keys
from qcpt.errors import QcptError


@dataclass(frozen=True)
class ContextKind:
    """One kind of context: ``available(sampler, i)`` says whether passage ``i`` has one,
    ``draw(sampler, i, rng)`` returns its text; ``fallback`` is the kind used where it is not
    available (None: always available); ``uses_queries``: it needs generated queries."""

    name: str
    available: Callable[[ContextSampler, int], bool]
    draw: Callable[[ContextSampler, int, np.random.Generator], str]
    fallback: str | None = None
    uses_queries: bool = False
    aliases: tuple[str, ...] = ()


CONTEXT_KINDS: dict[str, ContextKind] = {}
_ALIASES: dict[str, str] = {}


def register_context_kind(kind: ContextKind) -> ContextKind:
    """Make ``kind`` usable by name (and aliases) in context specs; returns it."""
    if kind.fallback is not None and kind.fallback not in CONTEXT_KINDS:
        raise ValueError(f"context kind {kind.name}: unknown fallback {kind.fallback!r}")
    CONTEXT_KINDS[kind.name] = kind
    _ALIASES.update({alias: kind.name for alias in kind.aliases})
    return kind


@dataclass(frozen=True)
class ContextSpec:
    """Context kinds and their probabilities (summing to 1)."""

    kinds: tuple[str, ...]
    weights: tuple[float, ...]

    @classmethod
    def parse(cls, spec: str) -> ContextSpec:
        """``"query"``, ``"span"`` or ``"query:0.5,span-random:0.5"`` (weights are normalised)."""
        kinds, weights = [], []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            name, _, weight = part.partition(":")
            name = _ALIASES.get(name.strip().lower(), name.strip().lower())
            if name not in CONTEXT_KINDS:
                raise QcptError(
                    f"unknown context kind {name!r} in {spec!r}; use one of "
                    f"{', '.join(CONTEXT_KINDS)} (or span = span-random)"
                )
            try:
                value = float(weight) if weight else 1.0
            except ValueError as error:
                raise QcptError(f"bad weight {weight!r} for {name} in {spec!r}") from error
            if value < 0:
                raise QcptError(f"negative weight for {name} in {spec!r}")
            if name in kinds:
                raise QcptError(f"context kind {name} given twice in {spec!r}")
            kinds.append(name)
            weights.append(value)
        total = sum(weights)
        if not kinds or total <= 0:
            raise QcptError(f"context spec {spec!r} names no kind with a positive weight")
        return cls(tuple(kinds), tuple(w / total for w in weights))

    @property
    def uses_queries(self) -> bool:
        return any(CONTEXT_KINDS[kind].uses_queries for kind in self.kinds)

    def __str__(self) -> str:
        if len(self.kinds) == 1:
            return self.kinds[0]
        return ",".join(f"{k}:{w:g}" for k, w in zip(self.kinds, self.weights, strict=True))


class ContextSampler:
    """Draws the context of passage ``i`` in epoch ``e`` (see the module docstring).

    Inputs: passage texts with their document ids (strings, or int64 keys as
    :func:`~qcpt.data.store.string_keys` makes them) in document order (as ``split-passages``
    writes them), the generated queries of each passage (empty lists where none), the spec and
    a seed. Any sequences do, memory-mapped ones included: the sampler keeps only numpy arrays
    of its own (about 20 bytes a passage).
    """

    def __init__(
        self,
        texts: Sequence[str],
        doc_ids: Sequence[str] | np.ndarray,
        queries: Sequence[Sequence[str]],
        spec: ContextSpec,
        seed: int = 42,
    ):
        if not (len(texts) == len(doc_ids) == len(queries)):
            raise ValueError("texts, doc_ids and queries must have one entry per passage")
        self.texts = texts
        self.queries = queries
        self.spec = spec
        self.seed = seed
        lengths = getattr(queries, "lengths", None)  # a PackedStringLists counts without reading
        self.query_counts = (
            lengths()
            if lengths is not None
            else np.array([len(options) for options in queries], dtype=np.int64)
        )
        # documents as numpy groups (no list per passage): the passages of a document are
        # order[start[g]:end[g]] in their original order (stable sort), g = group[i]
        keys = (
            doc_ids
            if isinstance(doc_ids, np.ndarray) and doc_ids.dtype.kind in "iu"
            else string_keys(doc_ids)
        )
        index_type = np.int32 if len(keys) < 2**31 else np.int64
        self._order = np.argsort(keys, kind="stable").astype(index_type)
        sorted_keys = keys[self._order]
        starts = np.flatnonzero(np.diff(sorted_keys)) + 1
        self._starts = np.concatenate([[0], starts]).astype(index_type)
        self._ends = np.concatenate([starts, [len(keys)]]).astype(index_type)
        self._group = np.empty(len(keys), dtype=index_type)
        self._group[self._order] = np.repeat(
            np.arange(len(self._starts), dtype=index_type), self._ends - self._starts
        )
        self.words = _Words(texts)

    def __len__(self) -> int:
        return len(self.texts)

    def available(self, index: int, kind: str) -> bool:
        """Whether passage ``index`` has a context of ``kind``."""
        return CONTEXT_KINDS[kind].available(self, index)

    def resolve_kind(self, index: int, kind: str) -> str:
        """``kind`` or, where passage ``index`` lacks it, the documented fallback."""
        while not self.available(index, kind):
            kind = CONTEXT_KINDS[kind].fallback
        return kind

    def siblings(self, index: int) -> list[int]:
        """Indices of the passages of passage ``index``'s document, in document order."""
        group = self._group[index]
        return self._order[self._starts[group] : self._ends[group]].tolist()

    def sibling_count(self, index: int) -> int:
        """How many passages passage ``index``'s document has (itself included)."""
        group = self._group[index]
        return int(self._ends[group] - self._starts[group])

    def fallback_counts(self) -> dict[str, Counter]:
        """Per requested kind of the spec: how many passages fall back to which kind."""
        counts: dict[str, Counter] = {}
        for kind in self.spec.kinds:
            used = Counter(self.resolve_kind(i, kind) for i in range(len(self)))
            used.pop(kind, None)
            counts[kind] = used
        return counts

    def draw(self, index: int, epoch: int = 0) -> tuple[str, str]:
        """``(context text, kind used)`` of passage ``index`` in ``epoch``."""
        rng = np.random.default_rng((self.seed, epoch, index))
        if len(self.spec.kinds) == 1:
            kind = self.spec.kinds[0]
        else:
            kind = self.spec.kinds[int(rng.choice(len(self.spec.kinds), p=self.spec.weights))]
        kind = self.resolve_kind(index, kind)
        return CONTEXT_KINDS[kind].draw(self, index, rng), kind


class _Words(Sequence[list[str]]):
    """``words[i]`` is ``texts[i].split()``, made when asked: only ``span-overlap`` draws read
    words, and a list of every passage's words would hold the corpus a second time, one string
    object per word (several times the size of the text)."""

    def __init__(self, texts: Sequence[str]):
        self.texts = texts

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [text.split() for text in self.texts[index]]
        return self.texts[index].split()


def _overlapping_window(sampler: ContextSampler, index: int, rng: np.random.Generator) -> str:
    siblings = sampler.siblings(index)
    words: list[str] = []
    start = 0
    for j in siblings:
        if j == index:
            start = len(words)
        words.extend(sampler.words[j])
    length = len(sampler.words[index])
    if length < 2:
        return sampler.texts[index]
    if len(words) == length:  # single-passage document: a shorter window inside it
        size = int(rng.integers((length + 1) // 2, length))
        offset = int(rng.integers(0, length - size + 1))
        return " ".join(words[offset : offset + size])
    low = max(0, start - length // 2)
    high = min(len(words) - length, start + length // 2)
    offsets = [o for o in range(low, high + 1) if o != start] or [start]
    offset = offsets[int(rng.integers(len(offsets)))]
    return " ".join(words[offset : offset + length])


def _random_sibling(sampler: ContextSampler, index: int, rng: np.random.Generator) -> str:
    others = [j for j in sampler.siblings(index) if j != index]
    return sampler.texts[others[int(rng.integers(len(others)))]]


def _nearby_sibling(sampler: ContextSampler, index: int, rng: np.random.Generator) -> str:
    siblings = sampler.siblings(index)
    position = siblings.index(index)
    neighbours = [siblings[p] for p in (position - 1, position + 1) if 0 <= p < len(siblings)]
    return sampler.texts[neighbours[int(rng.integers(len(neighbours)))]]


def _query(sampler: ContextSampler, index: int, rng: np.random.Generator) -> str:
    options = sampler.queries[index]
    return options[int(rng.integers(len(options)))]


def _has_sibling(sampler: ContextSampler, index: int) -> bool:
    return sampler.sibling_count(index) > 1


register_context_kind(
    ContextKind(
        "span-overlap", lambda sampler, index: True, _overlapping_window, aliases=("overlap",)
    )
)
register_context_kind(
    ContextKind(
        "span-random",
        _has_sibling,
        _random_sibling,
        fallback="span-overlap",
        aliases=("span", "random"),
    )
)
register_context_kind(
    ContextKind(
        "span-nearby", _has_sibling, _nearby_sibling, fallback="span-overlap", aliases=("nearby",)
    )
)
register_context_kind(
    ContextKind(
        "query",
        lambda sampler, index: sampler.query_counts[index] > 0,
        _query,
        fallback="span-random",
        uses_queries=True,
        aliases=("queries",),
    )
)
