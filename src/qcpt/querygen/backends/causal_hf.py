"""Few-shot query generation with a Hugging Face causal LM, the prompt prefix computed once.

The few-shot prefix (:class:`~qcpt.querygen.prompts.FewShotPrompt`) is run through the model
once; its key/value cache is copied into every batch. Each batch holds ``batch_size`` passages,
left-padded between prefix and passage (masked, with positions that skip the padding), so only
the passage tokens are processed; then every row is repeated ``num_queries`` times and sampled
(top-k, top-p, temperature) token by token until a line break, EOS or ``max_new_tokens``,
dropping finished rows from the cache as it goes. GGUF files load through transformers'
``gguf_file`` (dequantised; needs ``gguf``); ``precision`` bf16/fp16 casts the weights. One torch
generator seeded per batch drives sampling.

References: Bonifacio et al., "InPars" (2022) for few-shot query generation; Holtzman et al.,
"The Curious Case of Neural Text Degeneration" (2020) for top-p sampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from qcpt.errors import QcptError
from qcpt.querygen.backends.base import (
    QueryGenerator,
    causal_description,
    passage_input,
)
from qcpt.querygen.backends.models import is_gguf, resolve_causal_model
from qcpt.querygen.config import PAPER_NUM_QUERIES, GenerationSettings
from qcpt.querygen.prompts import FewShotPrompt
from qcpt.utils.devices import resolve_device, resolve_precision, torch_dtype


def sample_next(
    logits: torch.Tensor,
    top_k: int,
    top_p: float,
    temperature: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """One token id per row of ``logits`` (rows, vocab): temperature, then top-k, then top-p."""
    logits = logits.float() / temperature
    if top_k:
        values, indices = logits.topk(min(top_k, logits.shape[-1]), dim=-1)
    else:
        values, indices = logits.sort(dim=-1, descending=True)
    probs = values.softmax(dim=-1)
    if top_p < 1:
        outside = probs.cumsum(dim=-1) - probs >= top_p  # the most likely token always stays
        probs = probs.masked_fill(outside, 0.0)
    choice = torch.multinomial(probs, 1, generator=generator)
    return indices.gather(1, choice).squeeze(1)


class CausalHFGenerator(QueryGenerator):
    """Few-shot prompted causal LM on transformers with a shared prefix cache."""

    def __init__(self, settings: GenerationSettings, prompt: FewShotPrompt):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.settings = settings
        self.prompt = prompt
        self.model_path = resolve_causal_model(settings.resolved_model())
        location, extra = self.model_path, {}
        if is_gguf(self.model_path):
            location, extra = (
                str(Path(self.model_path).parent),
                {"gguf_file": Path(self.model_path).name},
            )
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(location, **extra)
            self.model = AutoModelForCausalLM.from_pretrained(location, **extra)
            self.model.to(torch_dtype(resolve_precision(settings.precision, settings.device)))
        except (OSError, ImportError, ValueError) as error:
            raise QcptError(
                f"cannot load causal model {settings.resolved_model()!r}: {error}"
            ) from error
        self.device = resolve_device(settings.device)
        self.model.to(self.device).eval()
        self.prefix_ids = self.tokenizer(prompt.prefix())["input_ids"]
        self.cue_ids = self._ids(prompt.query_cue())
        vocab = [self.tokenizer.decode([i]) for i in range(len(self.tokenizer))]
        stops = torch.tensor(["\n" in token for token in vocab], dtype=torch.bool)
        if self.tokenizer.eos_token_id is not None:
            stops[self.tokenizer.eos_token_id] = True
        self.stops = stops.to(self.device)
        self._prefix_cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _prefix(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-layer (keys, values) of the few-shot prefix, computed on first use."""
        if self._prefix_cache is None:
            ids = torch.tensor([self.prefix_ids], device=self.device)
            with torch.inference_mode():
                cache = self.model(input_ids=ids, use_cache=True, logits_to_keep=1).cache
            self._prefix_cache = [(layer.keys, layer.values) for layer in cache.layers]
        return self._prefix_cache

    def generate(self, passages: Sequence, num_queries: int | None, seed: int) -> list[list[str]]:
        from transformers import DynamicCache

        s = self.settings
        n = num_queries or PAPER_NUM_QUERIES
        head_limit = max(1, s.max_input_tokens - len(self.cue_ids))
        rows = [
            self._ids(self.prompt.passage_head(passage_input(p, s.with_title)))[:head_limit]
            + self.cue_ids
            for p in passages
        ]
        batch, width, prefix_len = len(rows), max(map(len, rows)), len(self.prefix_ids)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((batch, width), pad, dtype=torch.long)
        mask = torch.zeros((batch, prefix_len + width), dtype=torch.long)
        mask[:, :prefix_len] = 1
        for i, ids in enumerate(rows):
            input_ids[i, width - len(ids) :] = torch.tensor(ids)
            mask[i, prefix_len + width - len(ids) :] = 1
        lengths = torch.tensor([len(ids) for ids in rows])
        # positions continue the prefix and skip the padding
        positions = (prefix_len + torch.arange(width) - (width - lengths)[:, None]).clamp(
            min=prefix_len
        )
        cache = DynamicCache(
            ddp_cache_data=[
                (k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1))
                for k, v in self._prefix()
            ],
            config=self.model.config,
        )
        generator = torch.Generator(self.device).manual_seed(seed)
        with torch.inference_mode():
            logits = self.model(
                input_ids=input_ids.to(self.device),
                attention_mask=mask.to(self.device),
                position_ids=positions.to(self.device),
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            ).logits[:, -1]
            tokens = self._sample_rows(cache, logits, mask, prefix_len + lengths, n, generator)
        texts = [self.tokenizer.decode(ids, skip_special_tokens=True) for ids in tokens]
        queries = [text.split("\n", 1)[0] for text in texts]
        return [queries[i * n : (i + 1) * n] for i in range(batch)]

    def _sample_rows(self, cache, logits, mask, next_positions, n, generator) -> list[list[int]]:
        """Repeat each row ``n`` times and sample until every row has stopped."""
        s = self.settings
        cache.batch_repeat_interleave(n)
        logits = logits.repeat_interleave(n, dim=0)
        mask = mask.repeat_interleave(n, dim=0).to(self.device)
        positions = next_positions.repeat_interleave(n).to(self.device)
        active = torch.arange(len(logits), device=self.device)
        tokens: list[list[int]] = [[] for _ in range(len(logits))]
        for step in range(s.max_new_tokens):
            next_ids = sample_next(logits, s.top_k, s.top_p, s.temperature, generator)
            for row, token in zip(active.tolist(), next_ids.tolist(), strict=True):
                tokens[row].append(token)
            running = ~self.stops[next_ids]
            if step == s.max_new_tokens - 1 or not running.any():
                break
            if not running.all():
                keep = running.nonzero().squeeze(1)
                cache.batch_select_indices(keep)
                active, next_ids = active[keep], next_ids[keep]
                mask, positions = mask[keep], positions[keep]
            mask = torch.cat([mask, mask.new_ones((len(mask), 1))], dim=1)
            logits = self.model(
                input_ids=next_ids[:, None],
                attention_mask=mask,
                position_ids=positions[:, None],
                cache=cache,
                use_cache=True,
            ).logits[:, -1]
            positions = positions + 1
        return tokens

    def describe(self) -> dict:
        s = self.settings
        return {
            **causal_description(
                s, self.prompt, self.model_path, "transformers", "line break or EOS"
            ),
            "precision": s.precision,
            "device": str(self.device),
        }
