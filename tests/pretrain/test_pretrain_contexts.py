"""Context sampling: spec parsing, per-epoch draws, fallbacks, span kinds."""

from __future__ import annotations

import pytest

from qcpt.errors import QcptError
from qcpt.pretrain.contexts import ContextSampler, ContextSpec
from qcpt.pretrain.dataset import load_pairs_dataset


def test_spec_parses_kinds_aliases_and_normalises_weights():
    assert ContextSpec.parse("query").kinds == ("query",)
    assert ContextSpec.parse("span").kinds == ("span-random",)
    mixed = ContextSpec.parse("query:3, span-nearby:1")
    assert mixed.kinds == ("query", "span-nearby")
    assert mixed.weights == pytest.approx((0.75, 0.25))
    assert str(mixed) == "query:0.75,span-nearby:0.25"
    assert not ContextSpec.parse("span-overlap").uses_queries


@pytest.mark.parametrize("spec", ["", "title", "query:x", "query:-1", "query,query", "query:0"])
def test_bad_specs_are_clear_errors(spec):
    with pytest.raises(QcptError):
        ContextSpec.parse(spec)


def make_sampler(spec="query", queries=None):
    texts = ["a b c d e f", "g h i j k l", "m n o p q r", "s t u v w x"]
    doc_ids = ["d0", "d0", "d0", "d1"]
    queries = queries if queries is not None else [["qa1", "qa2"], ["qb"], [], []]
    return ContextSampler(texts, doc_ids, queries, ContextSpec.parse(spec), seed=7)


def test_query_context_is_one_of_the_passage_queries_and_redrawn_per_epoch():
    sampler = make_sampler()
    draws = {sampler.draw(0, epoch)[0] for epoch in range(20)}
    assert draws == {"qa1", "qa2"}
    assert sampler.draw(0, 3) == sampler.draw(0, 3)  # seeded by (seed, epoch, passage)
    assert sampler.draw(1, 0) == ("qb", "query")


def test_fallbacks_are_documented_kinds_and_counted():
    sampler = make_sampler()
    # passage 2 has no query but siblings -> span-random; passage 3 neither -> span-overlap
    assert sampler.draw(2, 0)[1] == "span-random"
    assert sampler.draw(2, 0)[0] in {"a b c d e f", "g h i j k l"}
    text, kind = sampler.draw(3, 0)
    assert kind == "span-overlap"
    assert set(text.split()) < set("s t u v w x".split())  # a shorter window inside it
    assert sampler.fallback_counts() == {"query": {"span-random": 1, "span-overlap": 1}}


def test_span_kinds():
    sampler = make_sampler("span-nearby")
    assert {sampler.draw(1, e)[0] for e in range(30)} == {"a b c d e f", "m n o p q r"}
    assert {sampler.draw(0, e)[0] for e in range(10)} == {"g h i j k l"}
    overlap = make_sampler("span-overlap")
    for epoch in range(10):
        words = overlap.draw(1, epoch)[0].split()
        assert len(words) == 6 and words != "g h i j k l".split()
        assert set(words) & set("g h i j k l".split())  # overlaps the passage


def test_mixture_draws_both_kinds():
    sampler = make_sampler("query:0.5,span-random:0.5")
    kinds = {sampler.draw(0, epoch)[1] for epoch in range(40)}
    assert kinds == {"query", "span-random"}


def test_dataset_from_files_and_errors(pairs_files, tmp_path):
    passages, queries = pairs_files
    dataset = load_pairs_dataset(passages, queries, "query", seed=1)
    item = dataset[0]
    assert set(item) == {"passage", "context", "kind", "index", "epoch"}
    assert item["kind"] == "query"
    dataset.set_epoch(1)
    # the 3 passages of the last document have no queries: dropped by default (the authors)
    assert len(dataset) == 9
    assert dataset.stats["passages_dropped"] == 3 == dataset.stats["passages_without_queries"]
    assert all(dataset[i]["kind"] == "query" for i in range(len(dataset)))
    kept = load_pairs_dataset(passages, queries, "query", seed=1, missing_queries="span")
    assert len(kept) == 12 and kept.stats["passages_dropped"] == 0
    assert {kept[i]["kind"] for i in range(len(kept))} == {"query", "span-random"}
    assert kept.stats["fallbacks"] == {"query": {"span-random": 3}}
    empty = tmp_path / "empty-queries.jsonl"
    empty.write_text('{"_id": "d0-0", "queries": ["  "]}\n')
    with pytest.raises(QcptError, match="no passage .* has a generated query"):
        load_pairs_dataset(passages, empty, "query")
    titled = load_pairs_dataset(passages, None, "span", with_title=True)
    assert titled[0]["passage"].startswith("t0 ")
    with pytest.raises(QcptError, match="needs generated queries"):
        load_pairs_dataset(passages, None, "query")
    other = tmp_path / "other.jsonl"
    other.write_text('{"_id": "zzz", "queries": ["x"]}\n')
    with pytest.raises(QcptError, match="none of its 1 passage ids"):
        load_pairs_dataset(passages, other, "query")


def test_siblings_are_grouped_by_document_wherever_its_passages_are():
    texts = ["a0", "b0", "a1", "b1", "c0", "a2"]
    doc_ids = ["a", "b", "a", "b", "c", "a"]
    sampler = ContextSampler(texts, doc_ids, [[]] * 6, ContextSpec.parse("span-nearby"))
    assert sampler.siblings(2) == [0, 2, 5]
    assert sampler.siblings(3) == [1, 3]
    assert sampler.sibling_count(4) == 1 and sampler.resolve_kind(4, "span-nearby") == (
        "span-overlap"
    )
    assert {sampler.draw(2, e)[0] for e in range(30)} == {"a0", "a2"}


@pytest.mark.parametrize("order", ["as-is", "reversed"])
@pytest.mark.parametrize("missing", ["drop", "span"])
@pytest.mark.parametrize("context", ["query", "span-random", "query:0.5,span-overlap:0.5"])
def test_memory_mapped_dataset_draws_what_in_memory_lists_draw(
    pairs_files, tmp_path, context, missing, order
):
    from qcpt.data.generated_queries import read_queries
    from qcpt.data.passages import load_passages

    passages_path, queries_path = pairs_files
    if order == "reversed":  # the passages without queries first: dropping shifts every row
        lines = passages_path.read_text().splitlines(keepends=True)
        passages_path = tmp_path / "reversed.jsonl"
        passages_path.write_text("".join(reversed(lines)))
    dataset = load_pairs_dataset(
        passages_path, queries_path, context, seed=3, missing_queries=missing
    )
    spec = ContextSpec.parse(context)
    passages = load_passages(passages_path)
    queries = read_queries(queries_path) if spec.uses_queries else {}
    options = [[q for q in queries.get(p.id, []) if q.strip()] for p in passages]
    if spec.uses_queries and missing == "drop":
        passages = [p for p, o in zip(passages, options, strict=True) if o]
        options = [o for o in options if o]
    reference = ContextSampler(
        [p.text for p in passages], [p.doc_id for p in passages], options, spec, seed=3
    )
    assert len(dataset) == len(passages)
    for epoch in range(3):
        dataset.set_epoch(epoch)
        for i in range(len(dataset)):
            item = dataset[i]
            assert item["passage"] == passages[i].text
            assert (item["context"], item["kind"]) == reference.draw(i, epoch)
