"""Pre-training step time: span vs query context (coCondenser, CoT-MAE), and qcpt vs
sentence-transformers MultipleNegativesRankingLoss training on identical pairs. One run.

Every configuration trains the packaged all-MiniLM-L6-v2 with the Hugging Face Trainer loop for
``--warmup`` + ``--steps`` steps of ``--batch-size`` pairs (passages of at most 144 tokens) and
records the wall time between consecutive step ends (data loading and collation included);
the median over the timed steps is reported. Pairs are fixed: whole SciFact documents are drawn
(seeded) until the batches are full, each passage keeps one of its generated queries, so the
query context is the same query in qcpt and in sentence-transformers, and the span context is
another passage of the same document.

Configurations:
- coCondenser (span-random) vs coCondenser-qc (query): Condenser head (2 layers) + late MLM +
  InfoNCE, masking 15 %;
- CoT-MAE-qc (query) vs its like-for-like span twin (span-random; both asymmetric with the
  same autoregressive decoder, encoder masking 30 %), and vs original CoT-MAE (symmetric,
  2-layer masked decoder at 45 %, mixed random / nearby / overlapping spans);
- contrastive only (no masking, no MLM; InfoNCE at temperature 0.05 on normalised mean-pooled
  vectors) in qcpt vs sentence-transformers MNRL (scale 20 = temperature 0.05), both in fp32
  and in bf16 autocast.

    python benchmarks/pretrain_throughput.py   # data: benchmarks/pretrain_scifact_data.py

Writes benchmarks/results/pretrain_throughput.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import machine_info, save_results
from pretrain_scifact_data import DEFAULT_OUTPUT as DATA_OUTPUT
from pretrain_scifact_data import prepare
from transformers import TrainerCallback

from qcpt.data.generated_queries import read_queries
from qcpt.data.passages import iter_passages
from qcpt.encoder import packaged_minilm_path
from qcpt.pretrain.config import PretrainConfig
from qcpt.pretrain.training import pretrain


class StepTimer(TrainerCallback):
    """Wall time between consecutive step ends."""

    def __init__(self):
        self.ends: list[float] = []
        self.started = time.perf_counter()

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(time.perf_counter())

    def step_times(self, warmup: int) -> list[float]:
        times = [b - a for a, b in zip([self.started, *self.ends], self.ends, strict=False)]
        return times[warmup:]


def select_pairs(
    passages_file: Path, queries_file: Path, count: int, seed: int, folder: Path
) -> tuple[Path, Path, list[tuple[str, str]]]:
    """Whole documents (with >= 2 passages, each with a query) until ``count`` passages; writes
    a passages file and a one-query-per-passage file; returns them and the (query, passage)
    pairs."""
    queries = read_queries(queries_file)
    documents: dict[str, list] = {}
    for passage in iter_passages(passages_file):
        documents.setdefault(passage.doc_id, []).append(passage)
    rng = random.Random(seed)
    doc_ids = sorted(
        d for d, ps in documents.items() if len(ps) > 1 and all(queries.get(p.id) for p in ps)
    )
    rng.shuffle(doc_ids)
    chosen = []
    for doc_id in doc_ids:
        chosen.extend(documents[doc_id])
        if len(chosen) >= count:
            break
    pairs = [(rng.choice(queries[p.id]), p) for p in chosen]
    passages_out, queries_out = folder / "passages.jsonl", folder / "queries.jsonl"
    with passages_out.open("w") as p_file, queries_out.open("w") as q_file:
        for query, passage in pairs:
            p_file.write(json.dumps(passage.to_json()) + "\n")
            q_file.write(json.dumps({"_id": passage.id, "queries": [query]}) + "\n")
    return passages_out, queries_out, [(q, p.text) for q, p in pairs]


def run_qcpt(name: str, overrides: dict, files: tuple[Path, Path], args, folder: Path) -> dict:
    config = PretrainConfig.from_yaml(
        None,
        {
            "data.passages": str(files[0]),
            "data.queries": str(files[1]),
            "model.model": "all-MiniLM-L6-v2",
            "model.passage_max_length": 144,
            "model.context_max_length": 144,
            "training.batch_size": args.batch_size,
            "training.max_steps": args.warmup + args.steps,
            "training.learning_rate": 1e-4,
            "training.logging_steps": 1000,
            "training.save_steps": 10_000,
            "training.precision": args.precision,
            **overrides,
        },
    )
    timer = StepTimer()
    pretrain(config, folder / name, show_progress=False, callbacks=[timer])
    return summarise(timer.step_times(args.warmup), args.batch_size)


def run_sentence_transformers(pairs, args, folder: Path, precision: str) -> dict:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )

    model = SentenceTransformer(str(packaged_minilm_path()), device="cpu")
    model.max_seq_length = 144
    dataset = Dataset.from_dict(
        {"anchor": [q for q, _ in pairs], "positive": [p for _, p in pairs]}
    )
    training_args = SentenceTransformerTrainingArguments(
        output_dir=str(folder / f"st-{precision}"),
        per_device_train_batch_size=args.batch_size,
        max_steps=args.warmup + args.steps,
        learning_rate=1e-4,
        use_cpu=True,
        bf16=precision == "bf16",
        report_to="none",
        save_strategy="no",
        logging_steps=1000,
        dataloader_drop_last=True,
        seed=42,
        disable_tqdm=True,
    )
    timer = StepTimer()
    trainer = SentenceTransformerTrainer(
        model=model,
        args=training_args,
        train_dataset=dataset,
        loss=losses.MultipleNegativesRankingLoss(model, scale=20.0),
        callbacks=[timer],
    )
    trainer.train()
    return summarise(timer.step_times(args.warmup), args.batch_size)


def summarise(times: list[float], batch_size: int) -> dict:
    median = statistics.median(times)
    return {
        "step_seconds_median": round(median, 3),
        "step_seconds": [round(t, 3) for t in times],
        "pairs_per_second": round(batch_size / median, 2),
    }


CONTRASTIVE_ONLY = {
    "objective": "contrastive",
    "data.context": "query",
    "contrastive.head_layers": 0,
    "contrastive.late_mlm": False,
    "contrastive.mask_rate": 0.0,
    "contrastive.temperature": 0.05,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--passages",
        type=Path,
        default=None,
        help="passages jsonl (default: benchmarks/pretrain_scifact_data.py's)",
    )
    parser.add_argument(
        "--queries",
        type=Path,
        default=None,
        help="generated-queries jsonl (default: as --passages)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--precision",
        default="bf16",
        choices=["fp32", "bf16"],
        help="qcpt pre-training precision (the comparison with sentence-transformers runs both)",
    )
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.passages is None or args.queries is None:
        data = prepare(DATA_OUTPUT)
        args.passages = args.passages or data["passages"]
        args.queries = args.queries or data["queries"]

    results: dict = {
        "command": "python " + shlex.join(sys.argv),
        "machine": machine_info(("sentence-transformers",)),
        "settings": {
            "model": "all-MiniLM-L6-v2 (packaged)",
            "batch_size": args.batch_size,
            "passage_max_length": 144,
            "timed_steps": args.steps,
            "warmup_steps": args.warmup,
            "precision": args.precision,
        },
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        count = args.batch_size * (args.warmup + args.steps)
        *files, pairs = select_pairs(args.passages, args.queries, count, args.seed, folder)
        results["settings"]["pairs"] = len(pairs)
        results["settings"]["mean_query_words"] = round(
            statistics.mean(len(q.split()) for q, _ in pairs), 1
        )
        results["settings"]["mean_passage_words"] = round(
            statistics.mean(len(p.split()) for _, p in pairs), 1
        )
        runs = {
            "cocondenser_span": {"objective": "contrastive", "data.context": "span-random"},
            "cocondenser_qc": {"objective": "contrastive", "data.context": "query"},
            "cotmae_span_twin": {
                "objective": "generative",
                "data.context": "span-random",
                "generative.decoder": "autoregressive",
                "generative.symmetric": False,
            },
            "cotmae_qc": {
                "objective": "generative",
                "data.context": "query",
                "generative.decoder": "autoregressive",
                "generative.symmetric": False,
            },
            "cotmae_original": {
                "objective": "generative",
                "data.context": "span-random:1,span-nearby:1,span-overlap:1",
                "generative.decoder": "masked",
                "generative.decoder_layers": 2,
                "generative.symmetric": True,
            },
        }
        for name, overrides in runs.items():
            print(f"timing {name} ...", file=sys.stderr)
            results[name] = run_qcpt(name, overrides, files, args, folder)
        comparison = {}
        for precision in ("fp32", "bf16"):
            print(
                f"timing contrastive only, qcpt vs sentence-transformers, {precision} ...",
                file=sys.stderr,
            )
            comparison[f"qcpt_{precision}"] = run_qcpt(
                f"contrastive-{precision}",
                {**CONTRASTIVE_ONLY, "training.precision": precision},
                files,
                args,
                folder,
            )
            comparison[f"sentence_transformers_{precision}"] = run_sentence_transformers(
                pairs, args, folder, precision
            )
        results["contrastive_only"] = comparison

    def speedup(slow: dict, fast: dict) -> float:
        return round(slow["step_seconds_median"] / fast["step_seconds_median"], 2)

    results["speedup"] = {
        "cocondenser_query_vs_span": speedup(
            results["cocondenser_span"], results["cocondenser_qc"]
        ),
        "cotmae_qc_vs_span_twin": speedup(results["cotmae_span_twin"], results["cotmae_qc"]),
        "cotmae_qc_vs_original_cotmae": speedup(results["cotmae_original"], results["cotmae_qc"]),
        "qcpt_vs_sentence_transformers_fp32": speedup(
            comparison["sentence_transformers_fp32"], comparison["qcpt_fp32"]
        ),
        "qcpt_vs_sentence_transformers_bf16": speedup(
            comparison["sentence_transformers_bf16"], comparison["qcpt_bf16"]
        ),
        "qcpt_bf16_vs_sentence_transformers_fp32_default": speedup(
            comparison["sentence_transformers_fp32"], comparison["qcpt_bf16"]
        ),
    }
    rows = [
        ("coCondenser, span context", results["cocondenser_span"]),
        ("coCondenser-qc, query context", results["cocondenser_qc"]),
        (
            "CoT-MAE-qc span twin, span context (autoregressive decoder)",
            results["cotmae_span_twin"],
        ),
        ("CoT-MAE-qc, query context (autoregressive decoder)", results["cotmae_qc"]),
        (
            "CoT-MAE original, symmetric mixed spans (2-layer masked decoder)",
            results["cotmae_original"],
        ),
        *(
            (f"contrastive only, {name.replace('_', ' ')}", value)
            for name, value in comparison.items()
        ),
    ]
    lines = [
        f"# Pre-training step time ({results['machine']['cpu']}, "
        f"{results['machine']['torch_threads']} threads)",
        "",
        f"all-MiniLM-L6-v2, batch {args.batch_size} pairs, passages <= 144 tokens, "
        f"median of {args.steps} steps after {args.warmup} warm-up; pre-training "
        f"objectives in {args.precision}.",
        "",
        "| configuration | s / step | pairs / s |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {label} | {r['step_seconds_median']:.3f} | {r['pairs_per_second']:.1f} |"
        for label, r in rows
    ]
    lines += ["", "| speed-up | ratio |", "|---|---:|"]
    lines += [
        f"| {name.replace('_', ' ')} | {value:.2f}x |" for name, value in results["speedup"].items()
    ]
    lines += ["", f"Command: `{results['command']}`"]
    save_results("pretrain_throughput", results, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
