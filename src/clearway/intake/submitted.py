"""One consignment as submitted: where it came from, the raw text kept as sent, and its validation."""

from __future__ import annotations

import re

import msgspec

from clearway.model.validation import Outcome

_REFERENCE = re.compile(rb'"reference"\s*:\s*"([^"\\]{1,64})"')


class Submitted(msgspec.Struct, frozen=True):
    """`line` is the 1-based line of the record in its file (the first line for CSV groups and JSON files)."""

    format: str
    line: int | None
    raw: bytes
    outcome: Outcome


def sniff_reference(raw: bytes) -> str | None:
    """Best-effort reference from text that would not decode, so the submitter can find the record."""
    match = _REFERENCE.search(raw)
    return match.group(1).decode("utf-8", "replace") if match else None


def decode_error_line(message: str, data: bytes, first_line: int = 1) -> int:
    """The line of a msgspec decode error that names a byte offset ("... (byte 123)")."""
    match = re.search(r"byte (\d+)", message)
    if match is None:
        return first_line
    return first_line + data.count(b"\n", 0, int(match.group(1)))
