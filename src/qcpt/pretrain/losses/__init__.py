"""Pre-training loss terms, one per module."""

from qcpt.pretrain.losses.infonce import pair_infonce
from qcpt.pretrain.losses.mlm import masked_lm_loss
from qcpt.pretrain.losses.next_token import next_token_loss

__all__ = ["masked_lm_loss", "next_token_loss", "pair_infonce"]
