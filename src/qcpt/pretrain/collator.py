"""Token batches for pre-training: each side padded to its own longest text, whole-word masked.

Default masking is ``transformers.DataCollatorForLanguageModeling(whole_word_mask=True)``:
words are found from the fast tokenizer's offsets, each word is chosen with probability
``rate`` and every chosen word becomes [MASK] (that collator supports no random-token
replacement with whole words; single-token masking, used for slow tokenizers, keeps BERT's
80 % [MASK] / 10 % random / 10 % unchanged).

:class:`MaskingSettings` offers the original recipes' variants (Devlin et al. 2019,
``create_pretraining_data.py``, which Condenser and CoT-MAE reuse): an exact count of
``max(1, round(rate x words))`` words per sequence (so a short query always has a target),
WordPiece word grouping (a word is a token and its ``##`` continuations), and 80/10/10
replacement; any of them switches to :class:`WordMasker`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from transformers import DataCollatorForLanguageModeling, PreTrainedTokenizerBase

from qcpt.errors import QcptError
from qcpt.pretrain.config import MaskingSettings
from qcpt.pretrain.losses.mlm import IGNORE_INDEX

logger = logging.getLogger(__name__)

VIEWS = ("passage", "context", "context_decoder", "passage_decoder")


def _view_seed(batch_seed: int, view: str) -> int:
    """The mask seed of one view of a batch: independent draws for every view, the same in
    every run, process and resumed run."""
    entropy = [batch_seed, VIEWS.index(view)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def make_masker(
    tokenizer: PreTrainedTokenizerBase,
    rate: float,
    seed: int | None = None,
    settings: MaskingSettings | None = None,
):
    """transformers' whole-word masker for the default settings, else a :class:`WordMasker`."""
    if settings is None or settings.is_default:
        return WholeWordMasker(tokenizer, rate, seed)
    return WordMasker(tokenizer, rate, settings, seed)


class WordMasker:
    """Whole-word masking with the :class:`MaskingSettings` variants; returns masked ids and
    labels (-100 where nothing is predicted). ``seed`` per call fixes that call's draws."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        rate: float,
        settings: MaskingSettings,
        seed: int | None = None,
    ):
        if settings.words == "offsets" and not getattr(tokenizer, "is_fast", False):
            raise QcptError(
                f"masking.words: offsets needs a fast tokenizer, "
                f"{type(tokenizer).__name__} is not; use wordpiece"
            )
        self.tokenizer = tokenizer
        self.rate = rate
        self.settings = settings
        self.generator = torch.Generator().manual_seed(0 if seed is None else seed)
        self.mask_id = tokenizer.convert_tokens_to_ids(tokenizer.mask_token)
        self.vocab_size = len(tokenizer)

    def word_ids(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        """(batch, length) word number of every token from 1, 0 for special and pad tokens."""
        special = tokens["special_tokens_mask"].bool() | ~tokens["attention_mask"].bool()
        if self.settings.words == "offsets":
            offsets = tokens["offset_mapping"]
            previous_end = torch.roll(offsets[:, :, 1], 1, dims=1)
            previous_special = torch.roll(special, 1, dims=1)
            starts = (offsets[:, :, 0] != previous_end) | previous_special
        else:
            pieces = [
                self.tokenizer.convert_ids_to_tokens(row) for row in tokens["input_ids"].tolist()
            ]
            starts = torch.tensor([[not piece.startswith("##") for piece in row] for row in pieces])
        starts[:, 0] = True
        starts &= ~special
        words = torch.cumsum(starts.long(), dim=1)
        return words.masked_fill(special, 0)

    def __call__(
        self, tokens: dict[str, torch.Tensor], seed: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        generator = self.generator if seed is None else torch.Generator().manual_seed(seed)
        input_ids = tokens["input_ids"].clone()
        words = self.word_ids(tokens)
        counts = words.max(dim=1).values
        chosen = torch.zeros(len(words), int(counts.max()) + 1, dtype=torch.bool)
        for row, count in enumerate(counts.tolist()):
            if count == 0:
                continue
            if self.settings.count == "exact":
                k = max(1, round(self.rate * count))
                picked = torch.randperm(count, generator=generator)[:k] + 1
            else:
                picked = torch.nonzero(torch.rand(count, generator=generator) < self.rate)[:, 0] + 1
            chosen[row, picked] = True
        masked = torch.gather(chosen, 1, words) & (words > 0)
        labels = torch.where(masked, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
        if self.settings.replacement == "mask":
            input_ids[masked] = self.mask_id
            return input_ids, labels
        draw = torch.rand(input_ids.shape, generator=generator)
        random_tokens = torch.randint(self.vocab_size, input_ids.shape, generator=generator)
        input_ids[masked & (draw < 0.8)] = self.mask_id
        randomised = masked & (draw >= 0.8) & (draw < 0.9)
        input_ids[randomised] = random_tokens[randomised]
        return input_ids, labels


class WholeWordMasker:
    """Masks a tokenised batch at ``rate`` (whole words), returning masked ids and labels."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, rate: float, seed: int | None = None):
        whole_words = bool(getattr(tokenizer, "is_fast", False))
        if not whole_words:
            logger.warning(
                "%s is not a fast tokenizer: masking single tokens, not whole words",
                type(tokenizer).__name__,
            )
        self.whole_words = whole_words
        replace = {"mask_replace_prob": 1.0, "random_replace_prob": 0.0} if whole_words else {}
        self.collator = DataCollatorForLanguageModeling(
            tokenizer,
            mlm=True,
            whole_word_mask=whole_words,
            mlm_probability=rate,
            seed=seed,
            **replace,
        )

    def __call__(
        self, tokens: dict[str, torch.Tensor], seed: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked ``input_ids`` and ``labels``; ``seed`` fixes this call's masks."""
        collator = self.collator
        if seed is not None:
            collator.generator = torch.Generator().manual_seed(seed)
        elif collator.seed is not None and (
            not isinstance(collator.generator, torch.Generator)
            or collator._generator_pid != os.getpid()
        ):
            collator.create_rng("pt")
        return collator.torch_mask_tokens(
            tokens["input_ids"].clone(),
            special_tokens_mask=tokens["special_tokens_mask"],
            offset_mapping=tokens.get("offset_mapping") if self.whole_words else None,
        )


@dataclass
class PairCollator:
    """Tokenise a list of :class:`~qcpt.pretrain.dataset.PairsDataset` items.

    Returns a dict of token dicts (``input_ids``, ``attention_mask`` and, where masked,
    ``labels`` with -100 on unmasked positions):

    - ``passage``: passages masked at ``mask_rate`` (the encoder's input);
    - ``context``: contexts masked at ``mask_rate``, when ``encode_context`` (contrastive, or
      symmetric generative);
    - ``context_decoder`` / ``passage_decoder``: what a decoder reconstructs. ``decoder =
      "autoregressive"``: the unmasked text (the model derives next-token targets);
      ``"masked"``: the text masked at ``decoder_mask_rate``. ``passage_decoder`` only when
      ``decode_passage`` (symmetric mode).
    """

    tokenizer: PreTrainedTokenizerBase
    passage_max_length: int = 144
    context_max_length: int = 144
    mask_rate: float = 0.15
    encode_context: bool = True
    decoder: Literal["autoregressive", "masked"] | None = None
    decoder_mask_rate: float = 0.45
    decode_passage: bool = False
    seed: int | None = None
    masking: MaskingSettings | None = None
    _maskers: dict = field(default_factory=dict, init=False, repr=False)
    _batch_seed: int | None = field(default=None, init=False, repr=False)

    def __call__(self, examples: list[dict]) -> dict[str, dict[str, torch.Tensor]]:
        self._batch_seed = self._seed_of(examples)
        passages = self._tokenize([e["passage"] for e in examples], self.passage_max_length)
        contexts = self._tokenize([e["context"] for e in examples], self.context_max_length)
        batch = {"passage": self._masked(passages, self.mask_rate, "passage")}
        if self.encode_context:
            batch["context"] = self._masked(contexts, self.mask_rate, "context")
        if self.decoder is not None:
            batch["context_decoder"] = self._decoder_view(contexts, "context_decoder")
            if self.decode_passage:
                batch["passage_decoder"] = self._decoder_view(passages, "passage_decoder")
        return batch

    def _tokenize(self, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
        fast = bool(getattr(self.tokenizer, "is_fast", False))
        return dict(
            self.tokenizer(
                texts,
                truncation=True,
                max_length=max_length,
                padding=True,
                return_special_tokens_mask=True,
                return_offsets_mapping=fast,
                return_tensors="pt",
            )
        )

    def _masked(
        self, tokens: dict[str, torch.Tensor], rate: float, view: str
    ) -> dict[str, torch.Tensor]:
        if rate == 0:  # contrastive-only training: nothing masked, no MLM targets
            return {
                "input_ids": tokens["input_ids"],
                "attention_mask": tokens["attention_mask"],
                "labels": torch.full_like(tokens["input_ids"], IGNORE_INDEX),
            }
        if rate not in self._maskers:
            seed = None if self.seed is None else self.seed + len(self._maskers)
            self._maskers[rate] = make_masker(self.tokenizer, rate, seed, self.masking)
        # every view of the batch draws from its own seed: with one seed per batch, a passage and
        # its context of the same padded length got the same mask positions, which identifies
        # the pair without reading a word (a shortcut for the contrastive loss)
        seed = None if self._batch_seed is None else _view_seed(self._batch_seed, view)
        input_ids, labels = self._maskers[rate](tokens, seed)
        return {
            "input_ids": input_ids,
            "attention_mask": tokens["attention_mask"],
            "labels": labels,
        }

    def _seed_of(self, examples: list[dict]) -> int | None:
        """A seed from (seed, epoch, passage indices) when items carry them: the same batch is
        masked the same way in every run, process and resumed run."""
        if self.seed is None or any("index" not in e for e in examples):
            return None
        entropy = [
            self.seed,
            int(examples[0].get("epoch", 0)),
            *(int(e["index"]) for e in examples),
        ]
        return int(np.random.SeedSequence(entropy).generate_state(1)[0])

    def _decoder_view(self, tokens: dict[str, torch.Tensor], view: str) -> dict[str, torch.Tensor]:
        if self.decoder == "masked":
            return self._masked(tokens, self.decoder_mask_rate, view)
        return {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
