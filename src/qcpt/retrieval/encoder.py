"""Dense encoder: any Hugging Face encoder, CLS or mean pooling, length-bucketed batches.

Texts are tokenised without padding, sorted by token length and cut into batches, so each
batch is padded only to its own longest member; embeddings come back in input order. bf16
autocast is an option (on CPUs with AVX512-BF16 or AMX it is several times faster than fp32).

Reference: Karpukhin et al., "Dense Passage Retrieval for Open-Domain Question Answering" (2020);
Gao & Callan, "Unsupervised Corpus Aware Language Model Pre-training for Dense Passage
Retrieval" (coCondenser, 2022) for the 32/144 query/passage lengths.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field
from tqdm.auto import tqdm

from qcpt.data import Document
from qcpt.data.text import document_text
from qcpt.encoder.checkpoints import DEFAULT_MODEL, read_model_defaults, resolve_model
from qcpt.encoder.pooling import pool
from qcpt.encoder.spec import EncoderSpec
from qcpt.errors import QcptError
from qcpt.utils.devices import resolve_device, resolve_precision

logger = logging.getLogger(__name__)

PAPER_QUERY_MAX_LENGTH = 32
PAPER_PASSAGE_MAX_LENGTH = 144
_TOKENIZE_CHUNK = 8192


class EncoderSettings(EncoderSpec):
    """How texts become vectors at search time. ``None`` means: take it from the checkpoint,
    else the default."""

    model: str = DEFAULT_MODEL
    query_max_length: int | None = Field(None, gt=0, description="default 32 (paper)")
    passage_max_length: int | None = Field(None, gt=0, description="default 144 (paper)")
    use_model_max_length: bool = Field(
        False, description="use the checkpoint's max_seq_length for queries and passages"
    )
    title_separator: str | None = Field(
        None,
        description="between title and text; '{sep}' stands for the tokenizer's separator "
        "token; default: the checkpoint's recipe, else a space (BEIR, Tevatron)",
    )
    query_prefix: str | None = Field(
        None,
        description="put before every query; default: the checkpoint's sentence-transformers "
        "'query' prompt, else none (E5: 'query: ')",
    )
    passage_prefix: str | None = Field(
        None,
        description="put before every passage; default: the checkpoint's sentence-transformers "
        "'document' (or 'passage', 'corpus') prompt, else none",
    )
    batch_size: int = Field(32, gt=0)
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    device: str = "auto"


class DenseEncoder:
    """Encodes queries and passages with one shared Hugging Face encoder.

    Inputs are strings or :class:`~qcpt.data.Document` objects; outputs are float32 arrays of
    shape (n, dim), L2-normalised when the resolved settings say so.
    """

    def __init__(self, settings: EncoderSettings | None = None, **overrides):
        from transformers import AutoModel, AutoTokenizer

        settings = (settings or EncoderSettings()).model_copy(update=overrides)
        self.model_path = resolve_model(settings.model)
        defaults = read_model_defaults(self.model_path)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
            self.model = AutoModel.from_pretrained(self.model_path)
        except (OSError, ValueError) as error:  # ValueError: a folder without a tokenizer
            raise QcptError(f"cannot load encoder {settings.model!r}: {error}") from error
        self.device = resolve_device(settings.device)
        self.precision = resolve_precision(settings.precision, self.device)
        self.model.to(self.device).eval()

        model_max = defaults.get("max_seq_length") or self.tokenizer.model_max_length
        if settings.use_model_max_length:
            query_len = passage_len = int(model_max)
        else:
            query_len = defaults.get("query_max_length", PAPER_QUERY_MAX_LENGTH)
            passage_len = defaults.get("passage_max_length", PAPER_PASSAGE_MAX_LENGTH)
        separator = settings.title_separator or defaults.get("title_separator") or " "
        pooling, normalize = settings.vector_settings(defaults)
        self.settings = settings.model_copy(
            update={
                "pooling": pooling,
                "normalize": normalize,
                "query_max_length": settings.query_max_length or query_len,
                "passage_max_length": settings.passage_max_length or passage_len,
                "query_prefix": _first_set(settings.query_prefix, defaults.get("query_prefix")),
                "passage_prefix": _first_set(
                    settings.passage_prefix, defaults.get("passage_prefix")
                ),
                "title_separator": separator.replace(
                    "{sep}", f" {self.tokenizer.sep_token} " if self.tokenizer.sep_token else " "
                ),
            }
        )
        limit = getattr(self.model.config, "max_position_embeddings", None)
        for name in ("query_max_length", "passage_max_length"):
            if limit and getattr(self.settings, name) > limit:
                raise QcptError(
                    f"{name}={getattr(self.settings, name)} exceeds the model's {limit} positions"
                )

    @property
    def dim(self) -> int:
        """Embedding size."""
        return int(self.model.config.hidden_size)

    def describe(self) -> dict:
        """The resolved settings, for manifests and reports."""
        return {
            **self.settings.model_dump(),
            "precision": self.precision,
            "model_path": self.model_path,
            "dim": self.dim,
        }

    def encode_queries(self, queries: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Encode query strings (query prefix, query max length)."""
        texts = [self.settings.query_prefix + q for q in queries]
        return self.encode_texts(texts, self.settings.query_max_length, show_progress, "queries")

    def encode_passages(
        self, passages: Sequence[Document | str], show_progress: bool = False
    ) -> np.ndarray:
        """Encode documents or strings (title joined, passage prefix, passage max length)."""
        texts = [
            self.settings.passage_prefix
            + (p if isinstance(p, str) else document_text(p, self.settings.title_separator))
            for p in passages
        ]
        return self.encode_texts(texts, self.settings.passage_max_length, show_progress, "passages")

    def encode_texts(
        self,
        texts: Sequence[str],
        max_length: int,
        show_progress: bool = False,
        unit: str = "texts",
    ) -> np.ndarray:
        """Encode raw strings, truncated to ``max_length`` tokens, in length-sorted batches."""
        output = np.empty((len(texts), self.dim), dtype=np.float32)
        with tqdm(
            total=len(texts),
            desc=f"encoding {unit}",
            unit=unit[:-1] if unit.endswith("s") else unit,
            disable=not show_progress,
            smoothing=0.05,
        ) as bar:
            for start in range(0, len(texts), _TOKENIZE_CHUNK):
                chunk = list(texts[start : start + _TOKENIZE_CHUNK])
                token_ids = self.tokenizer(
                    chunk,
                    truncation=True,
                    max_length=max_length,
                    padding=False,
                    return_attention_mask=False,
                    return_token_type_ids=False,
                )["input_ids"]
                order = np.argsort([-len(ids) for ids in token_ids], kind="stable")
                for b in range(0, len(order), self.settings.batch_size):
                    batch = order[b : b + self.settings.batch_size]
                    output[start + batch] = self._forward([token_ids[i] for i in batch])
                    bar.update(len(batch))
        return output

    def _forward(self, token_ids: list[list[int]]) -> np.ndarray:
        import torch  # loaded with the model already; not at import, so `qcpt --help` is quick

        input_ids, attention_mask = _pad(token_ids, self.tokenizer.pad_token_id or 0)
        input_ids = torch.from_numpy(input_ids).to(self.device)
        attention_mask = torch.from_numpy(attention_mask).to(self.device)
        with (
            torch.inference_mode(),
            torch.autocast(
                self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"
            ),
        ):
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
        vectors = pool(hidden.float(), attention_mask, self.settings.pooling)
        if self.settings.normalize:
            vectors = torch.nn.functional.normalize(vectors, dim=-1)
        return vectors.cpu().numpy()


def _pad(token_ids: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(ids) for ids in token_ids)
    input_ids = np.full((len(token_ids), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(token_ids), width), dtype=np.int64)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
    return input_ids, attention_mask


def _first_set(*values: str | None) -> str:
    """The first value that is not None ('' is a chosen empty prefix), else ''."""
    return next((value for value in values if value is not None), "")
