"""resolve_dataset and RetrievalDataset: layouts, name lookup, download and not-found messages."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import pytest

from qcpt.data import RetrievalDataset, resolve_dataset
from qcpt.errors import DatasetNotFoundError, QcptError

from .helpers import TINY_CORPUS, write_beir


def test_resolve_beir_folder_by_path(tiny_beir):
    dataset = resolve_dataset(tiny_beir)
    assert dataset.name == "tiny"
    assert dataset.root == tiny_beir
    assert dataset.corpus_path == tiny_beir / "corpus.jsonl"
    assert dataset.queries_path == tiny_beir / "queries.jsonl"
    assert dataset.qrels_paths == {
        "test": tiny_beir / "qrels" / "test.tsv",
        "train": tiny_beir / "qrels" / "train.tsv",
    }
    assert dataset.splits == ["test", "train"]
    assert resolve_dataset(str(tiny_beir)) == dataset


def test_corpus_is_loaded_once_and_streamed(tiny_beir):
    dataset = resolve_dataset(tiny_beir)
    assert [document.id for document in dataset.iter_corpus()] == ["d1", "d2", "d3", "d4"]
    corpus = dataset.corpus()
    assert list(corpus) == [record["_id"] for record in TINY_CORPUS]
    assert dataset.corpus() is corpus


def test_queries_and_qrels_per_split(tiny_beir, caplog):
    dataset = resolve_dataset(tiny_beir)
    assert dataset.queries() == {
        "q1": "do cats purr?",
        "q2": "barking dogs",
        "q3": "where do birds sing",
    }
    with caplog.at_level(logging.WARNING, logger="qcpt.data"):
        assert dataset.qrels("test") == {"q1": {"d1": 1, "d2": 0}, "q2": {"d2": 2, "d9": 1}}
        assert list(dataset.queries("test")) == ["q1", "q2"]
        assert list(dataset.queries("train")) == ["q3"]
    assert [record.getMessage() for record in caplog.records] == [
        f"{dataset.qrels_paths['test']}: skipped 1 qrels row(s) for 1 query id(s) not in the "
        "queries (e.g. 'q7')"
    ]


def test_qrels_can_drop_unknown_docs(tiny_beir, caplog):
    dataset = resolve_dataset(tiny_beir)
    with caplog.at_level(logging.WARNING, logger="qcpt.data"):
        qrels = dataset.qrels("test", drop_unknown_docs=True)
    assert qrels == {"q1": {"d1": 1, "d2": 0}, "q2": {"d2": 2}}
    assert "skipped 1 qrels row(s) for 1 doc id(s) not in the corpus (e.g. 'd9')" in (
        caplog.records[-1].getMessage()
    )


def test_unknown_split(tiny_beir):
    with pytest.raises(QcptError, match=r"no split 'dev' \(available: test, train\)"):
        resolve_dataset(tiny_beir).qrels("dev")


def test_resolve_name_in_data_dir(tmp_path, monkeypatch):
    write_beir(tmp_path / "mine" / "scifact")
    monkeypatch.setenv("QCPT_DATA_DIR", str(tmp_path / "elsewhere"))
    dataset = resolve_dataset("scifact", data_dir=tmp_path / "mine")
    assert dataset.root == tmp_path / "mine" / "scifact"
    assert dataset.name == "scifact"


def test_resolve_name_via_environment(tmp_path, monkeypatch):
    write_beir(tmp_path / "data" / "scifact")
    monkeypatch.setenv("QCPT_DATA_DIR", str(tmp_path / "data"))
    assert resolve_dataset("scifact").root == tmp_path / "data" / "scifact"


def test_resolve_name_in_cache(tmp_path):
    write_beir(tmp_path / "cache" / "nfcorpus")  # QCPT_CACHE_DIR is tmp_path/cache (conftest)
    assert resolve_dataset("nfcorpus").root == tmp_path / "cache" / "nfcorpus"


def test_offline_not_found_says_where_it_looked_and_what_to_do(tmp_path):
    with pytest.raises(DatasetNotFoundError) as excinfo:
        resolve_dataset("scifact", data_dir=tmp_path / "data")
    message = str(excinfo.value)
    assert f"looked in {tmp_path / 'data' / 'scifact'}, {tmp_path / 'cache' / 'scifact'}" in message
    assert "downloads are off because HF_HUB_OFFLINE is set" in message
    assert (
        f"put corpus.jsonl, queries.jsonl and qrels/test.tsv in {tmp_path / 'data' / 'scifact'}"
        in message
    )


def test_not_found_without_data_dir_suggests_the_environment_variable(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(DatasetNotFoundError) as excinfo:
        resolve_dataset("scifact", download=False)
    assert "set QCPT_DATA_DIR=DIR or pass --data-dir DIR" in str(excinfo.value)


def test_missing_path_is_not_taken_for_a_name(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no such dataset folder"):
        resolve_dataset(tmp_path / "absent")


@pytest.mark.parametrize(
    ("remove", "problem"),
    [
        ("corpus.jsonl", "holds no corpus: expected corpus.jsonl"),
        ("queries.jsonl", "has a corpus but no queries.jsonl"),
        ("qrels", "has no qrels"),
    ],
)
def test_incomplete_folder(tiny_beir, remove, problem):
    target = tiny_beir / remove
    if target.is_dir():
        for child in target.iterdir():
            child.unlink()
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(DatasetNotFoundError, match=problem):
        resolve_dataset(tiny_beir)


def test_msmarco_folder(tmp_path):
    folder = tmp_path / "msmarco-passage"
    folder.mkdir()
    (folder / "collection.tsv").write_text("0\tpassage zero\n1\tpassage one\n2\tpassage two\n")
    (folder / "queries.train.tsv").write_text("100\ttrain query\n")
    (folder / "queries.dev.tsv").write_text("200\tdev query\n201\tanother dev query\n")
    (folder / "qrels.train.tsv").write_text("100\t0\t1\t1\n")
    (folder / "qrels.dev.tsv").write_text("200\t0\t2\t1\n201\t0\t0\t1\n")
    dataset = resolve_dataset(folder)
    assert dataset.splits == ["dev", "train"]
    assert dataset.queries_path == folder / "queries.dev.tsv"
    assert dataset.split_queries_paths == {
        "dev": folder / "queries.dev.tsv",
        "train": folder / "queries.train.tsv",
    }
    assert dataset.queries("train") == {"100": "train query"}
    assert dataset.qrels("dev") == {"200": {"2": 1}, "201": {"0": 1}}
    assert set(dataset.queries()) == {"100", "200", "201"}
    assert len(dataset.corpus()) == 3


def test_generated_queries_prefix_layout(tmp_path):
    folder = write_beir(tmp_path / "genq")
    (folder / "queries.jsonl").rename(folder / "qgen-queries.jsonl")
    (folder / "qrels").rename(folder / "qgen-qrels")
    dataset = resolve_dataset(folder)
    assert dataset.queries_path == folder / "qgen-queries.jsonl"
    assert dataset.splits == ["test", "train"]


def _serve_zip(directory: Path, name: str, members: dict[str, str]) -> str:
    """Write ``<directory>/<name>.zip`` and return the file:// URL of ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(directory / f"{name}.zip", "w") as archive:
        for member, text in members.items():
            archive.writestr(member, text)
    return directory.as_uri()


@pytest.fixture
def downloads_on(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")


def test_download_from_zip(tmp_path, monkeypatch, downloads_on):
    source = write_beir(tmp_path / "source")
    members = {
        f"mini/{path.relative_to(source)}": path.read_text()
        for path in source.rglob("*")
        if path.is_file()
    }
    monkeypatch.setenv("QCPT_BEIR_URL", _serve_zip(tmp_path / "server", "mini", members))
    dataset = resolve_dataset("mini")
    assert dataset.root == tmp_path / "cache" / "mini"
    assert list(dataset.corpus()) == ["d1", "d2", "d3", "d4"]
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == ["mini"]
    (tmp_path / "server" / "mini.zip").unlink()
    assert resolve_dataset("mini").root == dataset.root  # found in the cache, no download


def test_corrupt_zip_leaves_nothing_behind(tmp_path, monkeypatch, downloads_on):
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "mini.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    monkeypatch.setenv("QCPT_BEIR_URL", (tmp_path / "server").as_uri())
    with pytest.raises(DatasetNotFoundError, match="is not a valid zip archive"):
        resolve_dataset("mini")
    assert list((tmp_path / "cache").iterdir()) == []


def test_zip_without_dataset_leaves_nothing_behind(tmp_path, monkeypatch, downloads_on):
    url = _serve_zip(tmp_path / "server", "mini", {"mini/readme.txt": "nothing here"})
    monkeypatch.setenv("QCPT_BEIR_URL", url)
    with pytest.raises(DatasetNotFoundError, match="does not hold a dataset"):
        resolve_dataset("mini")
    assert list((tmp_path / "cache").iterdir()) == []


def test_failed_download_names_the_url(tmp_path, monkeypatch, downloads_on):
    (tmp_path / "server").mkdir()
    monkeypatch.setenv("QCPT_BEIR_URL", (tmp_path / "server").as_uri())
    with pytest.raises(DatasetNotFoundError) as excinfo:
        resolve_dataset("mini")
    message = str(excinfo.value)
    assert f"could not download {(tmp_path / 'server').as_uri()}/mini.zip" in message
    assert "put corpus.jsonl, queries.jsonl and qrels/test.tsv in DIR/mini" in message
    assert list((tmp_path / "cache").iterdir()) == []


def test_qcpt_offline_blocks_downloads(monkeypatch, downloads_on):
    monkeypatch.setenv("QCPT_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="downloads are off because QCPT_OFFLINE"):
        resolve_dataset("mini")


def test_dataset_can_be_built_directly(tiny_beir):
    dataset = RetrievalDataset(
        name="custom",
        root=None,
        corpus_path=tiny_beir / "corpus.jsonl",
        queries_path=tiny_beir / "queries.jsonl",
        qrels_paths={"eval": tiny_beir / "qrels" / "train.tsv"},
    )
    assert dataset.qrels("eval") == {"q3": {"d3": 1, "d4": 0}}
