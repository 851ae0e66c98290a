"""The file backend: our jsonl, docTTTTTquery jsonl and text files, pid/query tsv, BEIR/GPL."""

from __future__ import annotations

import json
import shutil

import pytest

from qcpt.data.passages import Passage
from qcpt.errors import DataFormatError, QcptError
from qcpt.querygen.backends import create_generator
from qcpt.querygen.config import GenerationSettings

IDS = ["p0", "p1", "p2"]
PASSAGES = [Passage(pid, "text") for pid in IDS]


def _served(files, n=None, **kw) -> list[list[str]]:
    settings = GenerationSettings(backend="file", queries_files=[str(f) for f in files], **kw)
    generator = create_generator(settings, IDS)
    return generator.generate(PASSAGES, n, seed=0), generator


def test_qcpt_jsonl_and_castorini_jsonl(tmp_path):
    ours = tmp_path / "ours.jsonl"
    ours.write_text(
        json.dumps({"_id": "p0", "queries": ["a", "b", "c"]})
        + "\n"
        + json.dumps({"_id": "p2", "queries": ["d"]})
        + "\n"
    )
    served, generator = _served([ours])
    assert served == [["a", "b", "c"], [], ["d"]]
    assert generator.format == "jsonl" and generator.missing == 1
    assert _served([ours], n=2)[0][0] == ["a", "b"]
    castorini = tmp_path / "d2q.jsonl"
    castorini.write_text(json.dumps({"id": "p1", "predicted_queries": ["x", "y"]}) + "\n")
    assert _served([castorini])[0] == [[], ["x", "y"], []]


def test_doct5query_lines_one_file_per_sample(tmp_path):
    first, second = tmp_path / "sample000.txt", tmp_path / "sample001.txt"
    first.write_text("q0a\nq1a\n\n")
    second.write_text("q0b\tq0c\nq1b\nq2b\n")
    served, generator = _served([first, second])
    assert generator.format == "lines"
    assert served == [["q0a", "q0b", "q0c"], ["q1a", "q1b"], ["q2b"]]
    short = tmp_path / "short.txt"
    short.write_text("only one line\n")
    with pytest.raises(DataFormatError, match="1 lines but there are 3 passages"):
        _served([short])


def test_pid_query_tsv_and_pasted_tsv(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("p1\tfirst\np1\tsecond\np0\tthird\n")
    served, generator = _served([pairs])
    assert generator.format == "tsv"
    assert served == [["third"], ["first", "second"], []]
    pasted = tmp_path / "doc2query.tsv"  # `paste` output: no ids, line i = passage i
    pasted.write_text("a\tb\nc\td\ne\tf\n")
    served, generator = _served([pasted])
    assert generator.format == "lines" and served == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_beir_generated_queries_with_qrels(tmp_path):
    queries = tmp_path / "gen-queries.jsonl"
    queries.write_text(
        "".join(json.dumps({"_id": f"g{i}", "text": f"query {i}"}) + "\n" for i in range(3))
    )
    qrels = tmp_path / "train.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\ng0\tp2\t1\ng1\tp2\t1\ng2\tp0\t1\n")
    served, generator = _served([queries], qrels=str(qrels))
    assert generator.format == "beir"
    assert served == [["query 2"], [], ["query 0", "query 1"]]
    with pytest.raises(QcptError, match="need --qrels"):
        _served([queries])


def test_beir_folder_of_the_shared_doc2query_sample(tmp_path, shared_data):
    folder = tmp_path / "fiqa"
    shutil.copytree(shared_data / "doc2query-sample-fiqa", folder)
    settings = GenerationSettings(backend="file", queries_files=[str(folder)])
    generator = create_generator(settings, ["460230"])
    served = generator.generate([Passage("460230", "x")], None, seed=0)
    assert generator.format == "beir"
    assert served[0][:2] == [
        "what is the difference between large cap companies and smaller cap",
        "what makes a company the best",
    ]


def test_file_backend_needs_files():
    with pytest.raises(QcptError, match="--queries-file"):
        create_generator(GenerationSettings(backend="file"), IDS)
