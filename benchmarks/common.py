"""Helpers shared by the benchmark scripts: machine description and result files."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

from qcpt.utils.io import write_json, write_text

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_dir() -> Path:
    """Datasets folder: $QCPT_DATA_DIR, else ../shared/data beside the repository."""
    return Path(os.environ.get("QCPT_DATA_DIR", SHARED_DATA))


def machine_info(packages: tuple[str, ...] = ()) -> dict:
    """CPU, cores, Python and package versions, for the record next to every figure."""
    import torch

    cpu = platform.processor()
    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].split()
    except OSError:
        pass
    # The vector extensions that decide fp32 / bf16 / int8 speed: "AMD EPYC" alone names
    # machines whose bf16 speed differs 6x.
    vector_flags = sorted(f for f in flags if f.startswith(("avx", "amx", "fma")))
    versions = {}
    for name in ("qcpt", "torch", "transformers", *packages):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cpu_vector_flags": vector_flags,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": versions,
    }


def save_results(name: str, results: dict, markdown: str) -> tuple[Path, Path]:
    """Write ``results/<name>.json`` and ``results/<name>.md`` atomically."""
    json_path = write_json(RESULTS_DIR / f"{name}.json", results)
    md_path = write_text(RESULTS_DIR / f"{name}.md", markdown.rstrip() + "\n")
    return json_path, md_path
