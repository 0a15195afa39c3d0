"""NDJSON intake: one consignment per line, streamed in constant memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec

from clearway.intake.submitted import Submitted, sniff_reference
from clearway.model.validation import rejection, validate_raw

_decode = msgspec.json.Decoder().decode


def read_ndjson(lines: Iterable[bytes]) -> Iterator[Submitted]:
    """Blank lines are skipped; a line that is not JSON rejects that line's consignment only."""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            doc = _decode(text)
        except msgspec.DecodeError as exc:
            outcome = rejection(sniff_reference(text), "", "json.malformed", f"line {number}: {exc}")
            yield Submitted("ndjson", number, text, outcome)
            continue
        yield Submitted("ndjson", number, text, validate_raw(doc))
