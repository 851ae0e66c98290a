import json

import pytest

from qcpt.utils.io import atomic_write, write_jsonl


def test_write_jsonl_one_object_per_line_utf8(tmp_path):
    path = tmp_path / "out" / "records.jsonl"
    count = write_jsonl(path, ({"_id": str(i), "text": "café"} for i in range(3)))
    assert count == 3
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["_id"] for line in lines] == ["0", "1", "2"]
    assert "café" in lines[0]  # not ASCII-escaped


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "records.jsonl"
    write_jsonl(path, [{"a": 1}])

    def broken():
        yield {"a": 2}
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_jsonl(path, broken())
    assert path.read_text() == '{"a": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["records.jsonl"]
    with pytest.raises(ValueError), atomic_write(path) as handle:
        handle.write("half")
        raise ValueError
    assert path.read_text() == '{"a": 1}\n'
