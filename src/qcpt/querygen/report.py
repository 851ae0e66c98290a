"""Quality report for generated queries, beside the same figures for real queries.

Per queries file: queries per passage, mean length in words, distinct-query ratio (distinct /
all, case and spacing ignored) and *self-retrieval*: the share of queries for which BM25 over
all passages ranks the query's source passage first (``self@1``) or in the top 10
(``self@10``). For real queries (e.g. SciFact train) the same share is computed with the
judged-relevant documents over that data set's corpus: the reference a generator is judged by.

Reference: Nogueira et al., "Document Expansion by Query Prediction" (2019); Wu et al.,
"Query-as-context Pre-training for Dense Passage Retrieval" (2023).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qcpt.data import Document, RetrievalDataset
from qcpt.data.passages import Passage
from qcpt.retrieval import BM25Index


@dataclass
class ReportRow:
    """One row of the report: figures plus the counts they rest on."""

    figures: dict[str, float]
    passages: int  # passages (or judged documents) with at least one query
    queries: int  # queries measured
    pool: int  # candidates BM25 ranked


def describe_queries(texts: Sequence[str], units: int) -> dict[str, float]:
    """Queries per unit, mean length in words and the distinct-query ratio."""
    keys = {" ".join(text.lower().split()) for text in texts}
    return {
        "queries/passage": len(texts) / units if units else 0.0,
        "mean words": sum(len(t.split()) for t in texts) / len(texts) if texts else 0.0,
        "distinct": len(keys) / len(texts) if texts else 0.0,
    }


def _success(run: Mapping[str, Mapping[str, float]], relevant: Mapping[str, set[str]]) -> dict:
    top1 = top10 = 0
    for query_id, wanted in relevant.items():
        ranked = sorted(run.get(query_id, {}).items(), key=lambda item: -item[1])[:10]
        top1 += bool(ranked) and ranked[0][0] in wanted
        top10 += any(doc_id in wanted for doc_id, _ in ranked)
    count = len(relevant) or 1
    return {"self@1": top1 / count, "self@10": top10 / count}


def generated_row(
    records: Mapping[str, list[str]],
    passages: Sequence[Passage],
    index: BM25Index | None = None,
    max_queries: int | None = None,
    seed: int = 0,
) -> ReportRow:
    """Figures for generated queries (``{passage id: queries}``) against all ``passages``.

    Self-retrieval uses at most ``max_queries`` queries (a seeded random sample); ``index`` is
    a BM25 index over ``passages`` to reuse across rows.
    """
    index = index or passage_index(passages)
    pairs = [(pid, q) for pid, queries in records.items() for q in queries]
    units = sum(bool(queries) for queries in records.values())
    figures = describe_queries([q for _, q in pairs], units)
    if max_queries is not None and len(pairs) > max_queries:
        pairs = random.Random(seed).sample(pairs, max_queries)
    queries = {str(i): q for i, (_, q) in enumerate(pairs)}
    run = index.search(queries, k=10, show_progress=False)
    figures |= _success(run, {str(i): {pid} for i, (pid, _) in enumerate(pairs)})
    return ReportRow(figures, units, len(pairs), len(index.doc_ids))


def reference_row(dataset: RetrievalDataset, split: str) -> ReportRow:
    """Figures for a data set's real queries of ``split``, over its own corpus."""
    qrels = dataset.qrels(split)
    queries = dataset.queries(split)
    relevant = {q: {d for d, grade in judged.items() if grade > 0} for q, judged in qrels.items()}
    relevant = {q: docs for q, docs in relevant.items() if docs and q in queries}
    documents = {d for docs in relevant.values() for d in docs}
    figures = describe_queries([queries[q] for q in relevant], len(documents))
    index = BM25Index().index(dataset.iter_corpus(), show_progress=False)
    run = index.search({q: queries[q] for q in relevant}, k=10, show_progress=False)
    figures |= _success(run, relevant)
    return ReportRow(figures, len(documents), len(relevant), len(index.doc_ids))


def passage_index(passages: Sequence[Passage]) -> BM25Index:
    """A BM25 index over passages (title and text), as the report uses it."""
    return BM25Index().index(
        (Document(p.id, p.text, p.title) for p in passages), show_progress=False
    )


def sample_examples(
    passages: Sequence[Passage],
    sources: Mapping[str, Mapping[str, list[str]]],
    count: int,
    seed: int = 0,
) -> list[tuple[Passage, dict[str, list[str]]]]:
    """Up to ``count`` random passages that every source has queries for, with those queries."""
    shared = [p for p in passages if all(records.get(p.id) for records in sources.values())]
    chosen = random.Random(seed).sample(shared, min(count, len(shared)))
    return [(p, {name: list(records[p.id]) for name, records in sources.items()}) for p in chosen]


def examples_markdown(examples: Sequence[tuple[Passage, dict[str, list[str]]]]) -> str:
    """Examples as markdown: the passage (cut to 300 characters), then each source's queries."""
    lines = []
    for passage, by_source in examples:
        text = passage.text if len(passage.text) <= 300 else passage.text[:297] + "..."
        lines += [f"**{passage.id}** ({passage.title}): {text}", ""]
        for name, queries in by_source.items():
            lines.append(f"- {name}: " + " | ".join(queries))
        lines.append("")
    return "\n".join(lines)
