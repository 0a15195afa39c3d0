"""A finding (error or data-quality warning) about a consignment: JSON pointer, stable code, message."""

from __future__ import annotations

import msgspec


class Finding(msgspec.Struct, frozen=True, order=True):
    """One problem: `path` is an RFC 6901 JSON pointer into the submitted document."""

    path: str
    code: str
    message: str


def pointer(*parts: str | int) -> str:
    """Build a JSON pointer from path segments, escaping `~` and `/` as RFC 6901 says."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
