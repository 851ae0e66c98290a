"""Shared fixtures: files written into tmp_path, a tiny BEIR data set, a clean environment."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qcpt.errors import DataFormatError

from .helpers import write_beir


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No lookups outside tmp_path and no downloads unless a test turns them on."""
    for variable in ("QCPT_DATA_DIR", "QCPT_BEIR_URL", "QCPT_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("QCPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write text or bytes to ``tmp_path/name`` (gzip-compressed when the name ends in .gz)."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        return path

    return write


@pytest.fixture
def raises_format_error() -> Callable[[Path, int | None, str], contextlib.AbstractContextManager]:
    """Context manager: expect a DataFormatError naming ``path``, ``line`` and ``problem``."""

    @contextlib.contextmanager
    def expect(path: Path, line: int | None, problem: str) -> Iterator[None]:
        with pytest.raises(DataFormatError) as excinfo:
            yield
        message = str(excinfo.value)
        where = f"{path}:{line}: " if line is not None else f"{path}: "
        assert message.startswith(where), message
        assert path.name in message
        assert problem in message, message
        assert excinfo.value.line == line

    return expect


@pytest.fixture
def tiny_beir(tmp_path: Path) -> Path:
    """The tiny BEIR data set in ``tmp_path/tiny``."""
    return write_beir(tmp_path / "tiny")
