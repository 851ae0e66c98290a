"""Exceptions that the CLI reports as one clear line instead of a traceback."""

from __future__ import annotations

from pathlib import Path


class QcptError(Exception):
    """Base class for user-facing errors (bad input, missing files, bad options)."""


class DataFormatError(QcptError):
    """A data file is malformed. The message names the file, the line (1-based) and the problem."""

    def __init__(self, path: str | Path, line: int | None, problem: str):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {problem}")


class DatasetNotFoundError(QcptError):
    """A dataset name or path could not be resolved to files."""
