"""Token batches for pre-training: each side padded to its own longest text, whole-word masked.

Whole-word masking is ``transformers.DataCollatorForLanguageModeling(whole_word_mask=True)``:
words are found from the fast tokenizer's offsets and every chosen word becomes [MASK] (that
collator supports no random-token replacement with whole words; single-token masking, used for
slow tokenizers, keeps BERT's 80 % [MASK] / 10 % random / 10 % unchanged).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from transformers import DataCollatorForLanguageModeling, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
VIEWS = ("passage", "context", "context_decoder", "passage_decoder")


def _view_seed(batch_seed: int, view: str) -> int:
    """The mask seed of one view of a batch: independent draws for every view, the same in
    every run, process and resumed run."""
    entropy = [batch_seed, VIEWS.index(view)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


class WholeWordMasker:
    """Masks a tokenised batch at ``rate`` (whole words), returning masked ids and labels."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, rate: float, seed: int | None = None):
        whole_words = bool(getattr(tokenizer, "is_fast", False))
        if not whole_words:
            logger.warning("%s is not a fast tokenizer: masking single tokens, not whole words",
                           type(tokenizer).__name__)
        self.whole_words = whole_words
        replace = {"mask_replace_prob": 1.0, "random_replace_prob": 0.0} if whole_words else {}
        self.collator = DataCollatorForLanguageModeling(
            tokenizer, mlm=True, whole_word_mask=whole_words, mlm_probability=rate, seed=seed,
            **replace)

    def __call__(self, tokens: dict[str, torch.Tensor], seed: int | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked ``input_ids`` and ``labels``; ``seed`` fixes this call's masks."""
        collator = self.collator
        if seed is not None:
            collator.generator = torch.Generator().manual_seed(seed)
        elif collator.seed is not None and (not isinstance(collator.generator, torch.Generator)
                                            or collator._generator_pid != os.getpid()):
            collator.create_rng("pt")
        return collator.torch_mask_tokens(
            tokens["input_ids"].clone(), special_tokens_mask=tokens["special_tokens_mask"],
            offset_mapping=tokens.get("offset_mapping") if self.whole_words else None)


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
        return dict(self.tokenizer(texts, truncation=True, max_length=max_length, padding=True,
                                   return_special_tokens_mask=True,
                                   return_offsets_mapping=fast, return_tensors="pt"))

    def _masked(self, tokens: dict[str, torch.Tensor], rate: float, view: str
                ) -> dict[str, torch.Tensor]:
        if rate == 0:  # contrastive-only training: nothing masked, no MLM targets
            return {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"],
                    "labels": torch.full_like(tokens["input_ids"], IGNORE_INDEX)}
        if rate not in self._maskers:
            seed = None if self.seed is None else self.seed + len(self._maskers)
            self._maskers[rate] = WholeWordMasker(self.tokenizer, rate, seed)
        # every view of the batch draws from its own seed: with one seed per batch, a passage and
        # its context of the same padded length got the same mask positions, which identifies
        # the pair without reading a word (a shortcut for the contrastive loss)
        seed = None if self._batch_seed is None else _view_seed(self._batch_seed, view)
        input_ids, labels = self._maskers[rate](tokens, seed)
        return {"input_ids": input_ids, "attention_mask": tokens["attention_mask"],
                "labels": labels}

    def _seed_of(self, examples: list[dict]) -> int | None:
        """A seed from (seed, epoch, passage indices) when items carry them: the same batch is
        masked the same way in every run, process and resumed run."""
        if self.seed is None or any("index" not in e for e in examples):
            return None
        entropy = [self.seed, int(examples[0].get("epoch", 0)), *(int(e["index"])
                                                                  for e in examples)]
        return int(np.random.SeedSequence(entropy).generate_state(1)[0])

    def _decoder_view(self, tokens: dict[str, torch.Tensor], view: str
                      ) -> dict[str, torch.Tensor]:
        if self.decoder == "masked":
            return self._masked(tokens, self.decoder_mask_rate, view)
        return {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
