"""coCondenser's model: an encoder with a Condenser head, trained by MLM and contrast.

Reference: Gao & Callan, "Condenser: a Pre-training Architecture for Dense Retrieval" (2021) and
"Unsupervised Corpus Aware Language Model Pre-training for Dense Passage Retrieval" (2022).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from qcpt.encoder import freeze_pooler, pool
from qcpt.errors import QcptError
from qcpt.pretrain.losses import masked_lm_loss
from qcpt.pretrain.modeling import backbone_of, fresh_layers, mlm_head_of, run_layers


class CondenserModel(nn.Module):
    """Backbone + Condenser head; ``forward`` encodes one masked batch.

    The head reads the last layer's vector (position 0) followed by the token states of layer
    ``skip_from`` (1-based; default half the depth), runs ``head_layers`` fresh transformer
    layers and predicts the masked tokens with the (tied) MLM head, so the vector must carry
    what the upper layers add. The vector is the pooled last layer (``pooling``: [CLS] as the
    paper, or mean), optionally L2-normalised for the contrastive loss.
    """

    def __init__(
        self,
        mlm_model,
        *,
        pooling: Literal["cls", "mean"] = "cls",
        normalize: bool = False,
        skip_from: int | None = None,
        head_layers: int = 2,
        late_mlm: bool = True,
    ):
        super().__init__()
        depth = mlm_model.config.num_hidden_layers
        self.skip_from = skip_from if skip_from is not None else max(1, depth // 2)
        if not 1 <= self.skip_from <= depth:
            raise QcptError(f"skip_from must be a layer between 1 and {depth}, got {skip_from}")
        self.mlm_model = mlm_model
        self.backbone = backbone_of(mlm_model)
        self.mlm_head = mlm_head_of(mlm_model)
        self.head = fresh_layers(mlm_model, head_layers)
        self.pooling = pooling
        self.normalize = normalize
        self.late_mlm = late_mlm
        freeze_pooler(self.backbone)

    def encode(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Backbone pass: ``vectors`` (batch, dim) plus the token states the heads read."""
        output = self.backbone(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True
        )
        last = output.hidden_states[-1]
        vectors = pool(last, attention_mask, self.pooling)
        return {
            "vectors": nn.functional.normalize(vectors, dim=-1) if self.normalize else vectors,
            "pooled": vectors,
            "last": last,
            "skip": output.hidden_states[self.skip_from],
            "attention_mask": attention_mask,
            "labels": labels,
        }

    def mlm_terms(self, encoded: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Summed losses and target counts of the head (``head_mlm``) and, with late MLM, of
        the backbone (``mlm``); see :func:`~qcpt.pretrain.losses.masked_lm_loss`."""
        skip, labels = encoded["skip"], encoded["labels"]
        result = {}
        if len(self.head):
            head_input = torch.cat(
                [encoded["pooled"].unsqueeze(1).to(skip.dtype), skip[:, 1:]], dim=1
            )
            head_states = run_layers(
                self.head, head_input, encoded["attention_mask"], self.backbone.config
            )
            result["head_mlm"], result["head_mlm_count"] = masked_lm_loss(
                head_states, labels, self.mlm_head
            )
        if self.late_mlm:
            result["mlm"], result["mlm_count"] = masked_lm_loss(
                encoded["last"], labels, self.mlm_head
            )
        return result

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        with_mlm: bool = True,
    ) -> dict[str, torch.Tensor]:
        """Encode a masked batch: ``vectors`` and, with ``labels`` and ``with_mlm``, the
        :meth:`mlm_terms`."""
        encoded = self.encode(input_ids, attention_mask, labels)
        result = {"vectors": encoded["vectors"]}
        if labels is not None and with_mlm:
            result.update(self.mlm_terms(encoded))
        return result


class CoCondenserModel(nn.Module):
    """Both sides of a :class:`~qcpt.pretrain.collator.PairCollator` batch through one
    :class:`CondenserModel` (passages and contexts share every weight).

    ``forward(passage, context)`` returns ``passage_vectors``, ``context_vectors`` and, with
    ``with_mlm``, the MLM sums and counts of both sides together (``head_mlm``, ``mlm``). Each
    side is its own padded tensor, so a batch of short queries costs what the queries are.
    The InfoNCE term needs the whole (global) batch and is computed by the trainer.
    """

    def __init__(self, condenser: CondenserModel):
        super().__init__()
        self.condenser = condenser

    def forward(
        self, passage: dict, context: dict, with_mlm: bool = True
    ) -> dict[str, torch.Tensor]:
        # both backbone passes before any head: the random (dropout) stream of the vectors is
        # then the same with and without MLM, which GradCache's replay relies on
        sides = [self.condenser.encode(**passage), self.condenser.encode(**context)]
        result = {"passage_vectors": sides[0]["vectors"], "context_vectors": sides[1]["vectors"]}
        if with_mlm:
            terms = [self.condenser.mlm_terms(side) for side in sides]
            for name in terms[0]:
                result[name] = terms[0][name] + terms[1][name]
        return result
