"""The stage-folder protocol: skip a finished run, rerun an unfinished one, refuse another
recipe naming what differs, overwrite on request, replace a failed start."""

from __future__ import annotations

import json

import pytest

from qcpt.errors import QcptError
from qcpt.utils.config import Recipe, Section
from qcpt.utils.stage import MANIFEST_FILE, differences, open_stage


class Inner(Section):
    rate: float = 0.1


class Toy(Recipe):
    name: str = "a"
    inner: Inner = Inner()

    kind = "toy config"


def test_differences_name_dotted_keys():
    assert differences({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}, "d": 4}) == [
        "b.c: 2 -> 3",
        "d: '(unset)' -> 4",
    ]


def test_rerun_rules(tmp_path):
    folder, data = tmp_path / "stage", tmp_path / "input.txt"
    data.write_text("x")
    run = open_stage(folder, "toy", Toy(), inputs={"input": data}, finished=False, progress=False)
    assert run.action == "run" and not run.interrupted and not folder.exists()  # nothing yet
    run.start()
    assert json.loads((folder / MANIFEST_FILE).read_text())["status"] == "running"
    again = open_stage(folder, "toy", Toy(), inputs={"input": data}, finished=False, progress=True)
    assert again.action == "run" and again.interrupted  # unfinished: run again
    again.finish({"out": "out.txt"}, steps=3)
    done = open_stage(folder, "toy", Toy(), inputs={"input": data}, finished=True, progress=True)
    assert done.action == "skip" and done.manifest["steps"] == 3
    forced = open_stage(
        folder, "toy", Toy(), inputs={"input": data}, finished=True, progress=True, overwrite=True
    )
    assert forced.action == "run" and forced.clear  # --overwrite reruns a finished run
    other = Toy(inner=Inner(rate=0.2))
    with pytest.raises(QcptError, match=r"another recipe: inner.rate: 0.1 -> 0.2"):
        open_stage(folder, "toy", other, inputs={"input": data}, finished=True, progress=True)
    data.write_text("y")
    with pytest.raises(QcptError, match="input input differs"):
        open_stage(folder, "toy", Toy(), inputs={"input": data}, finished=True, progress=True)
    (folder / "out.txt").write_text("old")
    fresh = open_stage(
        folder, "toy", other, inputs={"input": data}, finished=True, progress=True, overwrite=True
    )
    assert fresh.action == "run" and (folder / "out.txt").exists()  # kept until the start
    fresh.start()
    assert not (folder / "out.txt").exists()
    # a start that left no progress is replaced by another recipe without --overwrite
    replaced = open_stage(folder, "toy", Toy(name="b"), inputs={}, finished=False, progress=False)
    assert replaced.action == "run"
    replaced.start()
    assert Toy.from_yaml(folder / "config.yaml").name == "b"


def test_a_broken_manifest_is_one_clear_error(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(QcptError, match="manifest.json: malformed JSON on line 1"):
        open_stage(tmp_path, "toy", Toy(), inputs={}, finished=False, progress=False)
