"""Torch devices and dtypes named in recipes (``device: auto``, ``precision: auto|bf16``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported when a device or dtype is asked for, not with the module
    import torch


def torch_dtype(precision: str) -> torch.dtype:
    """The torch dtype of a recipe's ``fp32`` / ``bf16`` / ``fp16``."""
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def resolve_device(device: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; anything else as given."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@cache
def cpu_has_bf16() -> bool:
    """Whether the CPU has native bfloat16 dot products (AVX512-BF16 or AMX-BF16; Linux only)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: str | torch.device = "auto") -> str:
    """``auto`` -> ``bf16`` where the hardware computes in it natively (a CUDA device with bf16,
    a CPU with AVX512-BF16 / AMX-BF16), else ``fp32``; any other value as given.

    On a CPU without native bf16, autocast emulates it: MiniLM encoded 2.1 SciFact passages/s in
    bf16 against 12.7 in fp32 (256 tokens) on a 2-core AVX2 EPYC, while CPUs with AVX512-BF16
    run bf16 1.7-1.9x faster than fp32.
    """
    if precision != "auto":
        return precision
    import torch

    device = resolve_device(str(device))
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_bf16() else "fp32"
