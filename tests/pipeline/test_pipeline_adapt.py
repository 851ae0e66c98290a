"""``qcpt adapt``: a corpus alone (no queries, no qrels) in, an adapted model folder out."""

from __future__ import annotations

import json
import shutil

from qcpt.encoder import DEFAULT_MODEL
from qcpt.pipeline.adapt import adapt_experiment, publish_adapted_model
from qcpt.pipeline.plan import build_plan
from qcpt.pipeline.runner import run_experiment
from tests.cli_helpers import invoke


def recorded_queries(corpus_file, path):
    """Two queries per tiny document (its single passage ``<doc id>-0``)."""
    with path.open("w") as handle:
        for line in corpus_file.read_text().splitlines():
            doc = json.loads(line)
            words = doc["text"].split()
            handle.write(
                json.dumps(
                    {
                        "_id": f"{doc['_id']}-0",
                        "queries": [" ".join(words[:2]), " ".join(words[1:3])],
                    }
                )
                + "\n"
            )
    return path


def test_a_corpus_without_labels_gives_an_adapted_model(tiny_beir, tmp_path):
    corpus_only = tmp_path / "my-corpus"
    corpus_only.mkdir()
    shutil.copy(tiny_beir / "corpus.jsonl", corpus_only / "corpus.jsonl")
    queries = recorded_queries(corpus_only / "corpus.jsonl", tmp_path / "queries.jsonl")
    experiment = adapt_experiment(
        str(corpus_only),
        model=DEFAULT_MODEL,
        passages=3200,
        steps=2,
        batch_size=4,
        max_queries=10,
        seed=42,
        queries_file=str(queries),
        executor="inline",
    )
    assert experiment.evaluation.split is None
    assert [s.kind for s in experiment.systems] == ["label-free"]
    output = tmp_path / "adapted"
    report = run_experiment(experiment, output, quiet=True)
    model = publish_adapted_model(build_plan(experiment, output), output)
    assert (model / "qcpt.json").is_file() and (model / "modules.json").is_file()
    artefact = json.loads((model / "qcpt.json").read_text())
    assert artefact["recipe"]["negatives"] == "given groups"  # trained on generated queries
    groups = (output / "label-free/adapted-seed42/groups.jsonl").read_text().splitlines()
    assert len(groups) == 10  # max_queries of the 12 generated
    assert "not evaluated (no qrels)" in report["markdown"]
    assert report["pretraining"]["pretrain/adapted-seed42"]["context"] == "query"


def test_adapt_plans_an_evaluation_when_the_folder_has_test_qrels(app, tiny_beir, tmp_path):
    queries = recorded_queries(tiny_beir / "corpus.jsonl", tmp_path / "queries.jsonl")
    result = invoke(
        app, "adapt", tiny_beir, "-o", tmp_path / "out", "--queries-file", queries, "--dry-run"
    )
    for step in (
        "queries",
        "evaluate/zero-shot",
        "pretrain/adapted-seed42",
        "label-free/adapted-seed42",
        "finetune/adapted-seed42",
    ):
        assert f" {step} " in result.output, step
    assert not (tmp_path / "out").exists()
