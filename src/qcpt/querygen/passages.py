"""Passages for query generation: documents cut into sentence-packed spans, as jsonl.

A document is split into sentences, and whole sentences are packed greedily into passages of at
most ``max_tokens`` tokens of the target encoder's tokenizer. Each passage's target length is
``max_tokens``, or with probability ``short_probability`` a shorter one drawn uniformly from
[2, max_tokens] (BERT's ``short_seq_prob``, kept by Condenser/coCondenser and by query-as-context
pre-training). A sentence longer than ``max_tokens`` is cut at word boundaries. Token counts
cover the text only; the document's title is copied to each passage, and a document without
text gives no passage.

References: Devlin et al., "BERT" (2019), ``create_pretraining_data.py``; Gao & Callan,
"Unsupervised Corpus Aware Language Model Pre-training for Dense Passage Retrieval" (2022);
Wu et al., "Query-as-context Pre-training for Dense Passage Retrieval" (2023).
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Iterable, Iterator, Sequence

from pydantic import Field

from qcpt.data import Document
from qcpt.data.passages import Passage
from qcpt.data.store import StreamingKeySet, string_key
from qcpt.errors import QcptError
from qcpt.utils.config import Section

DEFAULT_TOKENIZER = "all-MiniLM-L6-v2"
_ABBREVIATIONS = set(
    "al approx ca cf dr e.g eq fig figs i.e mr mrs ms no nos prof ref refs resp st vs".split()
)
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+|\n\s*")
_NEXT_STARTS_SENTENCE = re.compile(r"[\"'(\[]?[A-Z0-9]")


class PassageSettings(Section):
    """How documents become passages (defaults: the paper's 144 tokens and 15 % short targets)."""

    max_tokens: int = Field(144, gt=1, description="tokens per passage at most (text only)")
    short_probability: float = Field(
        0.15, ge=0, le=1, description="chance of a shorter random target length"
    )
    tokenizer: str = Field(DEFAULT_TOKENIZER, description="tokenizer of the target encoder")
    seed: int = 42


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text``, by punctuation rules.

    A sentence ends at ``.``/``!``/``?`` (plus closing quotes or brackets) followed by space and
    an upper-case letter or digit, unless the word before is a common abbreviation or an initial;
    a line break always ends one. Leading and trailing spaces are excluded from the spans.
    """
    spans = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group().startswith(("\n", " ", "\t")) or _is_sentence_end(text, match):
            piece = text[start:end]
            if piece.strip():
                left = start + len(piece) - len(piece.lstrip())
                spans.append((left, left + len(piece.strip())))
            start = end
    piece = text[start:]
    if piece.strip():
        left = start + len(piece) - len(piece.lstrip())
        spans.append((left, left + len(piece.strip())))
    return spans


def _is_sentence_end(text: str, match: re.Match) -> bool:
    if not _NEXT_STARTS_SENTENCE.match(text, match.end()):
        return False
    if not match.group().startswith("."):
        return True
    word = text[: match.start()].rsplit(None, 1)[-1] if text[: match.start()].strip() else ""
    word = word.lstrip("(\"'[").lower()
    return not (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


class PassageSplitter:
    """Cuts documents into passages of whole sentences (see the module docstring).

    The random target lengths are seeded by ``(seed, document id)``, so a document is always cut
    the same way, whatever its position in the corpus or the shard it falls in.
    """

    def __init__(self, settings: PassageSettings | None = None, tokenizer=None):
        self.settings = settings or PassageSettings()
        if tokenizer is None:
            from transformers import AutoTokenizer

            from qcpt.encoder import resolve_model

            try:
                tokenizer = AutoTokenizer.from_pretrained(resolve_model(self.settings.tokenizer))
            except (OSError, ValueError) as error:  # ValueError: a folder without one
                raise QcptError(
                    f"cannot load tokenizer {self.settings.tokenizer!r}: {error}"
                ) from error
        if not getattr(tokenizer, "is_fast", False):
            raise QcptError("passage splitting needs a fast tokenizer (character offsets)")
        self.tokenizer = tokenizer

    def split(self, document: Document) -> list[Passage]:
        """The passages of one document, ids ``<doc id>-<n>`` numbered from 0."""
        text = document.text
        offsets = self.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )["offset_mapping"]
        starts = [start for start, _ in offsets]
        rng = random.Random(f"{self.settings.seed}:{document.id}")
        pieces: list[tuple[int, int]] = []  # character spans of the passages
        current: tuple[int, int] | None = None
        used = 0
        target = self._target(rng)
        for begin, end in self._bounded_sentences(text, starts, offsets):
            count = bisect.bisect_left(starts, end) - bisect.bisect_left(starts, begin)
            if current is not None and used + count > target:
                pieces.append(current)
                current, used, target = None, 0, self._target(rng)
            current = (current[0], end) if current else (begin, end)
            used += count
        if current is not None:
            pieces.append(current)
        return [
            Passage(f"{document.id}-{n}", " ".join(text[a:b].split()), document.title, document.id)
            for n, (a, b) in enumerate(pieces)
        ]

    def _target(self, rng: random.Random) -> int:
        limit = self.settings.max_tokens
        return rng.randint(2, limit) if rng.random() < self.settings.short_probability else limit

    def _bounded_sentences(
        self, text: str, starts: list[int], offsets: list[tuple[int, int]]
    ) -> Iterator[tuple[int, int]]:
        """Sentence spans, with sentences over ``max_tokens`` cut before a word-initial token."""
        limit = self.settings.max_tokens
        for begin, end in split_sentences(text):
            first, stop = bisect.bisect_left(starts, begin), bisect.bisect_left(starts, end)
            while stop - first > limit:
                cut = first + limit
                while cut > first and not text[offsets[cut][0] - 1].isspace():
                    cut -= 1  # back to a word start, so no word is torn apart
                if cut == first:
                    cut = first + limit  # a single word longer than the limit
                yield begin, offsets[cut - 1][1]
                begin, first = offsets[cut][0], cut
            yield begin, end


def split_documents(documents: Iterable[Document], splitter: PassageSplitter) -> Iterator[Passage]:
    """Passages of every document in order; raises on a repeated document id.

    Passage ids ``<doc id>-<n>`` are unique as long as the document ids are. The check keeps a
    64-bit key of each id (:class:`~qcpt.data.store.StreamingKeySet`), so it raises up to a chunk
    of documents after the repeat; two distinct ids sharing a key (about 3e-8 for a million)
    would be reported as a repeat too.
    """
    seen = StreamingKeySet()
    recent: dict[int, str] = {}  # the ids of the keys not yet checked, to name a repeat
    for document in documents:
        key = string_key(document.id)
        recent.setdefault(key, document.id)
        repeated = seen.add(key)
        if repeated is not None:
            _raise_on_repeat(repeated, recent)
        yield from splitter.split(document)
    _raise_on_repeat(seen.flush(), recent)


def _raise_on_repeat(repeated: Sequence[int], recent: dict[int, str]) -> None:
    if len(repeated):
        raise QcptError(f"document id {recent[int(repeated[0])]!r} occurs twice")
    recent.clear()
