"""Line-level reading shared by the corpus, query and qrels readers.

Files are read as bytes and each line is decoded here, so that bad bytes, bad JSON and missing
fields all become a :class:`DataFormatError` that names the file, the line and the problem.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qcpt.errors import DataFormatError, DatasetNotFoundError

_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def json_type_name(value: Any) -> str:
    """Name a parsed JSON value's type the way JSON does ("an array", "null", ...)."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text)`` for each non-blank line, without its line ending.

    ``.gz`` files are decompressed on the fly. Nothing but the current line is held in memory.
    """
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file")
    compressed = path.suffix == ".gz"
    opener = gzip.open if compressed else open
    number = 0
    offset = 0
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                text = _decode(path, number, raw, offset, compressed)
                offset += len(raw)
                if number == 1:
                    text = text.removeprefix("\ufeff")
                text = text.rstrip("\r\n")
                if text.strip():
                    yield number, text
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataFormatError(path, number + 1, f"corrupt gzip data ({error})") from None


def _decode(path: Path, number: int, raw: bytes, offset: int, compressed: bool) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        where = "of the decompressed data" if compressed else "in the file"
        raise DataFormatError(
            path,
            number,
            f"invalid UTF-8 byte 0x{raw[error.start]:02x} at column {error.start + 1} "
            f"(byte offset {offset + error.start} {where})",
        ) from None


def parse_json_object(path: Path, number: int, text: str) -> dict[str, Any]:
    """Parse one JSON Lines line that must hold an object."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataFormatError(
            path, number, f"malformed JSON: {error.msg} at column {error.colno}"
        ) from None
    except RecursionError:  # json gives up on arrays or objects nested thousands deep
        raise DataFormatError(path, number, "malformed JSON: nested too deeply") from None
    if not isinstance(record, dict):
        raise DataFormatError(path, number, f"expected a JSON object, got {json_type_name(record)}")
    return record


def id_field(path: Path, number: int, record: dict[str, Any]) -> str:
    """Return ``record["_id"]`` as a non-empty string; integer ids are converted."""
    if "_id" not in record:
        raise DataFormatError(path, number, "missing '_id'")
    value = record["_id"]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DataFormatError(path, number, f"'_id' must be a string, got {json_type_name(value)}")
    if not value.strip():
        raise DataFormatError(path, number, "empty '_id'")
    return value


def text_field(path: Path, number: int, record: dict[str, Any], key: str, *, required: bool) -> str:
    """Return ``record[key]`` as a string; an optional field that is absent or null gives ``""``."""
    value = record.get(key)
    if value is None and not required:
        return ""
    if key not in record:
        raise DataFormatError(path, number, f"missing '{key}'")
    if not isinstance(value, str):
        raise DataFormatError(
            path, number, f"'{key}' must be a string, got {json_type_name(value)}"
        )
    return value


def file_format(path: Path) -> str:
    """Return ``"jsonl"`` (``.jsonl``, ``.json``) or ``"tsv"`` (``.tsv``), each maybe ``.gz``."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".json")):
        return "jsonl"
    if name.endswith(".tsv"):
        return "tsv"
    raise DataFormatError(
        path, None, "unsupported file type: expected .jsonl, .json or .tsv (optionally .gz)"
    )
