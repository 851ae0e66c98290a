"""Padded tokens and FLOPs per training step, measured on the batches the recipes really build.

Issue 13 asks to measure before optimising: how much of a pre-training or fine-tuning step is
spent on padding, and so how much length-grouped batching could save at most. This counts it on
the collated batches themselves (no timing, so the figures do not depend on what else the machine
runs): for every recipe, ``--batches`` batches drawn as the Trainer draws them (a seeded random
permutation, ``batch_size`` items per step), and the same with transformers'
``LengthGroupedSampler`` (mega-batches of 50 steps sorted by passage length, what
``TrainingArguments(group_by_length=True)`` uses).

For each tensor the model encodes (passage, context, decoder input; fine-tuning: queries and
passages) it records real tokens, padded positions and the share of padding, and FLOPs of the
encoder's forward and backward pass (3x forward) as computed (padded) and as needed (real
lengths): per layer and sequence of T tokens, 2 T (4 h^2 + 2 h i) for the projections and the
feed-forward block plus 4 T^2 h for attention scores and their weighted sum (h hidden size,
i intermediate size); CoT-MAE's decoder inputs through its decoder layers, of the same shape.
The vocabulary projections and the Condenser head are left out (qcpt runs the MLM head on
masked positions only).

    python benchmarks/batch_padding.py [--batches 50]

Pre-training data: benchmarks/pretrain_scifact_data.py (the recorded queries); fine-tuning
data: SciFact train queries with BM25 negatives (configs/finetune-scifact-cpu.yaml).
Writes benchmarks/results/batch_padding.{json,md}.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import torch
from common import data_dir, machine_info, save_results
from pretrain_scifact_data import DEFAULT_OUTPUT as DATA_OUTPUT
from pretrain_scifact_data import prepare
from transformers import AutoConfig, AutoTokenizer
from transformers.trainer_pt_utils import LengthGroupedSampler

from qcpt.encoder import packaged_minilm_path

REPO = Path(__file__).resolve().parents[1]
PRETRAIN_RECIPES = {
    "coCondenser, span context": (
        "pretrain-cocondenser-scifact-cpu.yaml",
        {"data.context": "span-random"},
    ),
    "coCondenser-qc, query context": (
        "pretrain-cocondenser-scifact-cpu.yaml",
        {"data.context": "query"},
    ),
    "CoT-MAE-qc span twin": ("pretrain-cotmae-span-scifact-cpu.yaml", {}),
    "CoT-MAE-qc": ("pretrain-cotmae-qc-scifact-cpu.yaml", {}),
    "CoT-MAE original": ("pretrain-cotmae-scifact-cpu.yaml", {}),
}
MEGABATCH = 50  # LengthGroupedSampler's mega-batch, in batches


def encoder_flops(
    lengths: list[int], padded_to: int, hidden: int, intermediate: int, layers: int
) -> tuple[float, float]:
    """(computed, needed) training FLOPs (forward + backward) of ``lengths`` sequences padded to
    ``padded_to`` tokens."""

    def forward(tokens: int) -> float:
        return layers * (
            2 * tokens * (4 * hidden**2 + 2 * hidden * intermediate) + 4 * tokens**2 * hidden
        )

    return (3 * len(lengths) * forward(padded_to), 3 * sum(forward(t) for t in lengths))


class Tally:
    """Token and FLOP counts of one tensor kind over many batches."""

    def __init__(self):
        self.real = self.positions = 0
        self.flops_computed = self.flops_needed = 0.0

    def add(self, attention_mask: torch.Tensor, model) -> None:
        lengths = attention_mask.sum(dim=1).tolist()
        self.real += int(sum(lengths))
        self.positions += attention_mask.numel()
        computed, needed = encoder_flops(lengths, attention_mask.shape[1], *model)
        self.flops_computed += computed
        self.flops_needed += needed

    def record(self, steps: int) -> dict:
        return {
            "real_tokens_per_step": self.real / steps,
            "padded_positions_per_step": (self.positions - self.real) / steps,
            "padding_share": 1 - self.real / self.positions,
            "gflop_per_step_computed": self.flops_computed / steps / 1e9,
            "gflop_per_step_needed": self.flops_needed / steps / 1e9,
        }


def batches(dataset, collator, batch_size: int, count: int, lengths: list[int] | None, seed: int):
    """``count`` collated batches in the Trainer's order (random, or length-grouped)."""
    generator = torch.Generator().manual_seed(seed)
    if lengths is None:
        order = torch.randperm(len(dataset), generator=generator).tolist()
    else:
        order = list(LengthGroupedSampler(batch_size, lengths=lengths, generator=generator))
    for step in range(count):
        chunk = order[step * batch_size : (step + 1) * batch_size]
        if len(chunk) < batch_size:
            return
        yield collator([dataset[i] for i in chunk])


def measure(
    dataset,
    collator,
    batch_size: int,
    count: int,
    lengths: list[int],
    model,
    seed: int,
    decoder_layers: int = 0,
) -> dict:
    """Per-tensor tallies for random and length-grouped batches; a ``*_decoder`` tensor goes
    through ``decoder_layers`` layers of the encoder's shape, every other through the encoder."""
    result = {}
    for order, by_length in (("random", None), ("length-grouped", lengths)):
        tallies: dict[str, Tally] = {}
        steps = 0
        for batch in batches(dataset, collator, batch_size, count, by_length, seed):
            steps += 1
            for name, tensors in batch.items():
                shape = (*model[:2], decoder_layers) if name.endswith("_decoder") else model
                tallies.setdefault(name, Tally()).add(tensors["attention_mask"], shape)
        total = Tally()
        for tally in tallies.values():
            total.real += tally.real
            total.positions += tally.positions
            total.flops_computed += tally.flops_computed
            total.flops_needed += tally.flops_needed
        result[order] = {
            "steps": steps,
            "tensors": {n: t.record(steps) for n, t in tallies.items()},
            "all": total.record(steps),
        }
    return result


def pretrain_records(model_path: Path, model, batch_size: int, count: int, seed: int) -> dict:
    from qcpt.pretrain.config import PretrainConfig
    from qcpt.pretrain.dataset import load_pairs_dataset
    from qcpt.pretrain.training import build_collator

    data = prepare(DATA_OUTPUT)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    records = {}
    for label, (recipe, overrides) in PRETRAIN_RECIPES.items():
        config = PretrainConfig.from_yaml(
            REPO / "configs" / recipe,
            {
                **overrides,
                "data.passages": str(data["passages"]),
                "data.queries": str(data["queries"]),
                "model.model": str(model_path),
            },
        )
        dataset = load_pairs_dataset(
            config.data.passages,
            config.data.queries,
            config.data.context,
            seed=seed,
            with_title=config.data.with_title,
            title_separator=config.model.title_separator,
            missing_queries=config.data.missing_queries,
        )
        collator = build_collator(config, tokenizer, seed)
        lengths = [
            len(ids)
            for ids in tokenizer(
                [dataset[i]["passage"] for i in range(len(dataset))],
                truncation=True,
                max_length=config.model.passage_max_length,
            )["input_ids"]
        ]
        records[label] = {
            "recipe": recipe,
            "overrides": overrides,
            "batch_size": batch_size,
            "passage_max_length": config.model.passage_max_length,
            "context_max_length": config.model.context_max_length,
            **measure(
                dataset,
                collator,
                batch_size,
                count,
                lengths,
                model,
                seed,
                config.generative.decoder_layers,
            ),
        }
    return records


def finetune_record(model_path: Path, model, count: int, seed: int) -> dict:
    from qcpt.data import resolve_dataset
    from qcpt.data.training_groups import write_groups
    from qcpt.finetune.collator import GroupCollator
    from qcpt.finetune.config import FinetuneConfig
    from qcpt.finetune.dataset import GroupsDataset
    from qcpt.finetune.groups import bm25_groups

    config = FinetuneConfig.from_yaml(REPO / "configs" / "finetune-scifact-cpu.yaml")
    dataset = resolve_dataset(config.dataset, data_dir())
    groups, _ = bm25_groups(dataset, config.train_split, config.bm25_negatives, show_progress=False)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "groups.jsonl"
        write_groups(groups, path)
        training = config.training
        groups_data = GroupsDataset(
            path, training.group_size, seed=seed, title_separator=config.encoder.title_separator
        )
        collator = GroupCollator(
            tokenizer, config.encoder.query_max_length, config.encoder.passage_max_length
        )
        # grouped by the positive's length: what a length-grouped sampler sees of an item
        lengths = [
            len(ids)
            for ids in tokenizer(
                [groups_data[i]["passages"][0] for i in range(len(groups_data))],
                truncation=True,
                max_length=config.encoder.passage_max_length,
            )["input_ids"]
        ]
        record = measure(groups_data, collator, training.batch_size, count, lengths, model, seed)
    return {
        "recipe": "finetune-scifact-cpu.yaml (stage 1, BM25 negatives)",
        "batch_size": training.batch_size,
        "group_size": training.group_size,
        "query_max_length": config.encoder.query_max_length,
        "passage_max_length": config.encoder.passage_max_length,
        **record,
    }


def markdown_table(records: dict) -> str:
    lines = [
        "| recipe | batches | tensor | real tokens / step | padding, random | padding, "
        "length-grouped | GFLOP / step computed, random | needed | computed, "
        "length-grouped |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, record in records.items():
        random_order, grouped = record["random"], record["length-grouped"]
        for name in [*random_order["tensors"], "all"]:
            plain = random_order["all"] if name == "all" else random_order["tensors"][name]
            sorted_ = grouped["all"] if name == "all" else grouped["tensors"][name]
            lines.append(
                f"| {label} | {random_order['steps']} | {name}"
                f" | {plain['real_tokens_per_step']:.0f}"
                f" | {plain['padding_share']:.1%} | {sorted_['padding_share']:.1%}"
                f" | {plain['gflop_per_step_computed']:.1f}"
                f" | {plain['gflop_per_step_needed']:.1f}"
                f" | {sorted_['gflop_per_step_computed']:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=50, help="steps counted per recipe")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="pre-training pairs per step (the full experiment's)",
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    model_path = packaged_minilm_path()
    config = AutoConfig.from_pretrained(model_path)
    model = (config.hidden_size, config.intermediate_size, config.num_hidden_layers)
    records = pretrain_records(model_path, model, args.batch_size, args.batches, args.seed)
    records["fine-tuning"] = finetune_record(model_path, model, args.batches, args.seed)
    result = {
        "what": "padded tokens and encoder FLOPs per training step, random vs "
        "length-grouped batches (counted, not timed)",
        "model": "all-MiniLM-L6-v2",
        "encoder_shape": dict(zip(("hidden", "intermediate", "layers"), model, strict=True)),
        "records": records,
        "machine": machine_info(),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
    }
    markdown = (
        "### Padding and FLOPs per training step (all-MiniLM-L6-v2, SciFact, "
        f"{args.batches} steps per recipe)\n\n" + markdown_table(records) + "\n\n"
        "FLOPs: the encoder's forward + backward over every encoded tensor; 'needed' "
        "counts real tokens only; decoder inputs through the decoder's layers; "
        "vocabulary heads and the Condenser head left out. Length-grouped: "
        "transformers' LengthGroupedSampler by passage length."
    )
    save_results("batch_padding", result, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
