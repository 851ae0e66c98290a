"""precision: auto resolves to bf16 only where the hardware computes in it natively."""

from __future__ import annotations

import torch

from qcpt.utils import devices


def test_auto_precision_follows_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: True)
    assert devices.resolve_precision("auto") == "bf16"
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: False)
    assert devices.resolve_precision("auto") == "fp32"
    assert devices.resolve_precision("bf16") == "bf16"  # asked for explicitly: as given
    assert devices.resolve_precision("fp32", "cpu") == "fp32"
