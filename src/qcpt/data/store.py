"""Memory-mapped string columns, so that a reader of a million passages keeps arrays, not
Python strings.

:class:`PackedStrings` keeps its strings UTF-8 encoded, end to end, in an unlinked temporary
file (``tempfile``'s directory, ``TMPDIR``) that is memory-mapped, with one int64 end offset per
string; item ``i`` is decoded when asked. :class:`PackedStringLists` adds one offset per list
(the generated queries of a passage). :func:`string_keys` turns ids into int64 keys (the first
8 bytes of their BLAKE2b digest) for joins and grouping with numpy instead of dicts of strings.

Memory: 8 bytes a string (16 a list) plus the pages of the mapped file the process has touched,
which the kernel can drop again; the file takes the strings' UTF-8 size on disk and is removed
when the store is closed or the process ends, even when it is killed.
"""

from __future__ import annotations

import hashlib
import tempfile
from array import array
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from qcpt.errors import DataFormatError


def string_key(value: str) -> int:
    """An int64 key of ``value``: the first 8 bytes of its BLAKE2b digest. Two of a million
    distinct ids share a key with a probability of about 3e-8 (birthday bound for 64 bits)."""
    digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def string_keys(values: Iterable[str]) -> np.ndarray:
    """:func:`string_key` of each value, as an int64 array."""
    return np.fromiter((string_key(value) for value in values), dtype=np.int64)


def check_unique_keys(
    keys: np.ndarray, path: str | Path, name_duplicate: Callable[[], object]
) -> None:
    """Raise ``DataFormatError`` when two of ``keys`` are equal. ``name_duplicate`` re-reads the
    source with the reader's own duplicate check, which raises naming the id and its two lines
    (an error path only); if it finds none, two distinct ids share a key."""
    if len(np.unique(keys)) < len(keys):
        name_duplicate()
        raise DataFormatError(
            Path(path), None, "two distinct passage ids share a 64-bit key; rename one of them"
        )


class StreamingKeySet:
    """A duplicate check over a stream of int64 keys (:func:`string_key` of ids) that keeps
    8 bytes a key, where a Python ``set`` of the ids themselves takes ~100.

    Keys are buffered and checked ``chunk_size`` at a time against sorted runs that are merged
    whenever a run is not larger than the one before it (so there are at most log2(n / chunk)
    runs and n keys cost O(n log n)); a merge briefly needs 16 more bytes a key of the runs
    merged. :meth:`add` and :meth:`flush` return the keys found to repeat, so a caller learns of
    a duplicate at most ``chunk_size`` keys after it and re-reads its source to name the lines
    (two distinct ids that share a key are told apart there).
    """

    def __init__(self, chunk_size: int = 8192):
        self._chunk_size = chunk_size
        self._pending = array("q")
        self._runs: list[np.ndarray] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count + len(self._pending)

    def add(self, key: int) -> np.ndarray | None:
        """Buffer ``key``; when the buffer is full, :meth:`flush` it and return its result."""
        self._pending.append(key)
        return self.flush() if len(self._pending) >= self._chunk_size else None

    def flush(self) -> np.ndarray:
        """Check the buffered keys; returns the sorted keys that occur more than once so far
        among them (within the buffer or with any earlier key), empty when none."""
        if not self._pending:
            return np.empty(0, dtype=np.int64)
        chunk = np.sort(np.frombuffer(self._pending, dtype=np.int64))
        self._count += len(chunk)
        self._pending = array("q")
        repeated = [chunk[1:][chunk[1:] == chunk[:-1]]]
        for run in self._runs:
            positions = np.minimum(np.searchsorted(run, chunk), len(run) - 1)
            repeated.append(chunk[run[positions] == chunk])
        self._runs.append(chunk)
        while len(self._runs) > 1 and len(self._runs[-2]) <= len(self._runs[-1]):
            last, before = self._runs.pop(), self._runs.pop()
            self._runs.append(np.sort(np.concatenate((before, last))))
        return np.unique(np.concatenate(repeated))


class PackedStrings(Sequence[str]):
    """An append-then-read sequence of strings in a memory-mapped temporary file.

    Append with :meth:`append` / :meth:`extend`, then :meth:`freeze`; reading before
    :meth:`freeze` freezes. ``store[i]`` decodes one string, ``store[indices]`` (a slice, a
    list or an integer array) returns a list.
    """

    def __init__(self, strings: Iterable[str] = ()):
        self._file = tempfile.TemporaryFile(prefix="qcpt-strings-")
        self._ends = array("q")
        self._size = 0
        self._data: np.ndarray | None = None
        self.extend(strings)

    def append(self, value: str) -> None:
        if self._data is not None:
            raise ValueError("PackedStrings is frozen: it takes no more strings")
        encoded = value.encode("utf-8")
        self._file.write(encoded)
        self._size += len(encoded)
        self._ends.append(self._size)

    def extend(self, values: Iterable[str]) -> None:
        for value in values:
            self.append(value)

    def freeze(self) -> PackedStrings:
        """Stop appending and map the file; returns the store."""
        if self._data is None:
            self._file.flush()
            self._data = (
                np.memmap(self._file, dtype=np.uint8, mode="r")
                if self._size
                else np.zeros(0, dtype=np.uint8)
            )
            self._ends_array = np.frombuffer(self._ends, dtype=np.int64)
        return self

    def close(self) -> None:
        """Unmap and remove the file (also done when the store is garbage-collected)."""
        self._data = None
        self._file.close()

    @property
    def nbytes(self) -> int:
        """UTF-8 bytes of all strings (the file's size)."""
        return self._size

    def __len__(self) -> int:
        return len(self._ends)

    def _decode(self, index: int) -> str:
        start = self._ends_array[index - 1] if index else 0
        return bytes(self._data[start : self._ends_array[index]]).decode("utf-8")

    def __getitem__(self, index):
        self.freeze()
        if isinstance(index, slice):
            return [self._decode(i) for i in range(*index.indices(len(self)))]
        if isinstance(index, (list, tuple, np.ndarray)):
            return [self[int(i)] for i in index]
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"string {index} of {len(self)}")
        return self._decode(index)

    def __reduce__(self):  # a worker process would otherwise get a copy of every byte
        raise TypeError(
            "PackedStrings is not picklable: its file belongs to this process "
            "(use DataLoader workers started by fork)"
        )


class PackedStringLists(Sequence[list[str]]):
    """A sequence of string lists (e.g. the generated queries of each passage) stored as one
    :class:`PackedStrings` plus one end offset per list; ``lists[i]`` is a new ``list``."""

    def __init__(self, lists: Iterable[Sequence[str]] = ()):
        self.strings = PackedStrings()
        self._ends = array("q")
        for values in lists:
            self.append(values)

    def append(self, values: Sequence[str]) -> None:
        self.strings.extend(values)
        self._ends.append(len(self.strings))

    def freeze(self) -> PackedStringLists:
        """Stop appending; returns the store."""
        self.strings.freeze()
        return self

    def close(self) -> None:
        self.strings.close()

    def lengths(self) -> np.ndarray:
        """The number of strings in each list (int64 array)."""
        ends = np.frombuffer(self._ends, dtype=np.int64)
        return np.diff(ends, prepend=0)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"list {index} of {len(self)}")
        start = self._ends[index - 1] if index else 0
        return self.strings[start : self._ends[index]]


class Subset(Sequence):
    """The items of ``items`` at ``indices`` (an integer array), without copying them."""

    def __init__(self, items: Sequence, indices: np.ndarray):
        self.items = items
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.items[int(i)] for i in self.indices[index]]
        return self.items[int(self.indices[index])]
