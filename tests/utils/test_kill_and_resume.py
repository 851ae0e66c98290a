"""SIGKILL at random moments, many times: every ``--resume`` finishes with the weights of an
uninterrupted run, bit for bit (same recipe and seed, CPU).

Each stage command runs as a real process (``python -m qcpt ...``), killed again and again at
random moments of start-up and training, in the middle of a checkpoint's save and while the
final model is written (see :func:`kill_and_resume`), then resumed to the end.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from qcpt.utils.training import complete_checkpoint

KILLS_PER_KIND = 3


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "qcpt", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def checkpoints(folder: Path) -> dict[str, bool]:
    """{path: complete} for every Trainer ``checkpoint-N`` folder in ``folder/checkpoints`` or
    ``folder/stage*/checkpoints`` (the Trainer deletes old ones meanwhile: a vanished one is
    skipped)."""
    found = {}
    for parent in [folder / "checkpoints", *(folder / f"stage{i}" / "checkpoints" for i in (1, 2))]:
        try:
            names = os.listdir(parent)
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith("checkpoint-") and name.split("-")[-1].isdigit():
                found[f"{parent.parent.name}/{name}"] = complete_checkpoint(parent / name)
    return found


def finish(args: list[str], cwd: Path, out: Path) -> tuple[float, float]:
    """Run to the end without a kill (fails the test on an error); returns the seconds until
    the first checkpoint folder appeared and until the end."""
    began, first = time.monotonic(), None
    process = start(args, cwd)
    while process.poll() is None:
        if first is None and checkpoints(out):
            first = time.monotonic() - began
        time.sleep(0.001)
    assert process.returncode == 0, process.stderr.read()
    return first or 0.0, time.monotonic() - began


def kill_when(process: subprocess.Popen, condition, timeout: float, kill: bool = True) -> bool:
    """SIGKILL ``process`` as soon as ``condition()`` holds (polled every ms); False when the
    process ended first. ``kill=False`` only waits for the condition."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if condition():
            if kill:
                process.send_signal(signal.SIGKILL)
                process.wait()
            return True
        time.sleep(0.001)
    process.wait(timeout=600)
    return False


def kill_and_resume(
    args: list[str],
    cwd: Path,
    out: Path,
    model_dirs: list[Path],
    timing: tuple[float, float],
    saves: int,
    seed: int,
) -> dict[str, int]:
    """Start ``args --resume`` again and again, killing it at random moments, then let it finish.

    ``timing`` is an uninterrupted run's (seconds to its first checkpoint, seconds in all) and
    ``saves`` its number of checkpoints. Kills, in a seeded random order: at a uniformly random
    time before the first checkpoint would come (imports, data loading, BM25, the first steps),
    at a uniformly random time within one checkpoint interval after the process's next checkpoint
    appears (a step, a save, the next save), and the instant a new checkpoint folder appears (in
    the middle of its save); last, the instant each final model folder appears. Every kind is
    timed from what this process has done, not by the clock of the uninterrupted run, so a
    faster or slower machine still lands them. Returns how many kills of each kind landed (a
    kill whose process ended first counts as none).
    """
    rng = random.Random(seed)
    to_first, lifetime = timing
    interval = (lifetime - to_first) / saves
    landed = {
        "start-up": 0,
        "training": 0,
        "during a save": 0,
        "incomplete checkpoint left": 0,
        "during the final write": 0,
    }
    kinds = ["start-up", "training", "during a save"] * KILLS_PER_KIND
    rng.shuffle(kinds)
    kinds += ["during the final write"] * len(model_dirs)  # the last: the steps are all done
    for kind in kinds:
        before = set(checkpoints(out))
        written = {d for d in model_dirs if d.exists()}
        began = time.monotonic()
        process = start([*args, "--resume"], cwd)

        def new_checkpoint(b=before):
            return bool(set(checkpoints(out)) - b)

        if kind == "start-up":
            moment = began + rng.uniform(0.0, to_first)
            killed = kill_when(process, lambda m=moment: time.monotonic() >= m, lifetime + 60)
        elif kind == "training":
            killed = False
            if kill_when(process, new_checkpoint, lifetime + 60, kill=False):
                moment = time.monotonic() + rng.uniform(0.0, interval)
                killed = kill_when(process, lambda m=moment: time.monotonic() >= m, lifetime)
        elif kind == "during a save":
            killed = kill_when(process, new_checkpoint, lifetime + 60)
            landed["incomplete checkpoint left"] += killed and not all(checkpoints(out).values())
        else:
            killed = kill_when(
                process,
                lambda w=written: any(d.exists() and d not in w for d in model_dirs),
                lifetime + 60,
            )
        if not killed:
            assert process.returncode == 0, process.stderr.read()
        landed[kind] += killed
    finish([*args, "--resume"], cwd, out)
    return landed


def assert_same_weights(expected: Path, actual: Path) -> None:
    first, again = load_file(expected), load_file(actual)
    assert first.keys() == again.keys()
    for name in first:
        assert torch.equal(first[name], again[name]), name


@pytest.fixture()
def pretrain_recipe(tmp_path, tiny_bert_dir):
    from qcpt.pretrain.config import PretrainConfig
    from tests.pretrain.conftest import write_pairs_files

    passages, queries = write_pairs_files(tmp_path)
    recipe = PretrainConfig.from_yaml(
        None,
        {
            "data.passages": str(passages),
            "data.queries": str(queries),
            "model.model": str(tiny_bert_dir),
            "model.passage_max_length": 16,
            "model.context_max_length": 16,
            "training.batch_size": 4,
            "training.max_steps": 40,
            "training.save_steps": 4,
            "training.save_total_limit": 2,
            "training.logging_steps": 1,
            "training.learning_rate": 1e-3,
        },
    )
    path = tmp_path / "recipe.yaml"
    path.write_text(recipe.to_yaml())
    return path


def test_pretraining_killed_at_random_moments_resumes_to_the_same_weights(
    pretrain_recipe, tmp_path
):
    args = ["pretrain", "-c", str(pretrain_recipe), "--quiet"]
    timing = finish([*args, "-o", "reference"], tmp_path, tmp_path / "reference")
    out = tmp_path / "killed"
    landed = kill_and_resume(
        [*args, "-o", str(out)], tmp_path, out, [out / "model"], timing, saves=10, seed=1
    )
    assert_same_weights(
        tmp_path / "reference" / "model" / "model.safetensors", out / "model" / "model.safetensors"
    )
    assert min(landed.values()) >= 1, landed
    assert not (out / "checkpoints").exists()  # a finished run cleans up


def test_fine_tuning_killed_at_random_moments_resumes_to_the_same_weights(
    tiny_beir, tiny_bert_dir, tmp_path
):
    from qcpt.finetune.config import FinetuneConfig

    recipe = FinetuneConfig.from_yaml(
        None,
        {
            "dataset": str(tiny_beir),
            "encoder.model": str(tiny_bert_dir),
            "encoder.query_max_length": 8,
            "encoder.passage_max_length": 16,
            "bm25_negatives.depth": 8,
            "bm25_negatives.negatives": 4,
            "mined_negatives.depth": 8,
            "mined_negatives.negatives": 4,
            "stages": 2,
            "training.max_steps": 16,
            "training.batch_size": 2,
            "training.group_size": 3,
            "training.save_steps": 2,
            "training.save_total_limit": 2,
            "training.learning_rate": 1e-3,
            "training.logging_steps": 1,
        },
    )
    path = tmp_path / "recipe.yaml"
    path.write_text(recipe.to_yaml())
    args = ["finetune", "--config", str(path), "--quiet"]
    timing = finish([*args, "--output", "reference"], tmp_path, tmp_path / "reference")
    out = tmp_path / "killed"
    landed = kill_and_resume(
        [*args, "--output", str(out)],
        tmp_path,
        out,
        [out / "stage1" / "model", out / "stage2" / "model"],
        timing,
        saves=16,
        seed=2,
    )
    for stage in ("stage1", "stage2"):
        assert_same_weights(
            tmp_path / "reference" / stage / "model" / "model.safetensors",
            out / stage / "model" / "model.safetensors",
        )
    assert min(landed.values()) >= 1, landed
    reference = (tmp_path / "reference" / "stage2" / "run.trec").read_text()
    assert (out / "stage2" / "run.trec").read_text() == reference
