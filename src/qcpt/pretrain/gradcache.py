"""GradCache for the contrastive objective: the gradients of a whole batch in chunk-sized memory.

The vectors of the whole batch are first computed without a graph, chunk by chunk; the
contrastive loss and its gradient with respect to those vectors follow; then each chunk is re-run
with a graph (same dropout, by restoring the random state) and back-propagates
``vectors . d(loss)/d(vectors)`` plus its token terms. The parameter gradients equal the
full-batch ones while only a chunk's activations are held in memory.

It serves objectives whose token terms all predict the masked tokens of both sides
(coCondenser's head and late MLM): each term's global target count is theirs.

Reference: Gao et al., "Scaling Deep Contrastive Learning Batch Size under Memory Limited
Setup" (2021); Gao & Callan 2022 (coCondenser used it at batch 2048, chunks of 64).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

import torch

from qcpt.pretrain.losses.mlm import IGNORE_INDEX


def gradcache_step(trainer, model, inputs) -> torch.Tensor:
    """One training step of ``trainer`` (a :class:`~qcpt.pretrain.trainer.PretrainTrainer`)
    on ``inputs`` in chunks of ``trainer.chunk_size`` pairs; returns the step's loss."""
    scale = 1.0 / trainer.current_gradient_accumulation_steps
    chunks = split_pairs(inputs, trainer.chunk_size)
    states, passage_vectors, context_vectors = [], [], []
    with torch.no_grad():  # 1. every vector of the batch, no graph
        for chunk in chunks:
            states.append(RandomState.capture())
            with trainer.compute_loss_context_manager():
                output = model(**chunk, with_mlm=False)
            passage_vectors.append(output["passage_vectors"])
            context_vectors.append(output["context_vectors"])
    passages = torch.cat(passage_vectors).float().requires_grad_()
    contexts = torch.cat(context_vectors).float().requires_grad_()
    contrastive = trainer._contrastive(passages, contexts)  # 2. loss and d(loss)/d(vectors)
    (trainer.contrastive_weight * scale * contrastive).backward()
    targets = sum(
        (side["labels"] != IGNORE_INDEX).sum() for side in (inputs["passage"], inputs["context"])
    )
    counts = dict.fromkeys(trainer.term_weights, targets)
    totals: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros(()))
    start = 0
    for index, chunk in enumerate(chunks):  # 3. each chunk again, with its graph
        rows = slice(start, start + len(chunk["passage"]["input_ids"]))
        start = rows.stop
        last = index == len(chunks) - 1
        sync = contextlib.nullcontext() if last else trainer.accelerator.no_sync(model)
        with sync, states[index].restored():
            with trainer.compute_loss_context_manager():
                output = model(**chunk)
                terms = trainer._token_terms(output, counts)
                surrogate = (
                    (output["passage_vectors"].float() * passages.grad[rows]).sum()
                    + (output["context_vectors"].float() * contexts.grad[rows]).sum()
                    + scale * trainer._total(terms)
                )
            trainer.accelerator.backward(surrogate)
        for name, value in terms.items():
            totals[name] = totals[name] + value.detach().cpu()
    terms = {**totals, "contrastive": contrastive.detach().cpu()}
    trainer._record(terms)
    return (trainer._total(terms) * scale).to(trainer.args.device)


def split_pairs(
    inputs: dict[str, dict[str, torch.Tensor]], chunk_size: int
) -> list[dict[str, dict[str, torch.Tensor]]]:
    """Cut a pair batch into chunks of ``chunk_size`` rows, each side trimmed to its chunk's
    longest text (right padding)."""
    rows = len(inputs["passage"]["input_ids"])
    chunks = []
    for start in range(0, rows, chunk_size):
        chunk = {}
        for side, tokens in inputs.items():
            part = {name: value[start : start + chunk_size] for name, value in tokens.items()}
            length = int(part["attention_mask"].sum(1).max())
            chunk[side] = {name: value[:, :length] for name, value in part.items()}
        chunks.append(chunk)
    return chunks


class RandomState:
    """The CPU and current-GPU random states, to replay a chunk with the same dropout."""

    def __init__(self, cpu: torch.Tensor, cuda: torch.Tensor | None):
        self.cpu, self.cuda = cpu, cuda

    @classmethod
    def capture(cls) -> RandomState:
        cuda = torch.cuda.get_rng_state() if torch.cuda.is_initialized() else None
        return cls(torch.get_rng_state(), cuda)

    @contextlib.contextmanager
    def restored(self):
        """Run the block from this state; the outer random stream continues unchanged."""
        cpu_now = torch.get_rng_state()
        cuda_now = torch.cuda.get_rng_state() if self.cuda is not None else None
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state(self.cuda)
        try:
            yield
        finally:
            torch.set_rng_state(cpu_now)
            if cuda_now is not None:
                torch.cuda.set_rng_state(cuda_now)
