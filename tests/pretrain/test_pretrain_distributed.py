"""``torchrun --nproc_per_node 2`` on CPU (gloo) gives one process's loss and parameter update
on the same global batch, for both objectives and for GradCache.

The ranks hold unequal numbers of MLM targets, so a per-process normalisation of the token
losses (instead of the global one) fails this test, as does a wrong rank offset in the
cross-process InfoNCE.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from .distributed_worker import CASES, step

WORKER = Path(__file__).with_name("distributed_worker.py")


def test_two_processes_equal_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(WORKER),
        str(tmp_path),
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for case in CASES:
        single = step(case, str(tmp_path / "single"))
        mean_loss = (ranks[0][case]["loss"] + ranks[1][case]["loss"]) / 2
        torch.testing.assert_close(
            mean_loss, single["loss"], rtol=1e-5, atol=1e-6, msg=f"{case}: loss"
        )
        for name, update in single["update"].items():
            for rank in ranks:
                torch.testing.assert_close(
                    rank[case]["update"][name],
                    update,
                    rtol=1e-4,
                    atol=1e-6,
                    msg=f"{case}: update of {name}",
                )
        moved = sum(float(u.abs().sum()) for u in single["update"].values())
        assert moved > 0, f"{case}: no parameter moved"
