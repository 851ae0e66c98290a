"""doc2query with a Hugging Face sequence-to-sequence model (T5), by top-k/top-p sampling.

The input is ``input_prefix + passage`` (``text2query: `` for
``doc2query/all-with_prefix-t5-base-v1``); ``num_queries`` samples are drawn per passage with
``generate(do_sample=True, num_return_sequences=...)``. The torch random state is seeded with
the batch's seed, so a batch always gives the same queries on the same device.

References: Nogueira et al., "Document Expansion by Query Prediction" (2019) and Nogueira & Lin,
"From doc2query to docTTTTTquery" (2019); Wu et al., "Query-as-context Pre-training for Dense
Passage Retrieval" (2023) for 20 samples with top-k 25, top-p 0.95.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from qcpt.data.passages import Passage
from qcpt.errors import QcptError
from qcpt.querygen.backends.base import QueryGenerator, passage_input
from qcpt.querygen.config import PAPER_NUM_QUERIES, GenerationSettings
from qcpt.utils.devices import resolve_device, resolve_precision, torch_dtype


class Seq2SeqGenerator(QueryGenerator):
    """Samples queries from a seq2seq doc2query model (local folder or hub id)."""

    def __init__(self, settings: GenerationSettings):
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        from qcpt.encoder import resolve_model

        self.settings = settings
        self.model_path = resolve_model(settings.resolved_model())
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(
                self.model_path,
                dtype=torch_dtype(resolve_precision(settings.precision, settings.device)),
            )
        except (OSError, ValueError) as error:  # ValueError: a folder without a tokenizer
            raise QcptError(
                f"cannot load seq2seq model {settings.resolved_model()!r}: "
                f"{str(error).rstrip('.')}. Without a hub, pass a local checkpoint folder "
                "with --model"
            ) from error
        self.device = resolve_device(settings.device)
        self.model.to(self.device).eval()

    def generate(
        self, passages: Sequence[Passage], num_queries: int | None, seed: int
    ) -> list[list[str]]:
        n = num_queries or PAPER_NUM_QUERIES
        s = self.settings
        inputs = self.tokenizer(
            [s.input_prefix + passage_input(p, s.with_title) for p in passages],
            truncation=True,
            max_length=s.max_input_tokens,
            padding=True,
            return_tensors="pt",
        ).to(self.device)
        torch.manual_seed(seed)
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                do_sample=True,
                top_k=s.top_k,
                top_p=s.top_p,
                temperature=s.temperature,
                max_new_tokens=s.max_new_tokens,
                num_return_sequences=n,
            )
        texts = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        return [texts[i * n : (i + 1) * n] for i in range(len(passages))]

    def describe(self) -> dict:
        s = self.settings
        return {
            "backend": "seq2seq",
            "model": s.resolved_model(),
            "model_path": self.model_path,
            "input_prefix": s.input_prefix,
            "sampling": {
                "top_k": s.top_k,
                "top_p": s.top_p,
                "temperature": s.temperature,
                "max_new_tokens": s.max_new_tokens,
            },
            "device": str(self.device),
        }
