"""NDJSON intake: one consignment per line, streamed in constant memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec

from clearway.intake.submitted import DECODE_ERRORS, Submitted, decode_problem, sniff_reference
from clearway.model.validation import rejection, validate_raw

_decode = msgspec.json.Decoder().decode


def read_ndjson(lines: Iterable[bytes]) -> Iterator[Submitted]:
    """Blank lines are skipped; a line that is not JSON rejects that line's consignment only."""
    for number, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")  # kept exactly as sent, but for the line break
        if not raw.strip():
            continue
        try:
            doc = _decode(raw)
        except DECODE_ERRORS as exc:
            code, message = decode_problem(exc)
            outcome = rejection(sniff_reference(raw), "", code, f"line {number}: {message}")
            yield Submitted("ndjson", number, raw, outcome)
            continue
        yield Submitted("ndjson", number, raw, validate_raw(doc))
