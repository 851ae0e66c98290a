"""Atomic file output: a reader never sees a half-written file, and a crash leaves the old one."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    Parent folders are created. On an exception the temporary file is removed and ``path`` is
    left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | Path, obj: Any, indent: int = 2) -> Path:
    """Write ``obj`` as JSON atomically and return the path."""
    with atomic_write(path) as handle:
        json.dump(obj, handle, indent=indent, ensure_ascii=False)
        handle.write("\n")
    return Path(path)


def read_json_record(path: str | Path, remedy: str) -> Any | None:
    """A JSON record file (manifest, step record), or None when it does not exist; a malformed
    one is a one-line error naming the file, the line and ``remedy``."""
    import json

    from qcpt.errors import QcptError

    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise QcptError(
            f"{path}: malformed JSON on line {error.lineno}: {error.msg}; {remedy}"
        ) from None


def write_jsonl(path: str | Path, records: Iterable[Any]) -> int:
    """Write one JSON object per line atomically (UTF-8, not ASCII-escaped); returns the count."""
    count = 0
    with atomic_write(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` atomically and return the path."""
    with atomic_write(path) as handle:
        handle.write(text)
    return Path(path)


_HASH_CHUNK = 1 << 20


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """``{"path", "bytes", "sha256"}`` of a file, to record which data a model was trained on."""
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def source_fingerprint(source: str | Path) -> dict[str, Any]:
    """:func:`file_fingerprint` of a file; a data set named instead of a file is recorded by
    its name (``{"dataset": name}``)."""
    path = Path(source)
    return file_fingerprint(path) if path.is_file() else {"dataset": str(source)}
