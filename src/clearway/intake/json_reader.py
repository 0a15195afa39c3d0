"""JSON intake: one consignment object, or a list of them."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from clearway.intake.submitted import DECODE_ERRORS, Submitted, decode_error_line, decode_problem, sniff_reference
from clearway.model.validation import rejection, validate_raw

_encode = msgspec.json.Encoder().encode


def read_json(data: bytes) -> Iterator[Submitted]:
    """A broken document is one rejection with the line of the error; each list element is its own record."""
    try:
        doc = msgspec.json.decode(data)
    except DECODE_ERRORS as exc:
        code, message = decode_problem(exc)
        line = decode_error_line(message, data)
        outcome = rejection(sniff_reference(data), "", code, f"line {line}: {message}")
        yield Submitted("json", line, data, outcome)
        return
    if isinstance(doc, list):
        for element in doc:
            yield Submitted("json", None, _encode(element), validate_raw(element))
    else:
        yield Submitted("json", 1, data, validate_raw(doc))
