"""CoT-MAE's model: a masked encoder whose vector helps a shallow decoder rebuild the context.

References: Wu et al., "ConTextual Masked Auto-Encoder for Dense Passage Retrieval" (CoT-MAE,
2023); Wu et al., "Query-as-context Pre-training for Dense Passage Retrieval" (CoT-MAE-qc, 2023).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from qcpt.encoder import freeze_pooler, pool
from qcpt.pretrain.losses import masked_lm_loss, next_token_loss
from qcpt.pretrain.modeling import backbone_of, fresh_layers, mlm_head_of, run_layers


def local_causal_mask(length: int, window: int, device=None) -> torch.Tensor:
    """Boolean (length, length) mask, True where attention is *blocked*.

    Position t sees position 0 (the encoder's vector) and the last ``window`` tokens up to and
    including itself (t - window + 1 .. t); nothing after t. This is the authors' ``attn_window``
    (CoT-MAE-qc: 3, so position i sees 0 and i-2 .. i). Built explicitly as a boolean mask, so no
    attention kernel can drop it (the authors' additive dtype-minimum mask is ignored by some
    kernels).
    """
    if window < 1:
        raise ValueError(f"window counts the current token, so it is at least 1, got {window}")
    positions = torch.arange(length, device=device)
    offset = positions.unsqueeze(1) - positions.unsqueeze(0)  # row t, column j: t - j
    allowed = (offset >= 0) & (offset < window)
    allowed[:, 0] = True
    return ~allowed


class AutoregressiveDecoder(nn.Module):
    """GPT-2-style pre-LayerNorm block(s) with a local causal window, then the tied MLM head.

    Input: the encoder vector followed by the embeddings of the *unmasked* context tokens
    1.. (shared word / position embeddings); output: summed next-token loss and count.
    """

    def __init__(
        self, config, embeddings: nn.Module, head: nn.Module, layers: int = 1, window: int = 3
    ):
        super().__init__()
        self.embeddings = embeddings
        self.head = head
        self.window = window
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                config.hidden_size,
                config.num_attention_heads,
                config.intermediate_size,
                dropout=config.hidden_dropout_prob,
                activation="gelu",
                batch_first=True,
                norm_first=True,
                layer_norm_eps=config.layer_norm_eps,
            )
            for _ in range(layers)
        )
        self.final_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def states(self, vectors: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        """Decoder states (batch, length, dim) of ``[vector, tokens 1..]``."""
        embedded = self.embeddings(input_ids=input_ids)
        hidden = torch.cat([vectors.unsqueeze(1).to(embedded.dtype), embedded[:, 1:]], dim=1)
        mask = local_causal_mask(hidden.shape[1], self.window, hidden.device)
        for block in self.blocks:
            hidden = block(hidden, src_mask=mask)
        return self.final_norm(hidden)

    def forward(
        self,
        vectors: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return next_token_loss(
            self.states(vectors, input_ids), input_ids, attention_mask, self.head
        )


class MaskedDecoder(nn.Module):
    """Original CoT-MAE decoder: bidirectional layer(s) over ``[vector, masked context 1..]``,
    MLM loss on the context's masked positions through the tied MLM head."""

    def __init__(self, mlm_model, embeddings: nn.Module, head: nn.Module, layers: int = 1):
        super().__init__()
        self.embeddings = embeddings
        self.head = head
        self.layers = fresh_layers(mlm_model, layers)
        self.config = mlm_model.config

    def forward(
        self,
        vectors: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        embedded = self.embeddings(input_ids=input_ids)
        hidden = torch.cat([vectors.unsqueeze(1).to(embedded.dtype), embedded[:, 1:]], dim=1)
        hidden = run_layers(self.layers, hidden, attention_mask, self.config)
        return masked_lm_loss(hidden, labels, self.head)


class CotMaeModel(nn.Module):
    """Encoder (MLM) + decoder; ``forward`` takes a :class:`~qcpt.pretrain.collator.PairCollator`
    batch and returns summed losses and counts: ``mlm`` (encoder) and ``decoder``.

    Asymmetric (query-as-context): only passages are encoded; the decoder rebuilds the context
    from the passage vector. Symmetric (original CoT-MAE, span contexts): passages and contexts
    are both encoded, and each one's vector helps decode the other.
    The vector is the pooled last layer ([CLS] as the papers, or mean).
    """

    def __init__(
        self,
        mlm_model,
        *,
        pooling: Literal["cls", "mean"] = "cls",
        decoder: Literal["autoregressive", "masked"] = "autoregressive",
        decoder_layers: int = 1,
        attn_window: int = 3,
        symmetric: bool = False,
    ):
        super().__init__()
        self.mlm_model = mlm_model
        self.backbone = backbone_of(mlm_model)
        self.mlm_head = mlm_head_of(mlm_model)
        self.pooling = pooling
        self.symmetric = symmetric
        embeddings = self.backbone.embeddings
        if decoder == "autoregressive":
            self.decoder = AutoregressiveDecoder(
                mlm_model.config, embeddings, self.mlm_head, decoder_layers, attn_window
            )
        else:
            self.decoder = MaskedDecoder(mlm_model, embeddings, self.mlm_head, decoder_layers)
        freeze_pooler(self.backbone)

    def encode(
        self, tokens: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(vectors, summed MLM loss, masked count)`` of one masked batch."""
        last = self.backbone(
            input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
        ).last_hidden_state
        loss, count = masked_lm_loss(last, tokens["labels"], self.mlm_head)
        return pool(last, tokens["attention_mask"], self.pooling), loss, count

    def forward(
        self,
        passage: dict,
        context_decoder: dict,
        context: dict | None = None,
        passage_decoder: dict | None = None,
    ) -> dict[str, torch.Tensor]:
        vectors, mlm, mlm_count = self.encode(passage)
        decoder, decoder_count = self.decoder(vectors, **context_decoder)
        if self.symmetric:
            context_vectors, context_mlm, context_count = self.encode(context)
            back, back_count = self.decoder(context_vectors, **passage_decoder)
            mlm, mlm_count = mlm + context_mlm, mlm_count + context_count
            decoder, decoder_count = decoder + back, decoder_count + back_count
        return {
            "mlm": mlm,
            "mlm_count": mlm_count,
            "decoder": decoder,
            "decoder_count": decoder_count,
        }
