"""Generated-queries files: resumable jsonl output, the sidecar JSON, shards and their merge.

Output is jsonl ``{"_id": passage id, "queries": [...]}``, one line per passage, appended and
fsynced batch by batch, so a crash loses at most the batch in flight; a torn last line is cut off
when the run resumes. The sidecar ``<name>.meta.json`` records the generator, its settings, the
passages it read and drop counts; a rerun resumes only if its settings match. ``--shard k/n``
runs write ``<name>.shard-<k>-of-<n>.jsonl``; :func:`merge_shards` joins them in passage order.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from qcpt.data.generated_queries import (
    FORMAT,
    iter_query_records,
    read_queries,
    read_sidecar,
    sidecar_path,
)
from qcpt.errors import QcptError
from qcpt.utils.io import write_json, write_jsonl

_SHARD_NAME = re.compile(r"\.shard-(\d+)-of-(\d+)\.jsonl$")


def shard_path(path: str | Path, shard: tuple[int, int]) -> Path:
    """``queries.jsonl`` and shard (k, n) -> ``queries.shard-<k>-of-<n>.jsonl``."""
    path = Path(path)
    k, n = shard
    return path.with_name(f"{path.name.removesuffix('.jsonl')}.shard-{k}-of-{n}.jsonl")


def shard_sidecar(path: str | Path) -> dict:
    """The sidecar of a shard, which a merge needs (its settings and passages)."""
    meta = read_sidecar(path)
    if "settings" not in meta:
        raise QcptError(
            f"{path}: its sidecar {sidecar_path(path).name} is missing or has no "
            "settings; merge-queries needs the files generate-queries wrote"
        )
    return meta


class QueryWriter:
    """Appends records to a generated-queries file, resuming one written with the same settings.

    ``settings`` is what must match for a resume; ``info`` is recorded but not compared.
    ``done`` holds the passage ids already written; ``counts`` accumulates drop counts across
    resumed runs (a crash can lose the counts of the batch in flight).
    """

    def __init__(
        self, path: str | Path, settings: dict, info: dict | None = None, overwrite: bool = False
    ):
        self.path = Path(path)
        self.meta_path = sidecar_path(self.path)
        self.settings = json.loads(json.dumps(settings))  # as it will read back from JSON
        self.info = info or {}
        self.counts: Counter = Counter()
        self.done: set[str] = set()
        if overwrite:
            self.path.unlink(missing_ok=True)
            self.meta_path.unlink(missing_ok=True)
        if self.path.exists():
            self._resume()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")
        self._write_meta(complete=False)

    def _resume(self) -> None:
        meta = read_sidecar(self.path)
        if not meta:
            raise QcptError(
                f"{self.path} exists without its sidecar {self.meta_path.name}; "
                "pass --overwrite to start again"
            )
        if meta.get("settings") != self.settings:
            old, new = meta.get("settings", {}), self.settings
            changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            raise QcptError(
                f"{self.path} was written with other settings ({', '.join(changed)} differ); "
                "pass --overwrite to start again or choose another output"
            )
        _cut_torn_line(self.path)
        self.done = {passage_id for _, passage_id, _ in iter_query_records(self.path)}
        self.counts = Counter(meta.get("counts", {}))

    def write(self, records: Sequence[tuple[str, list[str]]], counts: Counter) -> None:
        """Append records, flush them to disk, then update the sidecar's counts."""
        for passage_id, queries in records:
            line = json.dumps({"_id": passage_id, "queries": queries}, ensure_ascii=False)
            self._handle.write(line + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.done.update(passage_id for passage_id, _ in records)
        self.counts.update(counts)
        self._write_meta(complete=False)

    def close(self, complete: bool) -> None:
        """Close the file; ``complete`` marks that every passage of the run was written."""
        self._handle.close()
        self._write_meta(complete=complete)

    def _write_meta(self, complete: bool) -> None:
        write_json(
            self.meta_path,
            {
                "format": FORMAT,
                "complete": complete,
                "written": len(self.done),
                "counts": dict(self.counts),
                "settings": self.settings,
                **self.info,
            },
        )


def _cut_torn_line(path: Path) -> None:
    """Drop a last line without its line break (a write interrupted by a crash)."""
    with path.open("rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)


def find_shards(output: str | Path) -> list[Path]:
    """The shard files of ``output``; raises unless exactly shards 0..n-1 of one n exist."""
    output = Path(output)
    stem = output.name.removesuffix(".jsonl")
    found: dict[int, dict[int, Path]] = {}
    for candidate in output.parent.glob(f"{stem}.shard-*-of-*.jsonl"):
        match = _SHARD_NAME.search(candidate.name)
        if match and candidate.name[: match.start()] == stem:
            found.setdefault(int(match[2]), {})[int(match[1])] = candidate
    if not found:
        raise QcptError(f"no shards of {output} (expected {stem}.shard-<k>-of-<n>.jsonl)")
    if len(found) > 1:
        raise QcptError(f"shards of {output} for several shard counts: {sorted(found)}")
    ((n, shards),) = found.items()
    missing = sorted(set(range(n)) - set(shards))
    if missing:
        raise QcptError(f"shards {missing} of {n} for {output} are missing")
    return [shards[k] for k in range(n)]


def merge_shards(output: str | Path, passage_order: Sequence[str]) -> Counter:
    """Join complete shards of ``output`` into ``output`` in ``passage_order``; sum their counts.

    Raises if a shard is incomplete, shards disagree on settings, or a passage in the order is
    missing. Returns the summed counts.
    """
    output = Path(output)
    shards = find_shards(output)
    metas = [shard_sidecar(path) for path in shards]
    for path, meta in zip(shards, metas, strict=True):
        if not meta.get("complete"):
            raise QcptError(f"{path} is not complete; rerun its shard to finish it")
    base = {k: v for k, v in metas[0]["settings"].items() if k != "shard"}
    for path, meta in zip(shards[1:], metas[1:], strict=True):
        if {k: v for k, v in meta["settings"].items() if k != "shard"} != base:
            raise QcptError(f"{path} was generated with other settings than {shards[0]}")
    records: dict[str, list[str]] = {}
    for path in shards:
        records.update(read_queries(path))
    absent = [pid for pid in passage_order if pid not in records]
    if absent:
        raise QcptError(f"{len(absent)} passage(s) are in no shard (e.g. {absent[0]!r})")
    counts: Counter = Counter()
    for meta in metas:
        counts.update(meta.get("counts", {}))
    write_jsonl(output, ({"_id": pid, "queries": records[pid]} for pid in passage_order))
    info = {k: v for k, v in metas[0].items() if k not in ("complete", "written", "counts")}
    info["settings"] = {**base, "shard": None}
    write_json(
        sidecar_path(output),
        {
            **info,
            "complete": True,
            "written": len(passage_order),
            "counts": dict(counts),
            "merged_from": [path.name for path in shards],
        },
    )
    return counts
