"""Checkpoint policy: resume picks the newest *complete* Trainer checkpoint."""

from __future__ import annotations

import json
from types import SimpleNamespace

from qcpt.utils.training import checkpoint_to_resume, complete_checkpoint

STATE = SimpleNamespace(is_main_process=True, wait_for_everyone=lambda: None)


def checkpoint(root, step, state='{"global_step": 1}', weights=True):
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    if weights:
        (folder / "model.safetensors").write_bytes(b"w")
    if state is not None:
        (folder / "trainer_state.json").write_text(state)
    return folder


def test_resume_skips_checkpoints_whose_save_was_interrupted(tmp_path, caplog):
    root = tmp_path / "checkpoints"
    good = checkpoint(root, 2)
    checkpoint(root, 10)  # the newest, complete... but older than the broken ones below
    checkpoint(root, 30, state=None)  # killed before trainer_state.json
    checkpoint(root, 20, state='{"global_st')  # killed while writing it
    checkpoint(root, 40, weights=False)
    assert complete_checkpoint(good) and not complete_checkpoint(root / "checkpoint-30")
    with caplog.at_level("WARNING"):
        assert checkpoint_to_resume(root, True, STATE) == str(root / "checkpoint-10")
    assert "checkpoint-40 is incomplete" in caplog.text
    assert "checkpoint-30 is incomplete" in caplog.text
    assert json.loads((root / "checkpoint-10" / "trainer_state.json").read_text())


def test_without_resume_an_earlier_runs_checkpoints_are_removed(tmp_path):
    root = tmp_path / "checkpoints"
    checkpoint(root, 5, state=None)
    assert checkpoint_to_resume(root, False, STATE) is None
    assert not root.exists()
    assert checkpoint_to_resume(tmp_path / "none", True, STATE) is None


def test_stop_if_not_finite_names_step_term_and_checkpoint(tmp_path):
    import pytest

    from qcpt.errors import QcptError
    from qcpt.utils.training import stop_if_not_finite

    checkpoint(tmp_path, 4)
    trainer = SimpleNamespace(
        state=SimpleNamespace(global_step=6), args=SimpleNamespace(output_dir=str(tmp_path))
    )
    stop_if_not_finite({"mlm": 2.0}, trainer)  # finite: nothing happens
    with pytest.raises(QcptError, match=r"step 7: loss term decoder = inf .*checkpoint-4"):
        stop_if_not_finite({"mlm": 1.0, "decoder": float("inf")}, trainer)
