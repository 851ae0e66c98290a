"""Batches of (query, group) examples as token tensors, each side padded to its own longest."""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase


@dataclass
class GroupCollator:
    """Tokenise a list of :class:`~qcpt.finetune.dataset.GroupsDataset` items.

    Returns ``{"query": {input_ids, attention_mask, ...}, "passages": {...}}``: queries truncated
    to ``query_max_length`` tokens, passages (all groups concatenated in order, so passage
    ``i * group_size`` is the positive of query ``i``) to ``passage_max_length``.
    """

    tokenizer: PreTrainedTokenizerBase
    query_max_length: int = 32
    passage_max_length: int = 144

    def __call__(self, examples: list[dict]) -> dict[str, dict]:
        queries = [example["query"] for example in examples]
        passages = [text for example in examples for text in example["passages"]]
        return {
            "query": self._tokenize(queries, self.query_max_length),
            "passages": self._tokenize(passages, self.passage_max_length),
        }

    def _tokenize(self, texts: list[str], max_length: int) -> dict:
        return dict(
            self.tokenizer(
                texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            )
        )
