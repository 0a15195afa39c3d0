"""One consignment as submitted: where it came from, the raw text kept as sent, and its validation."""

from __future__ import annotations

import re

import msgspec

from clearway.model.bounds import storable
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
    if match is None:
        return None
    reference = match.group(1).decode("utf-8", "replace")
    return reference if storable(reference) else None


DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
"""What decoding hostile JSON raises: broken syntax, bytes that are not UTF-8, nesting past the decoder's stack."""


def decode_problem(exc: Exception) -> tuple[str, str]:
    """The rejection code and message for a document that would not decode."""
    if isinstance(exc, RecursionError):
        return "json.depth", "the document nests too deeply to be read"
    if isinstance(exc, UnicodeDecodeError):
        return "json.encoding", f"the text is not UTF-8 (byte {exc.start} of the document)"
    return "json.malformed", str(exc)


def decode_error_line(message: str, data: bytes, first_line: int = 1) -> int:
    """The line of a msgspec decode error that names a byte offset ("... (byte 123)")."""
    match = re.search(r"byte (\d+)", message)
    if match is None:
        return first_line
    return first_line + data.count(b"\n", 0, int(match.group(1)))
