"""Embedding shards on disk, FAISS indexes over them, and sharded top-k search.

Layout of an embeddings folder::

    manifest.json             encoder settings (one model per folder), shard size
    shard-00000.npy           float32 (n, dim)
    shard-00000.ids           n lines, one document id each; written last, so it marks the
                              shard as complete (an interrupted run redoes only that shard)
    shard-00000.<name>.faiss  optional FAISS index of that shard (``qcpt index``)

Each shard is searched on its own and the per-shard top-k lists are merged, so corpora larger
than memory and indexes built by several processes work the same way as one small shard.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import faiss
import numpy as np
from tqdm.auto import tqdm

from qcpt.data import Document
from qcpt.errors import QcptError
from qcpt.evaluation.runs import Run
from qcpt.utils.io import atomic_write, read_json_record, write_json

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
DEFAULT_SHARD_SIZE = 100_000
_SHARD_RE = re.compile(r"^shard-(\d{5})\.ids$")


@dataclass(frozen=True)
class EmbeddingShard:
    """One complete shard: its vectors file and ids."""

    number: int
    vectors_path: Path
    ids: list[str]

    def vectors(self, mmap: bool = True) -> np.ndarray:
        """The shard's float32 matrix (memory-mapped by default); a file that is not one, or
        holds another number of rows than the shard has ids, is a ``QcptError``."""
        try:
            vectors = np.load(self.vectors_path, mmap_mode="r" if mmap else None)
        except (OSError, ValueError, EOFError) as error:
            raise QcptError(
                f"{self.vectors_path}: not a saved embedding matrix ({error}); "
                "encode this shard again"
            ) from None
        if vectors.ndim != 2 or len(vectors) != len(self.ids):
            ids_path = self.vectors_path.with_suffix(".ids")
            raise QcptError(
                f"{ids_path}: {len(self.ids)} ids but {self.vectors_path.name} "
                f"holds {vectors.shape[0] if vectors.ndim else 0} vectors; encode "
                "this shard again"
            )
        return vectors

    def index_path(self, factory: str) -> Path:
        """Where the FAISS index built with ``factory`` is stored."""
        return self.vectors_path.with_name(
            f"shard-{self.number:05d}.{_factory_slug(factory)}.faiss"
        )


def encode_to_shards(
    encoder,
    documents: Iterable[Document],
    output_dir: str | Path,
    *,
    shard_size: int = DEFAULT_SHARD_SIZE,
    part: tuple[int, int] = (0, 1),
    show_progress: bool = True,
) -> list[EmbeddingShard]:
    """Encode ``documents`` with ``encoder`` into shard files under ``output_dir``.

    ``part=(k, n)`` encodes only shards whose number is k modulo n, so n processes can share a
    corpus. Complete shards are skipped, so a rerun resumes. Returns the shards of this part.
    """
    output_dir = Path(output_dir)
    index, count = part
    if not 0 <= index < count:
        raise QcptError(f"part {index}/{count} is out of range: need 0 <= k < n")
    iterator = iter(documents)
    batch = list(islice(iterator, shard_size))  # read before anything is written
    if not batch:
        raise QcptError("nothing to encode: the corpus is empty")
    _check_or_write_manifest(output_dir, {"encoder": encoder.describe(), "shard_size": shard_size})
    written = []
    number = 0
    while batch:
        if number % count == index:
            written.append(_encode_shard(encoder, batch, output_dir, number, show_progress))
        number += 1
        batch = list(islice(iterator, shard_size))
    return written


def _encode_shard(
    encoder, documents: list[Document], output_dir: Path, number: int, show_progress: bool
) -> EmbeddingShard:
    vectors_path = output_dir / f"shard-{number:05d}.npy"
    ids_path = output_dir / f"shard-{number:05d}.ids"
    ids = [d.id for d in documents]
    if ids_path.is_file() and vectors_path.is_file():
        if ids_path.read_text(encoding="utf-8").splitlines() == ids:
            logger.info("shard %05d already encoded, skipped", number)
            return EmbeddingShard(number, vectors_path, ids)
        raise QcptError(
            f"{ids_path} holds other documents than this corpus: use a fresh output "
            "folder for a different corpus"
        )
    vectors = encoder.encode_passages(documents, show_progress=show_progress)
    with atomic_write(vectors_path, "wb") as handle:
        np.save(handle, vectors)
    with atomic_write(ids_path) as handle:
        handle.writelines(f"{i}\n" for i in ids)
    return EmbeddingShard(number, vectors_path, ids)


def _check_or_write_manifest(output_dir: Path, manifest: dict) -> None:
    path = output_dir / MANIFEST
    existing = read_json_record(path, "use a fresh output folder")
    if existing is not None:
        if not isinstance(existing, dict) or (
            existing.get("encoder", {}) != manifest["encoder"]
            or existing.get("shard_size") != manifest["shard_size"]
        ):
            raise QcptError(
                f"{output_dir} holds embeddings made with other settings "
                f"({path}); use a fresh output folder"
            )
        return
    write_json(path, manifest)


def read_manifest(embeddings_dir: str | Path) -> dict:
    """The manifest of an embeddings folder (encoder settings and shard size)."""
    path = Path(embeddings_dir) / MANIFEST
    manifest = read_json_record(path, "make the folder again with qcpt encode")
    if manifest is None:
        raise QcptError(
            f"{embeddings_dir} is not an embeddings folder (no {MANIFEST}); "
            "make one with qcpt encode"
        )
    if not isinstance(manifest, dict) or not isinstance(manifest.get("encoder"), dict):
        raise QcptError(f"{path}: no 'encoder' settings; make the folder again with qcpt encode")
    return manifest


def list_shards(embeddings_dir: str | Path) -> list[EmbeddingShard]:
    """All complete shards of an embeddings folder, in shard order."""
    root = Path(embeddings_dir)
    read_manifest(root)
    shards = []
    for path in sorted(root.iterdir()):
        match = _SHARD_RE.match(path.name)
        if match and path.with_suffix(".npy").is_file():
            ids = path.read_text(encoding="utf-8").splitlines()
            shards.append(EmbeddingShard(int(match.group(1)), path.with_suffix(".npy"), ids))
    if not shards:
        raise QcptError(f"{root} has no complete embedding shards")
    return shards


def build_shard_indexes(
    embeddings_dir: str | Path,
    factory: str = "Flat",
    *,
    train_size: int = 200_000,
    overwrite: bool = False,
    show_progress: bool = True,
) -> list[Path]:
    """Build one FAISS index (inner product) per shard with ``faiss.index_factory``.

    Indexes that need training (IVF, PQ) are trained on up to ``train_size`` vectors of their
    shard. Existing index files are kept unless ``overwrite``. Returns the index paths.
    """
    paths = []
    for shard in tqdm(
        list_shards(embeddings_dir), desc=f"indexing ({factory})", disable=not show_progress
    ):
        path = shard.index_path(factory)
        if path.is_file() and not overwrite:
            paths.append(path)
            continue
        index = _build_index(np.ascontiguousarray(shard.vectors()), factory, train_size)
        with atomic_write(path, "wb") as handle:
            handle.write(faiss.serialize_index(index).tobytes())
        paths.append(path)
    return paths


def _build_index(vectors: np.ndarray, factory: str, train_size: int) -> faiss.Index:
    try:
        index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as error:
        raise QcptError(f"faiss cannot build index {factory!r}: {error}") from error
    if not index.is_trained:
        sample = vectors
        if len(vectors) > train_size:
            rows = np.random.default_rng(0).choice(len(vectors), train_size, replace=False)
            sample = vectors[np.sort(rows)]
        try:
            index.train(sample)
        except RuntimeError as error:
            raise QcptError(
                f"training {factory!r} on {len(sample)} vectors failed: {error}"
            ) from error
    index.add(vectors)
    return index


def search_shards(
    embeddings_dir: str | Path,
    query_ids: list[str],
    query_vectors: np.ndarray,
    k: int = 1000,
    *,
    factory: str = "Flat",
    nprobe: int | None = None,
    ef_search: int | None = None,
    show_progress: bool = True,
) -> Run:
    """Top-``k`` inner-product search of every shard, merged into one run.

    Uses the shard's saved ``factory`` index when present; for ``Flat`` without one, an exact
    index is built in memory from the vectors.
    """
    query_vectors = np.ascontiguousarray(query_vectors, dtype=np.float32)
    all_scores, all_ids = [], []
    for shard in tqdm(
        list_shards(embeddings_dir), desc="searching shards", disable=not show_progress
    ):
        index = _load_or_build(shard, factory)
        if nprobe is not None:
            faiss.ParameterSpace().set_index_parameter(index, "nprobe", nprobe)
        if ef_search is not None:
            faiss.ParameterSpace().set_index_parameter(index, "efSearch", ef_search)
        scores, rows = index.search(query_vectors, min(k, len(shard.ids)))
        shard_ids = np.asarray(shard.ids, dtype=object)
        all_scores.append(scores)
        all_ids.append(np.where(rows >= 0, shard_ids[np.maximum(rows, 0)], None))
    return _merge_topk(query_ids, np.hstack(all_scores), np.hstack(all_ids), k)


def _load_or_build(shard: EmbeddingShard, factory: str) -> faiss.Index:
    path = shard.index_path(factory)
    if path.is_file():
        return faiss.deserialize_index(np.fromfile(path, dtype=np.uint8))
    if factory != "Flat":
        raise QcptError(
            f"no {factory!r} index for shard {shard.number} ({path}); "
            f"build it with: qcpt index {shard.vectors_path.parent} --factory "
            f"'{factory}'"
        )
    return _build_index(np.ascontiguousarray(shard.vectors()), "Flat", 0)


def _merge_topk(query_ids: list[str], scores: np.ndarray, ids: np.ndarray, k: int) -> Run:
    run: Run = {}
    for row, query_id in enumerate(query_ids):
        valid = ids[row] != None  # noqa: E711 -- element-wise on an object array
        row_scores, row_ids = scores[row][valid], ids[row][valid]
        top = np.argsort(-row_scores, kind="stable")[:k]
        run[query_id] = {str(row_ids[i]): float(row_scores[i]) for i in top}
    return run


def _factory_slug(factory: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", factory).strip("_") or "index"
