"""qcpt bm25 / encode / index / search / evaluate end to end on a tiny BEIR folder."""

import json

import numpy as np
import pytest

from qcpt.evaluation import read_run

from ..cli_helpers import invoke


def test_bm25_then_evaluate(app, tiny_beir, tmp_path):
    run_file = tmp_path / "bm25.trec"
    invoke(
        app,
        "bm25",
        tiny_beir,
        "-o",
        run_file,
        "--split",
        "test",
        "-q",
        "--index-dir",
        tmp_path / "idx",
    )
    run = read_run(run_file)
    assert sorted(run) == ["q10", "q11", "q8", "q9"]
    assert all(max(docs, key=docs.get) == "d" + q[1:] for q, docs in run.items())
    metrics_file = tmp_path / "m.json"
    invoke(app, "evaluate", tiny_beir / "qrels" / "test.tsv", run_file, "-o", metrics_file)
    metrics = json.loads(metrics_file.read_text())
    assert metrics["aggregate"]["nDCG@10"] == pytest.approx(1.0)
    # the saved index is reused and gives the same run
    invoke(
        app,
        "bm25",
        tiny_beir,
        "-o",
        tmp_path / "again.trec",
        "--split",
        "test",
        "-q",
        "--index-dir",
        tmp_path / "idx",
    )
    assert read_run(tmp_path / "again.trec") == run


def test_encode_index_search(app, tiny_beir, tiny_bert_dir, tmp_path):
    emb = tmp_path / "emb"
    invoke(
        app,
        "encode",
        tiny_beir,
        "-o",
        emb,
        "--model",
        tiny_bert_dir,
        "--pooling",
        "mean",
        "--normalize",
        "--shard-size",
        "5",
        "-q",
    )
    assert sorted(p.name for p in emb.glob("shard-*.ids")) == [
        "shard-00000.ids",
        "shard-00001.ids",
        "shard-00002.ids",
    ]
    invoke(app, "index", emb, "--factory", "HNSW8", "-q")
    exact, approx = tmp_path / "exact.trec", tmp_path / "hnsw.trec"
    invoke(app, "search", emb, tiny_beir, "-o", exact, "-k", "5", "-q")
    invoke(app, "search", emb, tiny_beir, "-o", approx, "-k", "5", "--factory", "HNSW8", "-q")
    exact_run, approx_run = read_run(exact), read_run(approx)
    assert sorted(exact_run) == ["q10", "q11", "q8", "q9"]
    assert all(len(docs) == 5 for docs in exact_run.values())
    for q in exact_run:  # HNSW on 12 vectors finds the exact top hit
        assert max(exact_run[q], key=exact_run[q].get) == max(approx_run[q], key=approx_run[q].get)


def test_prefix_options_reach_the_manifest_and_search(app, tiny_beir, tiny_bert_dir, tmp_path):
    emb, plain = tmp_path / "emb", tmp_path / "plain"
    common = ["--model", tiny_bert_dir, "--pooling", "mean", "-q"]
    invoke(
        app,
        "encode",
        tiny_beir,
        "-o",
        emb,
        *common,
        "--query-prefix",
        "query: ",
        "--passage-prefix",
        "passage: ",
    )
    invoke(app, "encode", tiny_beir, "-o", plain, *common)
    recorded = json.loads((emb / "manifest.json").read_text())["encoder"]
    assert (recorded["query_prefix"], recorded["passage_prefix"]) == ("query: ", "passage: ")
    assert json.loads((plain / "manifest.json").read_text())["encoder"]["passage_prefix"] == ""
    vectors = [np.load(folder / "shard-00000.npy") for folder in (emb, plain)]
    assert not np.allclose(*vectors)
    invoke(app, "search", emb, tiny_beir, "-o", tmp_path / "run.trec", "-k", "3", "-q")
    assert sorted(read_run(tmp_path / "run.trec")) == ["q10", "q11", "q8", "q9"]
