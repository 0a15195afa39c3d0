"""Choosing an intake reader by format name or file extension."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from clearway.errors import InvalidInput
from clearway.intake.csv_reader import read_csv
from clearway.intake.json_reader import read_json
from clearway.intake.ndjson_reader import read_ndjson
from clearway.intake.submitted import Submitted

FORMATS = ("json", "ndjson", "csv")
_EXTENSIONS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}


def detect_format(path: Path) -> str:
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"cannot tell the format of {path.name}: use .json, .ndjson, .jsonl or .csv, or name it")
    return fmt


def read_path(path: Path, fmt: str | None = None) -> Iterator[Submitted]:
    """Every consignment in the file; NDJSON is streamed, JSON and CSV are read whole."""
    fmt = fmt or detect_format(path)
    if fmt == "ndjson":
        with path.open("rb") as handle:
            yield from read_ndjson(handle)
        return
    yield from read_bytes(path.read_bytes(), fmt)


def read_bytes(data: bytes, fmt: str) -> Iterator[Submitted]:
    if fmt == "json":
        return read_json(data)
    if fmt == "ndjson":
        return read_ndjson(data.splitlines())
    if fmt == "csv":
        return read_csv(data)
    raise InvalidInput(f"unknown intake format {fmt!r}: one of {', '.join(FORMATS)}")
