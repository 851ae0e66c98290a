"""The query-generation commands end to end on a tiny data set, plus the quality report."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from qcpt.data import resolve_dataset
from qcpt.data.generated_queries import read_queries, read_sidecar
from qcpt.data.passages import Passage
from qcpt.querygen.cli import (
    filter_queries_command,
    generate_queries_command,
    merge_queries_command,
    querygen_report_command,
    split_passages_command,
)
from qcpt.querygen.report import generated_row, reference_row

app = typer.Typer()
for name, command in {
    "split-passages": split_passages_command,
    "generate-queries": generate_queries_command,
    "merge-queries": merge_queries_command,
    "filter-queries": filter_queries_command,
    "querygen-report": querygen_report_command,
}.items():
    app.command(name)(command)


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_split_generate_shard_merge_filter_report(
    tmp_path, tiny_beir, tiny_bert_dir, tiny_llama_dir
):
    passages = tmp_path / "passages.jsonl"
    _run(
        "split-passages", tiny_beir, "-o", passages, "--tokenizer", tiny_bert_dir, "--max-tokens", 3
    )
    records = [json.loads(line) for line in passages.read_text().splitlines()]
    assert {r["doc_id"] for r in records} == {f"d{i}" for i in range(12)}
    assert len(records) > 12  # five-word documents cut into passages of at most three tokens
    whole = tmp_path / "whole.jsonl"
    _run("split-passages", tiny_beir / "corpus.jsonl", "-o", whole, "--as-is")
    assert len(whole.read_text().splitlines()) == 12

    out = tmp_path / "q.jsonl"
    common = ["-o", out, "--model", tiny_llama_dir, "-n", 2, "--batch-size", 4, "--quiet"]
    common += ["--max-new-tokens", 4, "--device", "cpu"]
    for k in range(2):
        _run("generate-queries", passages, *common, "--shard", f"{k}/2")
    _run("merge-queries", out)
    merged = read_queries(out)
    assert list(merged) == [r["_id"] for r in records]
    assert read_sidecar(out)["generator"]["runtime"] == "transformers"

    imported = tmp_path / "imported.jsonl"
    _run("generate-queries", passages, "-o", imported, "--backend", "file", "--queries-file", out)
    assert read_queries(imported) == merged

    filtered = tmp_path / "filtered.jsonl"
    text = _run("filter-queries", out, passages, "-o", filtered, "--scorer", "bm25", "--k", 3)
    assert "kept" in text
    assert read_sidecar(filtered)["consistency_filter"]["k"] == 3

    report = tmp_path / "report.md"
    text = _run(
        "querygen-report", passages, f"tiny={out}", "--reference", tiny_beir, "--output", report
    )
    assert "Generated-query quality" in text
    written = report.read_text()
    assert "self@10" in written and "| tiny |" in written and "train queries (real)" in written


def test_report_rows(tiny_beir):
    passages = [Passage("a", "cells protein gene"), Passage("b", "storm river rain")]
    row = generated_row({"a": ["cells protein", "Cells  protein"], "b": ["rain storm"]}, passages)
    assert row.figures["queries/passage"] == 1.5
    assert row.figures["distinct"] == 2 / 3
    assert row.figures["self@1"] == 1.0 and row.pool == 2 and row.queries == 3
    real = reference_row(resolve_dataset(tiny_beir), "train")
    assert real.figures["self@10"] == 1.0 and real.queries == 8 and real.pool == 12


def test_a_backend_registered_in_one_place_runs_end_to_end(tmp_path, tiny_beir, monkeypatch):
    """Adding a generator backend is one QueryGenerator and one registration line."""
    from qcpt.querygen import backends
    from qcpt.querygen.backends.base import QueryGenerator

    class LeadWords(QueryGenerator):  # "queries" = the passage's first words
        def __init__(self, settings):
            self.settings = settings

        def generate(self, passages, num_queries, seed):
            return [
                [" ".join(p.text.split()[:n]) for n in range(1, (num_queries or 2) + 1)]
                for p in passages
            ]

        def describe(self):
            return {"backend": "lead-words"}

    monkeypatch.setattr(backends, "BACKENDS", dict(backends.BACKENDS))
    backends.register_backend(
        backends.Backend("lead-words", lambda settings, ids: LeadWords(settings))
    )
    passages, out = tmp_path / "passages.jsonl", tmp_path / "q.jsonl"
    _run("split-passages", tiny_beir / "corpus.jsonl", "-o", passages, "--as-is")
    _run("generate-queries", passages, "-o", out, "--backend", "lead-words", "-n", 2, "--quiet")
    queries = read_queries(out)
    assert len(queries) == 12 and all(len(q) == 2 for q in queries.values())
    assert read_sidecar(out)["generator"] == {"backend": "lead-words"}
