"""Pre-training loss terms, one per module, and the protocol between models and the trainer.

A pre-training model's ``forward(**batch)`` returns a dict. For every *token-level* term
``name`` (``mlm``, ``head_mlm``, ``decoder``, ...) it holds ``name``: the loss *summed* over the
term's targets, and ``name_count``: how many targets there were. The trainer
(:class:`~qcpt.pretrain.trainer.PretrainTrainer`) divides each sum by the target count of the
*global* batch (all processes, all GradCache chunks), multiplies it by the recipe's weight
(``term_weights``) and adds them up, so a term means the same whatever the batch is split into.
A contrastive objective also returns ``passage_vectors`` and ``context_vectors`` (row i a pair);
the trainer adds ``contrastive_weight`` x :func:`pair_infonce` over the global batch. Every term
is logged as ``loss_<name>``. Objectives are registered in :mod:`qcpt.pretrain.objectives`.
"""

from qcpt.pretrain.losses.infonce import pair_infonce
from qcpt.pretrain.losses.mlm import masked_lm_loss
from qcpt.pretrain.losses.next_token import next_token_loss

__all__ = ["masked_lm_loss", "next_token_loss", "pair_infonce"]
