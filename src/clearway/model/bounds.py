"""The contract's bounds beyond single fields: the consignment's whole value, the window of its dates, and
text that every store can hold (no NUL, no lone surrogates, nesting at most MAX_DEPTH deep).

They read the raw decoded document, like the other contract rules, so every problem comes back at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from clearway.model.consignment import DATE_MAX, DATE_MIN, MONEY_PATTERN, QUANTITY_MAX, VALUE_MAX
from clearway.model.findings import Finding, pointer

MAX_DEPTH = 16
"""How deep a consignment document may nest (the contract itself needs 5 levels)."""
_MONEY = re.compile(MONEY_PATTERN)
_DATES = (("order", "order_date"), ("order", "payment_date"), ("declared_at",), ("arrival", "expected_at"))


def bound_errors(doc: dict[str, Any]) -> list[Finding]:
    """The whole value, the dates and the text of a consignment document against the contract's bounds."""
    out = [] if _fine(doc, 1) else list(_text(doc, (), 1))
    if any(f.code == "json.depth" for f in out):
        return out
    out.extend(_value(doc))
    for path in _DATES:
        out.extend(_date(doc, path))
    return out


def text_errors(value: Any) -> list[Finding]:
    """Where a decoded JSON value nests too deep or holds text no store can hold (NUL, lone surrogates)."""
    return [] if _fine(value, 1) else list(_text(value, (), 1))


def _fine(value: Any, depth: int) -> bool:
    """No finding of `_text` anywhere in `value`: the common case, told without building a path per string
    (a bulk body's validation holds the interpreter lock that much less)."""
    if depth > MAX_DEPTH:
        return False
    kind = type(value)
    if kind is str:
        return value.isascii() and "\x00" not in value or storable(value)
    if kind is dict:
        for key, element in value.items():
            if type(key) is not str or not (key.isascii() and "\x00" not in key or storable(key)):
                return False
            if not _fine(element, depth + 1):
                return False
        return True
    if kind is list:
        for element in value:  # noqa: SIM110 - a loop: no generator frame per element
            if not _fine(element, depth + 1):
                return False
        return True
    return not isinstance(value, str | dict | list)  # a subclass: the full walk decides


def date_errors(doc: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> list[Finding]:
    """The dates and times at `paths` of a decoded document that fall outside the contract's window (so
    that no stage converts year 1 or 9999 to UTC and overflows)."""
    return [f for path in paths for f in _date(doc, path)]


def decoded_text(data: bytes, what: str) -> str:
    """`data` as UTF-8 text every store can hold; otherwise a ValueError that says why, naming `what`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} is UTF-8 text: {exc}") from exc
    if "\x00" in text:
        raise ValueError(f"{what} holds no NUL characters")
    return text


def _text(value: Any, path: tuple[str | int, ...], depth: int) -> Iterator[Finding]:
    if depth > MAX_DEPTH:
        yield Finding(pointer(*path), "json.depth", f"the document nests deeper than {MAX_DEPTH} levels")
        return
    if isinstance(value, str):
        yield from _string(value, path)
    elif isinstance(value, dict):
        for key, element in value.items():
            yield from _string(key, (*path, key))
            yield from _text(element, (*path, key), depth + 1)
    elif isinstance(value, list):
        for index, element in enumerate(value):
            yield from _text(element, (*path, index), depth + 1)


def _string(text: str, path: tuple[str | int, ...]) -> Iterator[Finding]:
    if "\x00" in text:
        yield Finding(pointer(*path), "text.nul", "text may not contain the NUL character (U+0000)")
    elif not storable(text):
        yield Finding(pointer(*path), "text.encoding", "text holds a lone UTF-16 surrogate: not a character")


def storable(text: str) -> bool:
    """Text every store can hold: no NUL, no lone surrogate."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _value(doc: dict[str, Any]) -> Iterator[Finding]:
    """Items, shipping and insurance together at most VALUE_MAX: each field is bounded, their sum too."""
    total = Decimal(0)
    items = doc.get("items")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        price, quantity = _money(item.get("unit_price")), item.get("quantity")
        if price is None or isinstance(quantity, bool) or not isinstance(quantity, int):
            continue
        if not 1 <= quantity <= QUANTITY_MAX:
            continue  # the field's own error says so
        total += price * quantity
    for name in ("shipping_cost", "insurance"):
        total += _money(doc.get(name)) or 0
    if total > VALUE_MAX:
        yield Finding("/items", "value.range", f"the consignment's value {total} is above the contract's {VALUE_MAX}")


def _money(value: Any) -> Decimal | None:
    return Decimal(value) if isinstance(value, str) and _MONEY.match(value) else None


def _date(doc: dict[str, Any], path: tuple[str, ...]) -> Iterator[Finding]:
    value: Any = doc
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if not isinstance(value, str):
        return
    try:
        day = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return  # the field's own error says so
    if not DATE_MIN <= day <= DATE_MAX:  # the day as written: converting year 1 or 9999 to UTC could overflow
        yield Finding(pointer(*path), "date.range", f"{value[:40]!r} is outside {DATE_MIN} to {DATE_MAX}")
