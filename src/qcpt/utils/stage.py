"""The stage folder protocol: one rule for reruns of a stage into the same output folder.

A stage folder holds its resolved recipe (``config.yaml``), a manifest (``manifest.json``: the
stage, status, settings, fingerprints of its input files, library versions, wall time, peak
memory and outputs) and its outputs. A rerun into the folder

- with the same recipe and inputs, of a finished run: is skipped (``action == "skip"``);
- with the same recipe and inputs, of an unfinished run: runs again, resuming where the stage
  can (``action == "run"``, ``interrupted``);
- with another recipe or other inputs: is refused with a message that names every difference,
  unless ``overwrite`` (the folder is emptied) or the earlier run left no progress (a failed
  start: its files are replaced).
"""

from __future__ import annotations

import logging
import resource
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from qcpt.errors import QcptError
from qcpt.utils.io import read_json_record, source_fingerprint, write_json, write_text

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.yaml"
MANIFEST_FILE = "manifest.json"
_VERSIONED = ("qcpt", "torch", "transformers", "sentence-transformers")


def input_fingerprints(inputs: Mapping[str, str | Path | None]) -> dict[str, Any]:
    """:func:`~qcpt.utils.io.source_fingerprint` of each named input that is set."""
    return {name: source_fingerprint(value) for name, value in inputs.items() if value is not None}


def flatten(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def differences(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """``key: stored -> wanted`` for every dotted key whose value differs."""
    old, new = flatten(stored), flatten(wanted)
    return [
        f"{key}: {old.get(key, '(unset)')!r} -> {new.get(key, '(unset)')!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


@dataclass
class StageRun:
    """An opened stage folder: what to do, and :meth:`finish` to record a finished run."""

    folder: Path
    action: Literal["run", "skip"]
    manifest: dict[str, Any]
    interrupted: bool = False
    recipe_yaml: str = ""
    clear: bool = False
    _started: float = field(default_factory=time.perf_counter, repr=False)

    def start(self, write: bool = True) -> None:
        """Record that the run begins: empty the folder first under ``--overwrite``, then write
        ``config.yaml`` and a running manifest. Called once the inputs have loaded, so a start
        that fails on its inputs leaves nothing behind; ``write``: the main process."""
        if not write:
            return
        if self.clear:
            shutil.rmtree(self.folder, ignore_errors=True)
        write_text(self.folder / CONFIG_FILE, self.recipe_yaml)
        write_json(self.folder / MANIFEST_FILE, self.manifest)

    def finish(self, outputs: Mapping[str, Any], **figures: Any) -> dict[str, Any]:
        """Mark the run complete with its outputs, wall time and peak memory; returns the
        manifest as written."""
        self.manifest.update(
            {
                "status": "complete",
                "finished": now(),
                "outputs": dict(outputs),
                "wall_seconds": round(time.perf_counter() - self._started, 1),
                "peak_rss_mib": peak_rss_mib(),
                **figures,
            }
        )
        write_json(self.folder / MANIFEST_FILE, self.manifest)
        return self.manifest


def open_stage(
    folder: str | Path,
    stage: str,
    recipe,
    *,
    inputs: Mapping[str, str | Path | None],
    finished: bool,
    progress: bool,
    overwrite: bool = False,
    may_change: tuple[str, ...] = (),
) -> StageRun:
    """Apply the rerun rule (module docstring) to ``folder`` for ``recipe`` (a
    :class:`~qcpt.utils.config.Recipe`) of ``stage``.

    ``inputs``: the files the run reads, by name (their content counts; their paths, like
    every other setting, are in the recipe); ``finished``: the outputs this recipe asks for are
    all present; ``progress``: an earlier run
    left something worth keeping (checkpoints, partial outputs); ``may_change``: settings
    (dotted keys) a rerun may change without counting as another recipe (fine-tuning's number
    of stages). Writes nothing: a run that goes ahead calls :meth:`StageRun.start`.
    """
    folder = Path(folder)
    settings = recipe.model_dump(mode="json")
    fingerprints = input_fingerprints(inputs)
    stored = _read_manifest(folder)
    if stored is None and (folder / CONFIG_FILE).is_file():  # a folder of an older qcpt
        stored = {
            "stage": stage,
            "status": "unknown",
            "settings": type(recipe).from_yaml(folder / CONFIG_FILE).model_dump(mode="json"),
            "inputs": fingerprints,
        }
    interrupted = clear = False
    if stored is not None:
        changed = [
            line
            for line in differences(stored.get("settings", {}), settings)
            if line.split(":", 1)[0] not in may_change
        ]
        changed += [
            f"input {name} differs"
            for name in sorted(set(stored.get("inputs", {})) | set(fingerprints))
            if stored.get("inputs", {}).get(name) != fingerprints.get(name)
        ]
        if stored.get("stage") not in (None, stage):
            changed.insert(0, f"stage: {stored.get('stage')!r} -> {stage!r}")
        if overwrite:
            logger.info(
                "%s: --overwrite, replacing the earlier run%s",
                folder,
                f" ({'; '.join(changed)})" if changed else "",
            )
            clear = True
        elif changed and progress:
            raise QcptError(
                f"{folder} holds a {stage} run of another recipe: "
                f"{'; '.join(changed)}; use the same recipe, another output folder, "
                "or --overwrite"
            )
        elif changed:
            logger.info("%s: replacing an earlier %s start that left no progress", folder, stage)
        elif finished and stored.get("status") == "complete":
            logger.info(
                "%s: this %s run is finished (same recipe and inputs): skipped", folder, stage
            )
            return StageRun(folder, "skip", stored)
        else:
            interrupted = True
    manifest = {
        "stage": stage,
        "status": "running",
        "started": now(),
        "settings": settings,
        "inputs": fingerprints,
        "versions": _versions(),
    }
    return StageRun(folder, "run", manifest, interrupted, recipe.to_yaml(), clear)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    return read_json_record(folder / MANIFEST_FILE, "remove it or use --overwrite")


def _versions() -> dict[str, str | None]:
    found = {}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1024), 1)


def now() -> str:
    """The time in UTC, ISO 8601 to the second (manifests and step records)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
