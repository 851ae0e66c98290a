"""Bad inputs to every command, table-driven: each case writes one bad input under tmp_path and
runs the real ``qcpt`` in-process (``qcpt.cli.main``). Every case must end with exit status 2,
one error line naming the place (file, line, key or option), no traceback, and nothing written
where the command was told to write its output."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from qcpt import cli

from .conftest import write_tiny_beir

BEIR = "beir"  # the data set folder every case starts from (write_tiny_beir), under tmp_path


class Work:
    """What a case's setup writes into: tmp_path, the tiny BEIR folder, the tiny BERT."""

    def __init__(self, root: Path, request: pytest.FixtureRequest):
        self.root = root
        self._request = request

    def write(self, name: str, content: str | bytes | list | dict) -> Path:
        """``content`` as the file ``name``: bytes as they are, lists as JSON Lines, dicts as
        YAML, text as UTF-8; ``.gz`` names are compressed."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, list):
            content = "".join(json.dumps(record) + "\n" for record in content)
        elif isinstance(content, dict):
            content = yaml.safe_dump(content, sort_keys=False)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        return path

    def beir(self, **files: str | bytes | list) -> Path:
        """The tiny BEIR folder with ``files`` (relative path -> content) replaced; a value of
        None removes the file."""
        folder = write_tiny_beir(self.root / BEIR)
        for name, content in files.items():
            name = name.replace("__", "/")
            if content is None:
                (folder / name).unlink()
            else:
                self.write(f"{BEIR}/{name}", content)
        return folder

    @property
    def model(self) -> Path:
        return self._request.getfixturevalue("tiny_bert_dir")

    def embeddings(
        self,
        name: str = "emb",
        manifest: str | dict | None = None,
        shards: dict[str, bytes | str] | None = None,
    ) -> Path:
        """An embeddings folder as ``qcpt encode`` writes it, made by hand: a manifest (by
        default one of the tiny BERT) and ``shards`` (file name -> content)."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        if manifest is None:
            manifest = {
                "encoder": {
                    "model": str(self.model),
                    "model_path": str(self.model),
                    "pooling": "cls",
                    "normalize": False,
                    "query_max_length": 8,
                    "passage_max_length": 16,
                },
                "shard_size": 100,
            }
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        (folder / "manifest.json").write_text(text)
        for file_name, content in (shards or {}).items():
            data = content.encode() if isinstance(content, str) else content
            (folder / file_name).write_bytes(data)
        return folder


@dataclass(frozen=True)
class Case:
    """One bad input: the command line (``{tmp}``: tmp_path, ``{beir}``: the data set folder,
    ``{model}``: the tiny BERT), what the setup writes, the substrings the error line must
    hold, the outputs that must not exist afterwards (``absent``) and the existing outputs that
    must hold nothing new (``kept``), as paths relative to tmp_path."""

    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    setup: Callable[[Work], object] = lambda work: work.beir()
    absent: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


def _npy(rows: int = 2, dim: int = 32) -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.ones((rows, dim), dtype=np.float32))
    return buffer.getvalue()


def _shard_pair(work: Work, name: str = "shard-00000", meta: dict | None = None) -> None:
    """A generated-queries shard file and its sidecar, as generate-queries --shard writes."""
    work.write(f"{name}.jsonl", [{"_id": "d0", "queries": ["cells protein"]}])
    if meta is not None:
        work.write(f"{name}.meta.json", json.dumps(meta))


PASSAGES = [
    {"_id": f"d{i}-0", "doc_id": f"d{i}", "title": "t", "text": f"cells protein {i}"}
    for i in range(4)
]
GEN_QUERIES = [{"_id": f"d{i}-0", "queries": ["cells protein", "gene cancer"]} for i in range(4)]
GROUPS = [
    {
        "query_id": "q0",
        "query": "cells protein",
        "positive_passages": [{"docid": "d0", "title": "", "text": "cells protein gene"}],
        "negative_passages": [{"docid": "d1", "title": "", "text": "cancer risk brain"}],
    }
]

# bad corpus / queries / qrels lines, each replacing a file of the tiny BEIR folder
BAD_JSON = '{"_id": "d0", "text": "cells"}\n{"_id": "d1", "text": \n'
NOT_UTF8 = b'{"_id": "d0", "text": "cells"}\n{"_id": "d1", "text": "caf\xe9"}\n'

CASES: list[Case] = [
    # ---- corpus ------------------------------------------------------------------------------
    Case(
        "stats-corpus-bad-json",
        ("data", "stats", "{beir}"),
        ("corpus.jsonl:2", "malformed JSON"),
        lambda w: w.beir(**{"corpus.jsonl": BAD_JSON}),
    ),
    Case(
        "stats-corpus-gz-corrupt",
        ("data", "stats", "{beir}", "--json", "stats.json"),
        ("corpus.jsonl.gz", "corrupt gzip"),
        lambda w: (
            w.beir(**{"corpus.jsonl": None}),
            (w.root / BEIR / "corpus.jsonl.gz").write_bytes(b"\x1f\x8bnot gzip"),
        ),
        absent=("stats.json",),
    ),
    Case(
        "bm25-corpus-not-utf8",
        ("bm25", "{beir}", "-o", "run.trec", "--quiet"),
        ("corpus.jsonl:2", "invalid UTF-8 byte 0xe9"),
        lambda w: w.beir(**{"corpus.jsonl": NOT_UTF8}),
        absent=("run.trec",),
    ),
    Case(
        "bm25-corpus-duplicate-id",
        ("bm25", "{beir}", "-o", "run.trec", "--index-dir", "idx", "-q"),
        ("corpus.jsonl:2", "duplicate id 'd0' (first on line 1)"),
        lambda w: w.beir(
            **{"corpus.jsonl": [{"_id": "d0", "text": "a"}, {"_id": "d0", "text": "b"}]}
        ),
        absent=("run.trec", "idx"),
    ),
    Case(
        "stats-corpus-nested-too-deeply",
        ("data", "stats", "{beir}"),
        ("corpus.jsonl:2", "nested too deeply"),
        lambda w: w.beir(**{"corpus.jsonl": '{"_id": "d0", "text": "a"}\n' + "[" * 100_000}),
    ),
    Case(
        "demo-queries-bad",
        ("demo", "-o", "demo", "--dataset", "{beir}"),
        ("queries.jsonl:1", "malformed JSON"),
        lambda w: w.beir(**{"queries.jsonl": "{\n"}),
        absent=("demo",),
    ),
    Case(
        "encode-corpus-empty",
        ("encode", "{beir}", "-o", "emb", "-m", "{model}", "--quiet"),
        ("corpus.jsonl", "corpus is empty"),
        lambda w: w.beir(**{"corpus.jsonl": "\n\n"}),
        absent=("emb",),
    ),
    Case(
        "encode-corpus-blank-documents",
        ("encode", "{beir}", "-o", "emb", "-m", "{model}", "--quiet"),
        ("corpus.jsonl", "all 2 documents have empty title and text"),
        lambda w: w.beir(
            **{"corpus.jsonl": [{"_id": "d0", "text": " "}, {"_id": "d1", "text": "", "title": ""}]}
        ),
        absent=("emb",),
    ),
    Case(
        "encode-corpus-id-wrong-type",
        ("encode", "{beir}", "-o", "emb", "-m", "{model}", "--quiet"),
        ("corpus.jsonl:1", "'_id' must be a string, got an array"),
        lambda w: w.beir(**{"corpus.jsonl": [{"_id": ["d0"], "text": "a"}]}),
        absent=("emb",),
    ),
    Case(
        "eval-model-corpus-bad-json",
        ("eval-model", "{model}", "{beir}", "-o", "ev", "-q"),
        ("corpus.jsonl:2", "malformed JSON"),
        lambda w: w.beir(**{"corpus.jsonl": BAD_JSON}),
        absent=("ev",),
    ),
    Case(
        "eval-model-corpus-empty",
        ("eval-model", "{model}", "{beir}", "-o", "ev", "-q"),
        ("corpus.jsonl", "corpus is empty"),
        lambda w: w.beir(**{"corpus.jsonl": ""}),
        absent=("ev",),
    ),
    Case(
        "split-passages-corpus-missing-id",
        ("split-passages", "c.jsonl", "-o", "p.jsonl", "--as-is"),
        ("c.jsonl:1", "missing '_id'"),
        lambda w: w.write("c.jsonl", [{"text": "cells"}]),
        absent=("p.jsonl",),
    ),
    Case(
        "split-passages-tsv-columns",
        ("split-passages", "collection.tsv", "-o", "p.jsonl", "--as-is"),
        ("collection.tsv:2", "expected 2 tab-separated columns (pid, text)", "got 3"),
        lambda w: w.write("collection.tsv", "1\tcells protein\n2\ttitle\ttext\n"),
        absent=("p.jsonl",),
    ),
    Case(
        "split-passages-unsupported-suffix",
        ("split-passages", "corpus.csv", "-o", "p.jsonl", "--as-is"),
        ("corpus.csv", "unsupported file type"),
        lambda w: w.write("corpus.csv", "1,cells\n"),
        absent=("p.jsonl",),
    ),
    Case(
        "build-train-corpus-text-not-string",
        ("build-train", "{beir}", "-o", "g.jsonl", "--quiet"),
        ("corpus.jsonl:1", "'text' must be a string, got a number"),
        lambda w: w.beir(**{"corpus.jsonl": [{"_id": "d0", "text": 3}]}),
        absent=("g.jsonl",),
    ),
    Case(
        "mine-corpus-bad-json",
        ("mine", "{beir}", "-o", "g.jsonl", "-m", "{model}", "--quiet"),
        ("corpus.jsonl:2", "malformed JSON"),
        lambda w: w.beir(**{"corpus.jsonl": BAD_JSON}),
        absent=("g.jsonl", "g.embeddings"),
    ),
    # ---- queries -----------------------------------------------------------------------------
    Case(
        "bm25-queries-not-object",
        ("bm25", "{beir}", "-o", "run.trec", "--index-dir", "idx"),
        ("queries.jsonl:1", "expected a JSON object, got an array"),
        lambda w: w.beir(**{"queries.jsonl": '["q0", "cells"]\n'}),
        absent=("run.trec", "idx"),
    ),
    Case(
        "stats-queries-tsv-columns",
        ("data", "stats", "{tmp}/marco"),
        ("queries.dev.tsv:1", "expected 2 tab-separated columns (qid, text), got 1"),
        lambda w: (
            w.write("marco/collection.tsv", "1\tcells\n"),
            w.write("marco/queries.dev.tsv", "q1 cells\n"),
            w.write("marco/qrels.dev.tsv", "q1\t0\t1\t1\n"),
        ),
    ),
    Case(
        "eval-model-queries-duplicate",
        ("eval-model", "{model}", "{beir}", "-o", "ev"),
        ("queries.jsonl:2", "duplicate id 'q8'"),
        lambda w: w.beir(
            **{"queries.jsonl": [{"_id": "q8", "text": "a"}, {"_id": "q8", "text": "b"}]}
        ),
        absent=("ev",),
    ),
    Case(
        "search-queries-empty-text",
        ("search", "emb", "{beir}", "-o", "run.trec", "--quiet"),
        ("queries.jsonl:1", "empty text for query 'q8'"),
        lambda w: (
            w.beir(**{"queries.jsonl": [{"_id": "q8", "text": " "}]}),
            w.embeddings(shards={"shard-00000.npy": _npy(), "shard-00000.ids": "d0\nd1\n"}),
        ),
        absent=("run.trec",),
    ),
    Case(
        "build-train-queries-missing-text",
        ("build-train", "{beir}", "-o", "g.jsonl"),
        ("queries.jsonl:1", "missing 'text'"),
        lambda w: w.beir(**{"queries.jsonl": [{"_id": "q0"}]}),
        absent=("g.jsonl",),
    ),
    # ---- qrels -------------------------------------------------------------------------------
    Case(
        "evaluate-qrels-grade",
        ("evaluate", "q.tsv", "r.trec", "-o", "m.json"),
        ("q.tsv:3", "relevance score must be an integer, got 'high'"),
        lambda w: (
            w.write("q.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\thigh\n"),
            w.write("r.trec", "q1 Q0 d1 1 0.9 t\n"),
        ),
        absent=("m.json",),
    ),
    Case(
        "evaluate-qrels-columns",
        ("evaluate", "q.txt", "r.trec"),
        ("q.txt:1", "got 2 column(s)"),
        lambda w: (w.write("q.txt", "q1 d1\n"), w.write("r.trec", "q1 Q0 d1 1 0.9 t\n")),
    ),
    Case(
        "evaluate-qrels-missing",
        ("evaluate", "nothing.tsv", "r.trec"),
        ("nothing.tsv", "does not exist"),
        lambda w: w.write("r.trec", "q1 Q0 d1 1 0.9 t\n"),
    ),
    # ---- runs to fuse ------------------------------------------------------------------------
    Case(
        "fuse-one-run",
        ("fuse", "a.trec", "-o", "f.trec"),
        ("at least two run files",),
        lambda w: w.write("a.trec", "q1 Q0 d1 1 0.9 t\n"),
        absent=("f.trec",),
    ),
    Case(
        "fuse-unknown-method",
        ("fuse", "a.trec", "b.trec", "--method", "sum", "-o", "f.trec"),
        ("--method 'sum'", "rrf, max"),
        lambda w: (w.write("a.trec", "q1 Q0 d1 1 0.9 t\n"), w.write("b.trec", "q1 Q0 d2 1 1 t\n")),
        absent=("f.trec",),
    ),
    Case(
        "fuse-bad-run-line",
        ("fuse", "a.trec", "b.trec", "-o", "f.trec"),
        ("b.trec:2",),
        lambda w: (
            w.write("a.trec", "q1 Q0 d1 1 0.9 t\n"),
            w.write("b.trec", "q1 Q0 d2 1 1 t\nq1 Q0 d3 2\n"),
        ),
        absent=("f.trec",),
    ),
    Case(
        "fuse-output-is-a-folder",
        ("fuse", "a.trec", "b.trec", "-o", "out"),
        ("--output", "is a folder"),
        lambda w: (
            w.write("a.trec", "q1 Q0 d1 1 0.9 t\n"),
            w.write("b.trec", "q1 Q0 d2 1 1 t\n"),
            (w.root / "out").mkdir(),
        ),
    ),
    Case(
        "bm25-qrels-conflict",
        ("bm25", "{beir}", "-o", "run.trec", "--index-dir", "idx"),
        ("test.tsv:3", "judged 0 here but 1 on line 2"),
        lambda w: w.beir(
            **{"qrels__test.tsv": "query-id\tcorpus-id\tscore\nq8\td8\t1\nq8\td8\t0\n"}
        ),
        absent=("run.trec", "idx"),
    ),
    Case(
        "eval-model-qrels-columns",
        ("eval-model", "{model}", "{beir}", "-o", "ev"),
        ("test.tsv:3", "expected 3 columns"),
        lambda w: w.beir(**{"qrels__test.tsv": "query-id\tcorpus-id\tscore\nq8\td8\t1\nq9\td9\n"}),
        absent=("ev",),
    ),
    Case(
        "eval-model-no-split",
        ("eval-model", "{model}", "{beir}", "-o", "ev", "--split", "dev"),
        ("beir", "no split 'dev'", "available: test, train"),
        absent=("ev",),
    ),
    Case(
        "build-train-qrels-empty",
        ("build-train", "{beir}", "-o", "g.jsonl"),
        ("train.tsv", "no judgements in file"),
        lambda w: w.beir(**{"qrels__train.tsv": "query-id\tcorpus-id\tscore\n"}),
        absent=("g.jsonl",),
    ),
    Case(
        "stats-dataset-without-qrels",
        ("data", "stats", "{beir}"),
        ("beir has no qrels", "qrels/<split>.tsv"),
        lambda w: w.beir(**{"qrels__test.tsv": None, "qrels__train.tsv": None}),
    ),
    # ---- runs (TREC) -------------------------------------------------------------------------
    Case(
        "evaluate-run-columns",
        ("evaluate", "q.tsv", "r.trec", "-o", "m.json"),
        ("r.trec:2", "expected 6 columns", "found 5"),
        lambda w: (
            w.write("q.tsv", "q1\td1\t1\n"),
            w.write("r.trec", "q1 Q0 d1 1 0.9 t\nq1 Q0 d2 2 0.8\n"),
        ),
        absent=("m.json",),
    ),
    Case(
        "evaluate-run-score",
        ("evaluate", "q.tsv", "r.trec"),
        ("r.trec:1", "score 'nan' is not a number"),
        lambda w: (w.write("q.tsv", "q1\td1\t1\n"), w.write("r.trec", "q1 Q0 d1 1 nan t\n")),
    ),
    Case(
        "evaluate-run-not-utf8",
        ("evaluate", "q.tsv", "r.trec"),
        ("r.trec:2", "not valid UTF-8"),
        lambda w: (
            w.write("q.tsv", "q1\td1\t1\n"),
            w.write("r.trec", b"q1 Q0 d1 1 0.9 t\nq1 Q0 d\xff 2 0.8 t\n"),
        ),
    ),
    Case(
        "evaluate-run-duplicate",
        ("evaluate", "q.tsv", "r.trec"),
        ("r.trec:2", "document 'd1' listed twice for 'q1'"),
        lambda w: (
            w.write("q.tsv", "q1\td1\t1\n"),
            w.write("r.trec", "q1 Q0 d1 1 0.9 t\nq1 Q0 d1 2 0.8 t\n"),
        ),
    ),
    Case(
        "evaluate-run-empty",
        ("evaluate", "q.tsv", "r.trec"),
        ("r.trec", "run file has no entries"),
        lambda w: (w.write("q.tsv", "q1\td1\t1\n"), w.write("r.trec", "\n")),
    ),
    Case(
        "evaluate-run-is-a-directory",
        ("evaluate", "q.tsv", "runs"),
        ("runs", "Is a directory"),
        lambda w: (w.write("q.tsv", "q1\td1\t1\n"), (w.root / "runs").mkdir()),
    ),
    # ---- passages ----------------------------------------------------------------------------
    Case(
        "generate-queries-passages-duplicate",
        (
            "generate-queries",
            "p.jsonl",
            "-o",
            "q.jsonl",
            "--backend",
            "file",
            "--queries-file",
            "in.jsonl",
            "--quiet",
        ),
        ("p.jsonl:2", "duplicate id 'd0-0' (first on line 1)"),
        lambda w: (
            w.write("p.jsonl", [PASSAGES[0], PASSAGES[0]]),
            w.write("in.jsonl", GEN_QUERIES),
        ),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "generate-queries-passages-missing-text",
        (
            "generate-queries",
            "p.jsonl",
            "-o",
            "q.jsonl",
            "--backend",
            "file",
            "--queries-file",
            "in.jsonl",
        ),
        ("p.jsonl:1", "missing 'text'"),
        lambda w: (w.write("p.jsonl", [{"_id": "p0"}]), w.write("in.jsonl", GEN_QUERIES)),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "pretrain-passages-bad-json",
        ("pretrain", "-o", "pt", "--passages", "p.jsonl", "--queries", "q.jsonl", "-m", "{model}"),
        ("p.jsonl:2", "malformed JSON"),
        lambda w: (
            w.write("p.jsonl", json.dumps(PASSAGES[0]) + "\n{oops\n"),
            w.write("q.jsonl", GEN_QUERIES),
        ),
        absent=("pt",),
    ),
    Case(
        "querygen-report-passages-empty",
        ("querygen-report", "p.jsonl", "q.jsonl", "-o", "report.md"),
        ("p.jsonl", "no passages in file"),
        lambda w: (w.write("p.jsonl", "\n"), w.write("q.jsonl", GEN_QUERIES)),
        absent=("report.md",),
    ),
    Case(
        "filter-queries-passages-id-wrong-type",
        ("filter-queries", "q.jsonl", "p.jsonl", "-o", "f.jsonl", "--scorer", "bm25"),
        ("p.jsonl:1", "'_id' must be a string, got an object"),
        lambda w: (
            w.write("p.jsonl", [{"_id": {"a": 1}, "text": "x"}]),
            w.write("q.jsonl", GEN_QUERIES),
        ),
        absent=("f.jsonl", "f.meta.json"),
    ),
    # ---- generated queries (+ sidecar) ---------------------------------------------------------
    Case(
        "filter-queries-queries-not-list",
        ("filter-queries", "q.jsonl", "p.jsonl", "-o", "f.jsonl", "--scorer", "bm25"),
        ("q.jsonl:1", "'queries' must be a list of strings, got a string"),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", [{"_id": "d0-0", "queries": "cells"}]),
        ),
        absent=("f.jsonl", "f.meta.json"),
    ),
    Case(
        "filter-queries-sidecar-bad-json",
        ("filter-queries", "q.jsonl", "p.jsonl", "-o", "f.jsonl", "--scorer", "bm25", "--quiet"),
        ("q.meta.json:1", "malformed JSON"),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", GEN_QUERIES),
            w.write("q.meta.json", "{not json"),
        ),
        absent=("f.jsonl", "f.meta.json"),
    ),
    Case(
        "pretrain-queries-duplicate",
        ("pretrain", "-o", "pt", "--passages", "p.jsonl", "--queries", "q.jsonl", "-m", "{model}"),
        ("q.jsonl:2", "duplicate id 'd0-0'"),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", [GEN_QUERIES[0], GEN_QUERIES[0]]),
        ),
        absent=("pt",),
    ),
    Case(
        "pretrain-queries-of-other-passages",
        ("pretrain", "-o", "pt", "--passages", "p.jsonl", "--queries", "q.jsonl", "-m", "{model}"),
        ("q.jsonl", "none of its 1 passage ids are in p.jsonl"),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", [{"_id": "x", "queries": ["a"]}]),
        ),
        absent=("pt",),
    ),
    Case(
        "pretrain-queries-missing",
        (
            "pretrain",
            "-o",
            "pt",
            "--passages",
            "p.jsonl",
            "--queries",
            "nothing.jsonl",
            "-m",
            "{model}",
        ),
        ("nothing.jsonl", "no such file"),
        lambda w: w.write("p.jsonl", PASSAGES),
        absent=("pt",),
    ),
    Case(
        "querygen-report-queries-bad-json",
        ("querygen-report", "p.jsonl", "q.jsonl"),
        ("q.jsonl:1", "malformed JSON"),
        lambda w: (w.write("p.jsonl", PASSAGES), w.write("q.jsonl", "{\n")),
    ),
    Case(
        "querygen-report-sidecar-bad-json",
        ("querygen-report", "p.jsonl", "q.jsonl", "-o", "report.md"),
        ("q.meta.json:2", "malformed JSON"),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", GEN_QUERIES),
            w.write("q.meta.json", '{"generator":\n  oops}'),
        ),
        absent=("report.md",),
    ),
    Case(
        "querygen-report-sidecar-not-an-object",
        ("querygen-report", "p.jsonl", "q.jsonl"),
        ("q.meta.json", "expected a JSON object, got an array"),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", GEN_QUERIES),
            w.write("q.meta.json", "[1, 2]"),
        ),
    ),
    Case(
        "filter-queries-sidecar-not-utf8",
        ("filter-queries", "q.jsonl", "p.jsonl", "-o", "f.jsonl", "--scorer", "bm25"),
        ("q.meta.json", "invalid UTF-8"),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", GEN_QUERIES),
            w.write("q.meta.json", b'{"generator": "caf\xe9"}'),
        ),
        absent=("f.jsonl", "f.meta.json"),
    ),
    Case(
        "merge-queries-no-shards",
        ("merge-queries", "q.jsonl"),
        ("no shards of q.jsonl", "q.shard-<k>-of-<n>.jsonl"),
        lambda w: None,
        absent=("q.jsonl",),
    ),
    Case(
        "merge-queries-sidecar-missing",
        ("merge-queries", "q.jsonl"),
        ("q.shard-0-of-1.jsonl", "sidecar q.shard-0-of-1.meta.json is missing"),
        lambda w: _shard_pair(w, "q.shard-0-of-1"),
        absent=("q.jsonl",),
    ),
    Case(
        "merge-queries-sidecar-bad-json",
        ("merge-queries", "q.jsonl"),
        ("q.shard-0-of-1.meta.json:1", "malformed JSON"),
        lambda w: (_shard_pair(w, "q.shard-0-of-1"), w.write("q.shard-0-of-1.meta.json", "[1,")),
        absent=("q.jsonl",),
    ),
    Case(
        "generate-queries-file-backend-tsv",
        (
            "generate-queries",
            "p.jsonl",
            "-o",
            "q.jsonl",
            "--backend",
            "file",
            "--queries-file",
            "in.tsv",
            "--file-format",
            "tsv",
        ),
        ("in.tsv:2", "expected 2 tab-separated columns (pid, query), got 1"),
        lambda w: (w.write("p.jsonl", PASSAGES), w.write("in.tsv", "d0-0\tcells\nd1-0\n")),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "generate-queries-file-backend-record",
        (
            "generate-queries",
            "p.jsonl",
            "-o",
            "q.jsonl",
            "--backend",
            "file",
            "--queries-file",
            "in.jsonl",
        ),
        ("in.jsonl:1", "expected 'queries', 'predicted_queries' or 'text'"),
        lambda w: (w.write("p.jsonl", PASSAGES), w.write("in.jsonl", [{"_id": "d0-0"}])),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "adapt-queries-file-missing",
        ("adapt", "{beir}", "-o", "ad", "--queries-file", "nothing.jsonl", "--dry-run"),
        ("--queries-file", "nothing.jsonl", "no such file"),
        absent=("ad",),
    ),
    # ---- training groups ---------------------------------------------------------------------
    Case(
        "finetune-groups-no-positive",
        (
            "finetune",
            "-o",
            "ft",
            "--dataset",
            "{beir}",
            "--train-groups",
            "g.jsonl",
            "-m",
            "{model}",
            "--stages",
            "1",
            "--quiet",
        ),
        ("g.jsonl:1", "a group needs at least one positive passage"),
        lambda w: (w.beir(), w.write("g.jsonl", [{**GROUPS[0], "positive_passages": []}])),
        absent=("ft",),
    ),
    Case(
        "finetune-groups-bad-json",
        (
            "finetune",
            "-o",
            "ft",
            "--dataset",
            "{beir}",
            "--train-groups",
            "g.jsonl",
            "-m",
            "{model}",
            "--stages",
            "1",
        ),
        ("g.jsonl:2", "not valid JSON"),
        lambda w: (w.beir(), w.write("g.jsonl", json.dumps(GROUPS[0]) + "\n[\n")),
        absent=("ft",),
    ),
    Case(
        "finetune-groups-missing",
        (
            "finetune",
            "-o",
            "ft",
            "--dataset",
            "{beir}",
            "--train-groups",
            "nothing.jsonl",
            "-m",
            "{model}",
            "--stages",
            "1",
        ),
        ("nothing.jsonl", "no such groups file"),
        absent=("ft",),
    ),
    Case(
        "finetune-groups-passage-without-text",
        (
            "finetune",
            "-o",
            "ft",
            "--dataset",
            "{beir}",
            "--train-groups",
            "g.jsonl",
            "-m",
            "{model}",
            "--stages",
            "1",
        ),
        ("g.jsonl:1", "a passage in 'negative_passages' has no text"),
        lambda w: (w.beir(), w.write("g.jsonl", [{**GROUPS[0], "negative_passages": [{}]}])),
        absent=("ft",),
    ),
    Case(
        "finetune-train-qrels-bad",
        ("finetune", "-o", "ft", "--dataset", "{beir}", "-m", "{model}", "--stages", "1"),
        ("train.tsv:2", "relevance score must be an integer"),
        lambda w: w.beir(**{"qrels__train.tsv": "query-id\tcorpus-id\tscore\nq0\td0\tx\n"}),
        absent=("ft",),
    ),
    # ---- embeddings folders --------------------------------------------------------------------
    Case(
        "index-not-embeddings",
        ("index", "emb"),
        ("emb is not an embeddings folder",),
        lambda w: (w.root / "emb").mkdir(),
        kept=("emb",),
    ),
    Case(
        "index-manifest-bad-json",
        ("index", "emb"),
        ("manifest.json", "malformed JSON"),
        lambda w: w.embeddings(manifest='{"encoder": '),
        kept=("emb",),
    ),
    Case(
        "index-no-shards",
        ("index", "emb", "--quiet"),
        ("emb has no complete embedding shards",),
        lambda w: w.embeddings(manifest={"encoder": {}, "shard_size": 10}),
        kept=("emb",),
    ),
    Case(
        "index-shard-corrupt",
        ("index", "emb", "--quiet"),
        ("shard-00000.npy",),
        lambda w: w.embeddings(
            manifest={"encoder": {}, "shard_size": 10},
            shards={"shard-00000.npy": b"not numpy", "shard-00000.ids": "d0\n"},
        ),
        kept=("emb",),
    ),
    Case(
        "index-ids-do-not-match",
        ("index", "emb", "--quiet"),
        ("shard-00000.ids", "3 ids", "2 vectors"),
        lambda w: w.embeddings(
            manifest={"encoder": {}, "shard_size": 10},
            shards={"shard-00000.npy": _npy(2), "shard-00000.ids": "d0\nd1\nd2\n"},
        ),
        kept=("emb",),
    ),
    Case(
        "search-manifest-without-encoder",
        ("search", "emb", "{beir}", "-o", "run.trec"),
        ("manifest.json", "encoder"),
        lambda w: (w.beir(), w.embeddings(manifest={"shard_size": 10})),
        absent=("run.trec",),
        kept=("emb",),
    ),
    Case(
        "search-not-embeddings",
        ("search", "{beir}", "{beir}", "-o", "run.trec"),
        ("beir is not an embeddings folder",),
        absent=("run.trec",),
    ),
    Case(
        "encode-into-other-manifest",
        ("encode", "{beir}", "-o", "emb", "-m", "{model}", "--quiet"),
        ("emb holds embeddings made with other settings",),
        lambda w: (
            w.beir(),
            w.embeddings(manifest={"encoder": {"model": "x"}, "shard_size": 100000}),
        ),
        kept=("emb",),
    ),
    Case(
        "encode-into-bad-manifest",
        ("encode", "{beir}", "-o", "emb", "-m", "{model}", "--quiet"),
        ("manifest.json", "malformed JSON"),
        lambda w: (w.beir(), w.embeddings(manifest="{")),
        kept=("emb",),
    ),
    # ---- YAML configs ------------------------------------------------------------------------
    Case(
        "pretrain-config-syntax",
        ("pretrain", "-o", "pt", "-c", "pre.yaml"),
        ("pre.yaml:2:", "not valid YAML", "mapping values are not allowed"),
        lambda w: w.write("pre.yaml", "data:\n  passages: p.jsonl: x\n"),
        absent=("pt",),
    ),
    Case(
        "pretrain-config-unknown-key",
        ("pretrain", "-o", "pt", "-c", "pre.yaml"),
        ("pre.yaml", "data.pasages: unknown key"),
        lambda w: w.write("pre.yaml", {"data": {"pasages": "p.jsonl", "passages": "p.jsonl"}}),
        absent=("pt",),
    ),
    Case(
        "pretrain-config-bad-value",
        ("pretrain", "-o", "pt", "-c", "pre.yaml"),
        ("pre.yaml", "contrastive.mask_rate", "less than 1"),
        lambda w: w.write(
            "pre.yaml", {"data": {"passages": "p.jsonl"}, "contrastive": {"mask_rate": 1.5}}
        ),
        absent=("pt",),
    ),
    Case(
        "pretrain-config-wrong-type",
        ("pretrain", "-o", "pt", "-c", "pre.yaml"),
        ("pre.yaml", "training.batch_size", "integer"),
        lambda w: w.write(
            "pre.yaml", {"data": {"passages": "p.jsonl"}, "training": {"batch_size": "many"}}
        ),
        absent=("pt",),
    ),
    Case(
        "pretrain-config-not-mapping",
        ("pretrain", "-o", "pt", "-c", "pre.yaml"),
        ("pre.yaml", "a config is a mapping of sections"),
        lambda w: w.write("pre.yaml", "- data\n- model\n"),
        absent=("pt",),
    ),
    Case(
        "pretrain-config-missing",
        ("pretrain", "-o", "pt", "-c", "nothing.yaml"),
        ("nothing.yaml", "no such config file"),
        lambda w: None,
        absent=("pt",),
    ),
    Case(
        "pretrain-config-not-utf8",
        ("pretrain", "-o", "pt", "-c", "pre.yaml"),
        ("pre.yaml", "cannot read the config"),
        lambda w: w.write("pre.yaml", b"data:\n  passages: caf\xe9\n"),
        absent=("pt",),
    ),
    Case(
        "pretrain-unknown-objective",
        ("pretrain", "-o", "pt", "--passages", "p.jsonl", "--objective", "magic"),
        ("objective", "unknown objective 'magic'"),
        lambda w: None,
        absent=("pt",),
    ),
    Case(
        "pretrain-unknown-context",
        ("pretrain", "-o", "pt", "--passages", "p.jsonl", "--context", "span-far"),
        ("data.context", "span-far"),
        lambda w: None,
        absent=("pt",),
    ),
    Case(
        "pretrain-deepspeed-missing",
        ("pretrain", "-o", "pt", "--passages", "p.jsonl", "--deepspeed", "ds.json"),
        ("training.deepspeed", "ds.json"),
        lambda w: None,
        absent=("pt",),
    ),
    Case(
        "finetune-config-bad-value",
        ("finetune", "-o", "ft", "-c", "ft.yaml"),
        ("ft.yaml", "stages", "1 or 2"),
        lambda w: w.write("ft.yaml", {"dataset": "x", "stages": 3}),
        absent=("ft",),
    ),
    Case(
        "finetune-config-wrong-type",
        ("finetune", "-o", "ft", "-c", "ft.yaml"),
        ("ft.yaml", "evaluation.zero_shot", "boolean"),
        lambda w: w.write("ft.yaml", {"dataset": "x", "evaluation": {"zero_shot": "maybe"}}),
        absent=("ft",),
    ),
    Case(
        "finetune-without-dataset",
        ("finetune", "-o", "ft"),
        ("fine-tuning config", "dataset: Field required"),
        lambda w: None,
        absent=("ft",),
    ),
    Case(
        "finetune-dataset-missing",
        ("finetune", "-o", "ft", "--dataset", "{tmp}/nothing", "-m", "{model}"),
        ("nothing: no such dataset folder",),
        lambda w: None,
        absent=("ft",),
    ),
    Case(
        "generate-queries-config-unknown-key",
        ("generate-queries", "p.jsonl", "-o", "q.jsonl", "-c", "qg.yaml"),
        ("qg.yaml", "generation.num_querys: unknown key"),
        lambda w: w.write("qg.yaml", {"generation": {"num_querys": 3}}),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "generate-queries-config-unknown-backend",
        ("generate-queries", "p.jsonl", "-o", "q.jsonl", "-c", "qg.yaml"),
        ("qg.yaml", "generation.backend", "unknown backend 'gpt'"),
        lambda w: w.write("qg.yaml", {"generation": {"backend": "gpt"}}),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "split-passages-config-bad-value",
        ("split-passages", "c.jsonl", "-o", "p.jsonl", "-c", "qg.yaml"),
        ("qg.yaml", "passages.max_tokens", "greater than 1"),
        lambda w: (
            w.write("c.jsonl", [{"_id": "d0", "text": "a"}]),
            w.write("qg.yaml", {"passages": {"max_tokens": 0}}),
        ),
        absent=("p.jsonl",),
    ),
    Case(
        "filter-queries-config-wrong-type",
        ("filter-queries", "q.jsonl", "p.jsonl", "-o", "f.jsonl", "-c", "qg.yaml"),
        ("qg.yaml", "consistency.k", "integer"),
        lambda w: w.write("qg.yaml", {"consistency": {"k": "ten"}}),
        absent=("f.jsonl", "f.meta.json"),
    ),
    Case(
        "run-recipe-syntax",
        ("run", "exp.yaml", "-o", "out"),
        ("exp.yaml:3:", "not valid YAML"),
        lambda w: w.write("exp.yaml", "name: x\nsystems:\n\t- {name: bm25}\n"),
        absent=("out",),
    ),
    Case(
        "run-recipe-unknown-key",
        ("run", "exp.yaml", "-o", "out"),
        ("exp.yaml", "systems.0.knd: unknown key"),
        lambda w: w.write(
            "exp.yaml",
            {"name": "x", "dataset": "{beir}", "systems": [{"name": "bm25", "knd": "bm25"}]},
        ),
        absent=("out",),
    ),
    Case(
        "run-recipe-bad-value",
        ("run", "exp.yaml", "-o", "out"),
        ("exp.yaml", "name", "pattern"),
        lambda w: w.write(
            "exp.yaml",
            {"name": "Bad Name", "dataset": "d", "systems": [{"name": "bm25", "kind": "bm25"}]},
        ),
        absent=("out",),
    ),
    Case(
        "run-recipe-missing-stage-recipe",
        ("run", "exp.yaml", "-o", "out"),
        ("exp.yaml", "finetuning.recipe", "nothing.yaml"),
        lambda w: w.write(
            "exp.yaml",
            {
                "name": "x",
                "dataset": "d",
                "finetuning": {"recipe": "nothing.yaml"},
                "systems": [{"name": "ft", "kind": "finetune"}],
            },
        ),
        absent=("out",),
    ),
    Case(
        "run-set-without-value",
        ("run", "exp.yaml", "-o", "out", "--set", "seeds"),
        ("--set 'seeds'", "KEY=VALUE"),
        lambda w: w.write("exp.yaml", {"name": "x"}),
        absent=("out",),
    ),
    Case(
        "run-set-bad-yaml",
        ("run", "exp.yaml", "-o", "out", "--set", "seeds=[1, 2"),
        ("--set 'seeds=[1, 2'", "not valid YAML"),
        lambda w: w.write("exp.yaml", {"name": "x"}),
        absent=("out",),
    ),
    Case(
        "run-set-wrong-type",
        ("run", "exp.yaml", "-o", "out", "--set", "seeds=many"),
        ("exp.yaml", "seeds"),
        lambda w: w.write(
            "exp.yaml", {"name": "x", "dataset": "d", "systems": [{"name": "bm25", "kind": "bm25"}]}
        ),
        absent=("out",),
    ),
    Case(
        "run-dataset-missing",
        ("run", "exp.yaml", "-o", "out"),
        ("nothing", "no such dataset folder"),
        lambda w: w.write(
            "exp.yaml",
            {
                "name": "x",
                "dataset": str(w.root / "nothing"),
                "systems": [{"name": "bm25", "kind": "bm25"}],
            },
        ),
        absent=("out",),
    ),
    # ---- models, tokenizers, prompts and saved indexes -----------------------------------------
    Case(
        "eval-model-model-not-a-checkpoint",
        ("eval-model", "{tmp}/notmodel", "{beir}", "-o", "ev", "--quiet"),
        ("cannot load encoder", "notmodel"),
        lambda w: (w.beir(), (w.root / "notmodel").mkdir()),
        absent=("ev",),
    ),
    Case(
        "encode-model-not-found",
        ("encode", "{beir}", "-o", "emb", "-m", "no-such/model", "--quiet"),
        ("cannot load encoder 'no-such/model'",),
        absent=("emb",),
    ),
    Case(
        "pretrain-model-not-a-checkpoint",
        (
            "pretrain",
            "-o",
            "pt",
            "--passages",
            "p.jsonl",
            "--queries",
            "q.jsonl",
            "-m",
            "notmodel",
            "--batch-size",
            "2",
            "--quiet",
        ),
        ("notmodel",),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", GEN_QUERIES),
            (w.root / "notmodel").mkdir(),
        ),
        absent=("pt",),
    ),
    Case(
        "finetune-model-not-a-checkpoint",
        (
            "finetune",
            "-o",
            "ft",
            "--dataset",
            "{beir}",
            "--train-groups",
            "g.jsonl",
            "-m",
            "notmodel",
            "--stages",
            "1",
            "--quiet",
        ),
        ("cannot load encoder 'notmodel'",),
        lambda w: (w.beir(), w.write("g.jsonl", GROUPS), (w.root / "notmodel").mkdir()),
        absent=("ft",),
    ),
    Case(
        "stats-tokenizer-not-a-tokenizer",
        ("data", "stats", "{beir}", "--tokenizer", "{tmp}/notmodel"),
        ("cannot load tokenizer", "notmodel"),
        lambda w: (w.beir(), (w.root / "notmodel").mkdir()),
    ),
    Case(
        "generate-queries-prompt-bad",
        ("generate-queries", "p.jsonl", "-o", "q.jsonl", "--prompt", "prompt.yaml", "--quiet"),
        ("prompt.yaml", "bad prompt", "examples"),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("prompt.yaml", {"instruction": "write", "examples": "none"}),
        ),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "generate-queries-prompt-syntax",
        ("generate-queries", "p.jsonl", "-o", "q.jsonl", "--prompt", "prompt.yaml"),
        ("prompt.yaml:1:", "not valid YAML"),
        lambda w: (w.write("p.jsonl", PASSAGES), w.write("prompt.yaml", "examples: [a: b: c\n")),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "bm25-index-dir-corrupt",
        ("bm25", "{beir}", "-o", "run.trec", "--index-dir", "idx"),
        ("qcpt_bm25.json", "Invalid JSON"),
        lambda w: (w.beir(), w.write("idx/qcpt_bm25.json", "{bad")),
        absent=("run.trec",),
        kept=("idx",),
    ),
    Case(
        "bm25-index-dir-not-an-index",
        ("bm25", "{beir}", "-o", "run.trec", "--index-dir", "idx"),
        ("idx is not a qcpt BM25 index",),
        lambda w: (w.beir(), w.write("idx/notes.txt", "x")),
        absent=("run.trec",),
        kept=("idx",),
    ),
    Case(
        "search-manifest-without-model-path",
        ("search", "emb", "{beir}", "-o", "run.trec"),
        ("manifest.json", "no model_path"),
        lambda w: (w.beir(), w.embeddings(manifest={"encoder": {"model": "m"}})),
        absent=("run.trec",),
        kept=("emb",),
    ),
    Case(
        "split-passages-tokenizer-not-a-tokenizer",
        ("split-passages", "c.jsonl", "-o", "p.jsonl", "--tokenizer", "notmodel"),
        ("cannot load tokenizer 'notmodel'",),
        lambda w: (w.write("c.jsonl", [{"_id": "d0", "text": "a"}]), (w.root / "notmodel").mkdir()),
        absent=("p.jsonl",),
    ),
    Case(
        "generate-queries-seq2seq-not-a-checkpoint",
        (
            "generate-queries",
            "p.jsonl",
            "-o",
            "q.jsonl",
            "--backend",
            "seq2seq",
            "--model",
            "notmodel",
            "--quiet",
        ),
        ("cannot load seq2seq model 'notmodel'",),
        lambda w: (w.write("p.jsonl", PASSAGES), (w.root / "notmodel").mkdir()),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "generate-queries-causal-not-a-checkpoint",
        (
            "generate-queries",
            "p.jsonl",
            "-o",
            "q.jsonl",
            "--runtime",
            "transformers",
            "--model",
            "notmodel",
            "--quiet",
        ),
        ("cannot load causal model 'notmodel'",),
        lambda w: (w.write("p.jsonl", PASSAGES), (w.root / "notmodel").mkdir()),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "search-manifest-bad-encoder-settings",
        ("search", "emb", "{beir}", "-o", "run.trec"),
        ("manifest.json", "bad encoder settings", "pooling"),
        lambda w: (
            w.beir(),
            w.embeddings(manifest={"encoder": {"model_path": "m", "pooling": "max"}}),
        ),
        absent=("run.trec",),
        kept=("emb",),
    ),
    # ---- command-line options -----------------------------------------------------------------
    Case(
        "run-set-unknown-key",
        ("run", "exp.yaml", "-o", "out", "--set", "nope.key=3"),
        ("exp.yaml", "nope: unknown key"),
        lambda w: w.write(
            "exp.yaml", {"name": "x", "dataset": "d", "systems": [{"name": "bm25", "kind": "bm25"}]}
        ),
        absent=("out",),
    ),
    Case(
        "adapt-bad-runtime",
        ("adapt", "{beir}", "-o", "ad", "--runtime", "bogus", "--dry-run"),
        ("generation.runtime", "'auto', 'llama-cpp' or 'transformers'"),
        absent=("ad",),
    ),
    Case(
        "evaluate-unknown-measure",
        ("evaluate", "q.tsv", "r.trec", "--measure", "nDCG@ten"),
        ("nDCG@ten",),
        lambda w: (w.write("q.tsv", "q1\td1\t1\n"), w.write("r.trec", "q1 Q0 d1 1 0.9 t\n")),
    ),
    Case("unknown-command", ("bm26",), ("No such command 'bm26'",), lambda w: None),
    Case("data-unknown-command", ("data", "statz"), ("No such command 'statz'",), lambda w: None),
    Case("bm25-missing-output", ("bm25", "{beir}"), ("Missing option '--output'",)),
    Case(
        "stats-missing-dataset", ("data", "stats"), ("Missing argument 'dataset'",), lambda w: None
    ),
    Case(
        "encode-unknown-option",
        ("encode", "{beir}", "-o", "emb", "--shards", "3"),
        ("No such option: --shards",),
        absent=("emb",),
    ),
    Case(
        "search-depth-out-of-range",
        ("search", "emb", "{beir}", "-o", "run.trec", "-k", "0"),
        ("'--depth'", "greater than or equal to 1"),
        absent=("run.trec",),
    ),
    Case(
        "encode-part-out-of-range",
        ("encode", "{beir}", "-o", "emb", "--part", "3/2"),
        ("--part '3/2'", "0 <= k < n"),
        absent=("emb",),
    ),
    Case(
        "encode-bad-precision",
        ("encode", "{beir}", "-o", "emb", "--precision", "fp64"),
        ("bad encoder option", "precision"),
        absent=("emb",),
    ),
    Case(
        "eval-model-bad-pooling",
        ("eval-model", "{model}", "{beir}", "-o", "ev", "--pooling", "max"),
        ("bad encoder option", "pooling"),
        absent=("ev",),
    ),
    Case(
        "eval-model-bad-query-length",
        ("eval-model", "{model}", "{beir}", "-o", "ev", "--query-max-length", "0"),
        ("bad encoder option", "query_max_length"),
        absent=("ev",),
    ),
    Case(
        "finetune-stages-out-of-range",
        ("finetune", "-o", "ft", "--stages", "3"),
        ("'--stages'", "less than or equal to 2"),
        lambda w: None,
        absent=("ft",),
    ),
    Case(
        "pretrain-batch-size-zero",
        ("pretrain", "-o", "pt", "--batch-size", "0"),
        ("'--batch-size'",),
        lambda w: None,
        absent=("pt",),
    ),
    Case(
        "pretrain-max-steps-zero",
        ("pretrain", "-o", "pt", "--passages", "p.jsonl", "--max-steps", "0"),
        ("training.max_steps", "steps > 0"),
        lambda w: None,
        absent=("pt",),
    ),
    Case(
        "generate-queries-shard-out-of-range",
        ("generate-queries", "p.jsonl", "-o", "q.jsonl", "--shard", "2/2"),
        ("--shard '2/2'", "0 <= k < n"),
        lambda w: w.write("p.jsonl", PASSAGES),
        absent=("q.jsonl", "q.meta.json", "q.shard-2-of-2.jsonl"),
    ),
    Case(
        "generate-queries-bad-top-p",
        ("generate-queries", "p.jsonl", "-o", "q.jsonl", "--top-p", "2"),
        ("generation.top_p", "less than or equal to 1"),
        lambda w: w.write("p.jsonl", PASSAGES),
        absent=("q.jsonl", "q.meta.json"),
    ),
    Case(
        "generate-queries-limit-zero",
        ("generate-queries", "p.jsonl", "-o", "q.jsonl", "--limit", "0"),
        ("'--limit'",),
        lambda w: w.write("p.jsonl", PASSAGES),
        absent=("q.jsonl",),
    ),
    Case(
        "adapt-steps-zero",
        ("adapt", "{beir}", "-o", "ad", "--steps", "0"),
        ("'--steps'",),
        absent=("ad",),
    ),
    Case(
        "adapt-no-corpus",
        ("adapt", "{tmp}/empty", "-o", "ad"),
        ("empty holds no corpus", "corpus.jsonl"),
        lambda w: (w.root / "empty").mkdir(),
        absent=("ad",),
    ),
    Case(
        "demo-dataset-not-found",
        ("demo", "-o", "demo", "--dataset", "nothing", "--data-dir", "{tmp}/data"),
        ("dataset 'nothing' not found", "data/nothing"),
        lambda w: (w.root / "data").mkdir(),
        absent=("demo",),
    ),
    Case(
        "bm25-unknown-stemmer",
        ("bm25", "{beir}", "-o", "run.trec", "--stemmer", "klingon"),
        ("unknown stemmer language 'klingon'",),
        absent=("run.trec",),
    ),
    Case(
        "index-unknown-factory",
        ("index", "emb", "--factory", "NoSuchIndex", "--quiet"),
        ("NoSuchIndex",),
        lambda w: w.embeddings(
            manifest={"encoder": {}, "shard_size": 10},
            shards={"shard-00000.npy": _npy(2), "shard-00000.ids": "d0\nd1\n"},
        ),
        absent=("emb/shard-00000.NoSuchIndex.faiss",),
    ),
    Case(
        "stats-tokenizer-missing",
        ("data", "stats", "{beir}", "--tokenizer", "{tmp}/nothing", "--json", "s.json"),
        ("cannot load tokenizer", "nothing"),
        absent=("s.json",),
    ),
    # ---- output paths ------------------------------------------------------------------------
    Case(
        "bm25-output-is-a-directory",
        ("bm25", "{beir}", "-o", "out", "--quiet"),
        ("out", "Is a directory"),
        lambda w: (w.beir(), (w.root / "out").mkdir()),
        kept=("out",),
    ),
    Case(
        "evaluate-output-is-a-directory",
        ("evaluate", "q.tsv", "r.trec", "-o", "out"),
        ("--output", "out is a folder"),
        lambda w: (
            w.write("q.tsv", "q1\td1\t1\n"),
            w.write("r.trec", "q1 Q0 d1 1 0.9 t\n"),
            (w.root / "out").mkdir(),
        ),
        kept=("out",),
    ),
    Case(
        "evaluate-output-under-a-file",
        ("evaluate", "q.tsv", "r.trec", "-o", "r.trec/m.json"),
        ("r.trec",),
        lambda w: (w.write("q.tsv", "q1\td1\t1\n"), w.write("r.trec", "q1 Q0 d1 1 0.9 t\n")),
        kept=("r.trec",),
    ),
    Case(
        "stats-json-is-a-directory",
        ("data", "stats", "{beir}", "--json", "out"),
        ("out", "Is a directory"),
        lambda w: (w.beir(), (w.root / "out").mkdir()),
        kept=("out",),
    ),
    Case(
        "split-passages-output-is-a-directory",
        ("split-passages", "c.jsonl", "-o", "out", "--as-is"),
        ("out", "Is a directory"),
        lambda w: (w.write("c.jsonl", [{"_id": "d0", "text": "a"}]), (w.root / "out").mkdir()),
        kept=("out",),
    ),
    Case(
        "build-train-output-under-a-file",
        ("build-train", "{beir}", "-o", "f/g.jsonl", "--quiet"),
        ("f",),
        lambda w: (w.beir(), w.write("f", "a file")),
        kept=("f",),
    ),
    Case(
        "encode-output-is-a-file",
        ("encode", "{beir}", "-o", "emb", "-m", "{model}", "--quiet"),
        ("emb",),
        lambda w: (w.beir(), w.write("emb", "a file")),
        kept=("emb",),
    ),
    Case(
        "eval-model-output-is-a-file",
        ("eval-model", "{model}", "{beir}", "-o", "ev", "--quiet"),
        ("ev",),
        lambda w: (w.beir(), w.write("ev", "a file")),
        kept=("ev",),
    ),
    Case(
        "finetune-output-is-a-file",
        (
            "finetune",
            "-o",
            "ft",
            "--dataset",
            "{beir}",
            "--train-groups",
            "g.jsonl",
            "-m",
            "{model}",
            "--stages",
            "1",
        ),
        ("ft",),
        lambda w: (w.beir(), w.write("g.jsonl", GROUPS), w.write("ft", "a file")),
        kept=("ft",),
    ),
    Case(
        "pretrain-output-is-a-file",
        (
            "pretrain",
            "-o",
            "pt",
            "--passages",
            "p.jsonl",
            "--queries",
            "q.jsonl",
            "-m",
            "{model}",
            "--batch-size",
            "2",
            "--quiet",
        ),
        ("pt",),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", GEN_QUERIES),
            w.write("pt", "a file"),
        ),
        kept=("pt",),
    ),
    Case(
        "generate-queries-output-is-a-directory",
        (
            "generate-queries",
            "p.jsonl",
            "-o",
            "out",
            "--backend",
            "file",
            "--queries-file",
            "in.jsonl",
        ),
        ("out",),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("in.jsonl", GEN_QUERIES),
            (w.root / "out").mkdir(),
        ),
        kept=("out",),
    ),
    Case(
        "filter-queries-output-is-a-directory",
        ("filter-queries", "q.jsonl", "p.jsonl", "-o", "out", "--scorer", "bm25", "--quiet"),
        ("out", "Is a directory"),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", GEN_QUERIES),
            (w.root / "out").mkdir(),
        ),
        kept=("out",),
    ),
    Case(
        "querygen-report-output-is-a-directory",
        ("querygen-report", "p.jsonl", "q.jsonl", "-o", "out"),
        ("--output out is a folder",),
        lambda w: (
            w.write("p.jsonl", PASSAGES),
            w.write("q.jsonl", GEN_QUERIES),
            (w.root / "out").mkdir(),
        ),
        kept=("out",),
    ),
    Case(
        "mine-run-is-a-directory",
        ("mine", "{beir}", "-o", "g.jsonl", "-m", "{model}", "--run", "runs", "--quiet"),
        ("--run runs is a folder",),
        lambda w: (w.beir(), (w.root / "runs").mkdir()),
        absent=("g.jsonl", "g.embeddings"),
        kept=("runs",),
    ),
    Case(
        "run-output-is-a-file",
        ("run", "exp.yaml", "-o", "out"),
        ("out",),
        lambda w: (
            w.beir(),
            w.write("out", "a file"),
            w.write(
                "exp.yaml",
                {
                    "name": "x",
                    "dataset": str(w.root / BEIR),
                    "systems": [{"name": "bm25", "kind": "bm25"}],
                },
            ),
        ),
        kept=("out",),
    ),
]


def _snapshot(path: Path) -> dict[str, str] | None:
    """Every file under ``path`` (or ``path`` itself) by relative name -> sha256."""
    if not path.exists():
        return None
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*"))
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in files
    }


@pytest.fixture()
def quiet_world(tmp_path, monkeypatch):
    """Runs in tmp_path, offline, with no data-set lookups outside it and no debug tracebacks;
    the qcpt logger's level is restored afterwards (main sets it)."""
    monkeypatch.chdir(tmp_path)
    for variable in ("QCPT_DATA_DIR", "QCPT_DEBUG", "QCPT_BEIR_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("QCPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QCPT_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    logger = logging.getLogger("qcpt")
    level = logger.level
    bars = _progress_bars_enabled()
    yield tmp_path
    logger.setLevel(level)
    if bars:  # --quiet turns them off for the process: each case starts as a fresh one
        _enable_progress_bars()


def _progress_bars_enabled() -> bool:
    from huggingface_hub.utils import are_progress_bars_disabled

    return not are_progress_bars_disabled()


def _enable_progress_bars() -> None:
    from huggingface_hub.utils import enable_progress_bars

    enable_progress_bars()
    transformers_logging = sys.modules.get("transformers.utils.logging")
    if transformers_logging is not None:
        transformers_logging.enable_progress_bar()


def _fill(text: str, work: Work) -> str:
    if "{model}" in text:
        text = text.replace("{model}", str(work.model))
    return text.replace("{beir}", str(work.root / BEIR)).replace("{tmp}", str(work.root))


def test_main_registers_the_commands_once(app):
    count = len(app.registered_commands)
    cli._register()
    assert len(app.registered_commands) == count


def test_the_table_covers_every_command(app):
    import typer.main

    group = typer.main.get_command(app)
    commands = {name for name in group.commands if name != "data"} | {"data stats"}
    used = {" ".join(case.args[:2]) if case.args[0] == "data" else case.args[0] for case in CASES}
    assert commands <= used, sorted(commands - used)
    assert len(CASES) >= 60 and len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_fails_in_one_line_and_writes_nothing(
    case, quiet_world, monkeypatch, capsys, request
):
    work = Work(quiet_world, request)
    case.setup(work)
    if any("{beir}" in arg for arg in case.args) and not (work.root / BEIR).is_dir():
        work.beir()
    for name in ("exp.yaml",):  # recipes that name the data set folder
        path = work.root / name
        if path.is_file():
            path.write_text(_fill(path.read_text(), work))
    args = [_fill(arg, work) for arg in case.args]
    before = {name: _snapshot(work.root / name) for name in case.kept}
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["qcpt", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    out, err = capsys.readouterr()
    report = f"\nstdout:\n{out}\nstderr:\n{err}"
    assert exit_info.value.code == 2, report
    assert "Traceback" not in out + err, report
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), report
    for expected in case.expect:
        assert _fill(expected, work) in lines[0], report
    for name in case.absent:
        assert not (work.root / name).exists(), f"{name} was written{report}"
    for name, snapshot in before.items():
        assert _snapshot(work.root / name) == snapshot, f"{name} changed{report}"
