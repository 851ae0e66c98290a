"""Finding a retrieval data set on disk (or downloading a BEIR one) and loading its parts."""

from __future__ import annotations

import logging
import os
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from qcpt.data.beir import Document, iter_corpus, load_corpus, load_qrels, load_queries
from qcpt.errors import DatasetNotFoundError, QcptError

logger = logging.getLogger(__name__)

BEIR_BASE_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"
_DEFAULT_CACHE_DIR = Path("~/.cache/qcpt/datasets")
_QRELS_SUFFIXES = (".tsv", ".txt", ".tsv.gz", ".txt.gz")
_PREFERRED_SPLITS = ("test", "dev")


def default_min_relevance(name: str) -> int:
    """Lowest grade that binary measures count as relevant for the data set called ``name``:
    2 for TREC DL (its graded qrels mark 1 as "related", not relevant), else 1."""
    return 2 if Path(str(name)).name.lower().startswith("trec-dl") else 1


@dataclass
class RetrievalDataset:
    """A corpus, its queries and relevance judgements per split.

    ``split_queries_paths`` holds per-split query files (MS MARCO style ``queries.dev.tsv``); a
    split without its own file uses all queries. Loaded parts are cached on the instance.
    """

    name: str
    root: Path | None
    corpus_path: Path
    queries_path: Path
    qrels_paths: dict[str, Path]
    split_queries_paths: dict[str, Path] = field(default_factory=dict)
    _corpus: dict[str, Document] | None = field(default=None, init=False, repr=False, compare=False)
    _queries: dict[Path, dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _qrels: dict[tuple[str, bool], dict[str, dict[str, int]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def min_relevance(self) -> int:
        """Lowest grade counted relevant by binary measures (:func:`default_min_relevance`)."""
        return default_min_relevance(self.name)

    @property
    def splits(self) -> list[str]:
        """Names of the splits that have qrels."""
        return list(self.qrels_paths)

    def corpus(self) -> dict[str, Document]:
        """The whole corpus as ``{doc id: Document}`` (loaded once)."""
        if self._corpus is None:
            self._corpus = load_corpus(self.corpus_path)
        return self._corpus

    def iter_corpus(self) -> Iterator[Document]:
        """Stream the corpus (from memory when :meth:`corpus` has already loaded it)."""
        if self._corpus is not None:
            return iter(self._corpus.values())
        return iter_corpus(self.corpus_path)

    def queries(self, split: str | None = None) -> dict[str, str]:
        """All queries, or with ``split`` only those judged in that split's qrels."""
        if split is None:
            merged: dict[str, str] = {}
            for path in dict.fromkeys([self.queries_path, *self.split_queries_paths.values()]):
                merged.update(self._load_queries(path))
            return merged
        judged = self.qrels(split)
        return {qid: text for qid, text in self._split_queries(split).items() if qid in judged}

    def qrels(self, split: str, *, drop_unknown_docs: bool = False) -> dict[str, dict[str, int]]:
        """Judgements of ``split`` as ``{query id: {doc id: grade}}``.

        Rows for queries without text are always dropped, rows for documents missing from the
        corpus when ``drop_unknown_docs`` is set; each kind is reported in one counted warning.
        """
        if split not in self.qrels_paths:
            available = ", ".join(self.splits) or "none"
            raise QcptError(
                f"dataset {self.name!r} has no split {split!r} (available: {available})"
            )
        key = (split, drop_unknown_docs)
        if key not in self._qrels:
            self._qrels[key] = load_qrels(
                self.qrels_paths[split],
                queries=self._split_queries(split),
                corpus_ids=self.corpus() if drop_unknown_docs else None,
            )
        return self._qrels[key]

    def _split_queries(self, split: str) -> dict[str, str]:
        if split in self.split_queries_paths:
            return self._load_queries(self.split_queries_paths[split])
        return self.queries()

    def _load_queries(self, path: Path) -> dict[str, str]:
        if path not in self._queries:
            self._queries[path] = load_queries(path)
        return self._queries[path]


def resolve_dataset(
    name_or_path: str | Path,
    data_dir: str | Path | None = None,
    *,
    download: bool | None = None,
    require_qrels: bool = True,
) -> RetrievalDataset:
    """Find a data set by folder or by BEIR name (``require_qrels=False``: a corpus alone is
    enough, as for label-free adaptation; asking it for qrels then names the missing split).

    1. An existing folder: BEIR layout (``corpus.jsonl[.gz]``, ``queries.jsonl[.gz]``,
       ``qrels/<split>.tsv``; also the ``<prefix>-queries.jsonl`` + ``<prefix>-qrels/`` layout of
       BEIR's generated queries) or MS MARCO layout (``collection.tsv``, ``queries*.tsv``,
       ``qrels*.tsv``/``.txt``, the split taken from the file name: ``qrels.dev.tsv`` is "dev").
    2. A name: ``<dir>/<name>/`` in ``data_dir`` (else ``$QCPT_DATA_DIR``), then in the cache
       (``$QCPT_CACHE_DIR``, default ``~/.cache/qcpt/datasets``).
    3. Otherwise download ``<$QCPT_BEIR_URL or the BEIR site>/<name>.zip`` into the cache. Allowed
       unless ``download`` is False or, when it is None, ``HF_HUB_OFFLINE`` or ``QCPT_OFFLINE`` is
       set.

    Raises ``DatasetNotFoundError`` saying where it looked and where to put the files.
    """
    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        return _dataset_from_folder(folder, require_qrels)
    name = str(name_or_path)
    if not _is_plain_name(name):
        raise DatasetNotFoundError(f"{folder}: no such dataset folder")

    user_dir = data_dir if data_dir is not None else os.environ.get("QCPT_DATA_DIR")
    cache_dir = _cache_dir()
    search_dirs = [Path(user_dir).expanduser()] if user_dir else []
    search_dirs.append(cache_dir)
    for directory in search_dirs:
        if (directory / name).is_dir():
            return _dataset_from_folder(directory / name, require_qrels)

    looked_in = ", ".join(str(directory / name) for directory in search_dirs)
    files = "corpus.jsonl, queries.jsonl and qrels/test.tsv"
    if user_dir:
        hint = f"put {files} in {search_dirs[0] / name}"
    else:
        hint = f"put {files} in DIR/{name} and set QCPT_DATA_DIR=DIR or pass --data-dir DIR"
    if download is None:
        blocker = next((var for var in ("HF_HUB_OFFLINE", "QCPT_OFFLINE") if _env_flag(var)), None)
        download = blocker is None
        why_not = f"downloads are off because {blocker} is set"
    else:
        why_not = "downloads are off"
    if not download:
        raise DatasetNotFoundError(
            f"dataset {name!r} not found (looked in {looked_in}; {why_not}). To fix: {hint}."
        )
    try:
        return _dataset_from_folder(_download(name, cache_dir), require_qrels)
    except DatasetNotFoundError as error:
        raise DatasetNotFoundError(
            f"dataset {name!r} not found (looked in {looked_in}) and {error}. To fix: {hint}."
        ) from None


def _dataset_from_folder(folder: Path, require_qrels: bool = True) -> RetrievalDataset:
    for corpus_name in ("corpus.jsonl", "corpus.jsonl.gz"):
        if (folder / corpus_name).is_file():
            return _beir_dataset(folder, folder / corpus_name, require_qrels)
    for corpus_name in ("collection.tsv", "collection.tsv.gz"):
        if (folder / corpus_name).is_file():
            return _msmarco_dataset(folder, folder / corpus_name, require_qrels)
    raise DatasetNotFoundError(
        f"{folder} holds no corpus: expected corpus.jsonl (BEIR layout) or collection.tsv "
        "(MS MARCO layout)"
    )


def _beir_dataset(folder: Path, corpus_path: Path, require_qrels: bool = True) -> RetrievalDataset:
    if not require_qrels and not any(
        (folder / name).is_file() for name in ("queries.jsonl", "queries.jsonl.gz")
    ):
        return RetrievalDataset(folder.name, folder, corpus_path, folder / "queries.jsonl", {})
    queries_path, qrels_dir = _beir_queries_and_qrels(folder)
    qrels_paths = {
        _strip_suffix(path.name): path
        for path in sorted(qrels_dir.iterdir() if qrels_dir.is_dir() else [])
        if path.is_file() and path.name.endswith(_QRELS_SUFFIXES)
    }
    if not qrels_paths and require_qrels:
        raise DatasetNotFoundError(
            f"{folder} has no qrels: expected {qrels_dir.name}/<split>.tsv (e.g. qrels/test.tsv)"
        )
    return RetrievalDataset(folder.name, folder, corpus_path, queries_path, qrels_paths)


def _beir_queries_and_qrels(folder: Path) -> tuple[Path, Path]:
    for name in ("queries.jsonl", "queries.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name, folder / "qrels"
    for queries_path in sorted(folder.glob("*-queries.jsonl")):  # BEIR generated-query layout
        qrels_dir = folder / (queries_path.name.removesuffix("queries.jsonl") + "qrels")
        if qrels_dir.is_dir():
            return queries_path, qrels_dir
    raise DatasetNotFoundError(f"{folder} has a corpus but no queries.jsonl")


def _msmarco_dataset(
    folder: Path, corpus_path: Path, require_qrels: bool = True
) -> RetrievalDataset:
    queries_files = _split_files(folder, "queries", (".tsv", ".tsv.gz"))
    qrels_paths = _split_files(folder, "qrels", _QRELS_SUFFIXES)
    if not require_qrels and not qrels_paths:
        return RetrievalDataset(folder.name, folder, corpus_path, folder / "queries.tsv", {})
    if not queries_files or not qrels_paths:
        raise DatasetNotFoundError(
            f"{folder} has {corpus_path.name} but lacks "
            f"{'queries*.tsv' if not queries_files else 'qrels*.tsv'} (MS MARCO layout)"
        )
    unsplit = queries_files.pop("", None)
    preferred = [split for split in _PREFERRED_SPLITS if split in queries_files]
    queries_path = unsplit or queries_files[(preferred or sorted(queries_files))[0]]
    return RetrievalDataset(
        folder.name,
        folder,
        corpus_path,
        queries_path,
        {split or "test": path for split, path in qrels_paths.items()},
        split_queries_paths=queries_files,
    )


def _split_files(folder: Path, stem: str, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """Map split name to file for ``<stem>[.<split>]<suffix>`` files (split "" when unnamed)."""
    return {
        _strip_suffix(path.name).removeprefix(stem).lstrip("._-"): path
        for path in sorted(folder.glob(f"{stem}*"))
        if path.is_file() and path.name.endswith(suffixes)
    }


def _strip_suffix(file_name: str) -> str:
    return file_name.removesuffix(".gz").rsplit(".", 1)[0]


def _download(name: str, cache_dir: Path) -> Path:
    """Download and unpack ``<name>.zip`` into ``cache_dir/<name>``; nothing is left on failure."""
    base = os.environ.get("QCPT_BEIR_URL", BEIR_BASE_URL).rstrip("/")
    url = f"{base}/{name}.zip"
    target = cache_dir / name
    cache_dir.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s from %s", name, url)
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=cache_dir) as work_dir:
        archive = Path(work_dir) / f"{name}.zip"
        try:
            _fetch(url, archive, name)
        except (OSError, ValueError) as error:  # urllib.error.URLError is an OSError
            reason = getattr(error, "reason", error)
            raise DatasetNotFoundError(f"could not download {url} ({reason})") from None
        extracted = Path(work_dir) / "extracted"
        try:
            with zipfile.ZipFile(archive) as zip_file:
                zip_file.extractall(extracted)
        except zipfile.BadZipFile as error:
            raise DatasetNotFoundError(f"{url} is not a valid zip archive ({error})") from None
        folder = extracted / name if (extracted / name).is_dir() else extracted
        try:
            _dataset_from_folder(folder)  # fail before publishing an incomplete folder
        except DatasetNotFoundError as error:
            raise DatasetNotFoundError(f"{url} does not hold a dataset ({error})") from None
        try:
            folder.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            logger.info("%s appeared while downloading; using it", target)
    return target


def _fetch(url: str, destination: Path, name: str) -> None:
    with urllib.request.urlopen(url, timeout=60) as response, destination.open("wb") as out:
        size = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(
            total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=f"download {name}"
        ) as progress:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                progress.update(len(chunk))


def _cache_dir() -> Path:
    return Path(os.environ.get("QCPT_CACHE_DIR") or _DEFAULT_CACHE_DIR).expanduser()


def _env_flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


def _is_plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and os.sep not in name and not name.startswith((".", "~"))
