"""Structural validation of raw (decoded JSON) data against a Struct, reporting every problem at once.

msgspec stops at the first error; a submitter wants them all. This walker reads the constraints from
the Structs' own type information (msgspec.inspect), so the Structs stay the one definition.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import msgspec
from msgspec import inspect as mi

from clearway.model.consignment import DECIMAL_PATTERN
from clearway.model.findings import Finding, pointer

_DECIMAL = re.compile(DECIMAL_PATTERN)
_JSON_TYPE = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


@lru_cache(maxsize=16)
def _info(tp: type) -> mi.Type:
    return mi.type_info(tp)


def structure_errors(raw: Any, tp: type) -> list[Finding]:
    """Every structural problem of `raw` against the Struct type `tp`."""
    out: list[Finding] = []
    _check(raw, _info(tp), (), out)
    return out


def _kind(value: Any) -> str:
    return _JSON_TYPE.get(type(value), type(value).__name__)


Path = tuple[str | int, ...]


def _check(value: Any, t: mi.Type, path: Path, out: list[Finding]) -> None:
    extra: dict[str, Any] = {}
    if isinstance(t, mi.Metadata):
        extra = dict(t.extra or {})
        t = t.type
    if isinstance(t, mi.UnionType):
        if value is None and any(isinstance(m, mi.NoneType) for m in t.types):
            return
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(members) == 1:
            _check(value, members[0], path, out)
            return
        out.append(Finding(pointer(*path), "schema.type", f"unexpected {_kind(value)}"))
        return
    if isinstance(t, mi.StructType):
        _check_struct(value, t, path, out)
    elif isinstance(t, mi.ListType):
        _check_list(value, t, path, out)
    elif isinstance(t, mi.StrType):
        _check_str(value, t, path, out)
    elif isinstance(t, mi.IntType):
        _check_int(value, t, path, out)
    elif isinstance(t, mi.DecimalType):
        _check_decimal(value, extra, path, out)
    elif isinstance(t, mi.LiteralType):
        if value not in t.values:
            allowed = ", ".join(map(str, t.values))
            out.append(Finding(pointer(*path), "schema.enum", f"{value!r} is not one of: {allowed}"))
    elif isinstance(t, mi.DateType | mi.DateTimeType):
        _check_temporal(value, t, path, out)


def _check_struct(value: Any, t: mi.StructType, path: Path, out: list[Finding]) -> None:
    if not isinstance(value, dict):
        out.append(Finding(pointer(*path), "schema.type", f"expected an object, got {_kind(value)}"))
        return
    for field in t.fields:
        name = field.encode_name
        if name not in value:
            if field.required:
                out.append(Finding(pointer(*path, name), "schema.required", f"`{name}` is required"))
            continue
        if value[name] is None and not field.required:
            continue
        _check(value[name], field.type, (*path, name), out)


def _check_list(value: Any, t: mi.ListType, path: Path, out: list[Finding]) -> None:
    if not isinstance(value, list):
        out.append(Finding(pointer(*path), "schema.type", f"expected an array, got {_kind(value)}"))
        return
    if t.min_length is not None and len(value) < t.min_length:
        out.append(Finding(pointer(*path), "schema.length", f"needs at least {t.min_length} entries"))
    if t.max_length is not None and len(value) > t.max_length:
        out.append(Finding(pointer(*path), "schema.length", f"takes at most {t.max_length} entries"))
    for index, element in enumerate(value):
        _check(element, t.item_type, (*path, index), out)


def _check_str(value: Any, t: mi.StrType, path: Path, out: list[Finding]) -> None:
    if not isinstance(value, str):
        out.append(Finding(pointer(*path), "schema.type", f"expected a string, got {_kind(value)}"))
        return
    if t.min_length is not None and len(value) < t.min_length:
        out.append(Finding(pointer(*path), "schema.length", f"needs at least {t.min_length} characters"))
    if t.max_length is not None and len(value) > t.max_length:
        out.append(Finding(pointer(*path), "schema.length", f"takes at most {t.max_length} characters"))
    if t.pattern is not None and re.search(t.pattern, value) is None:
        out.append(Finding(pointer(*path), "schema.pattern", f"{value[:40]!r} does not match {t.pattern}"))


def _check_int(value: Any, t: mi.IntType, path: Path, out: list[Finding]) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        out.append(Finding(pointer(*path), "schema.type", f"expected an integer, got {_kind(value)}"))
        return
    if t.ge is not None and value < t.ge:
        out.append(Finding(pointer(*path), "schema.range", f"must be at least {t.ge}"))
    if t.le is not None and value > t.le:
        out.append(Finding(pointer(*path), "schema.range", f"must be at most {t.le}"))


def _check_decimal(value: Any, extra: dict[str, Any], path: Path, out: list[Finding]) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        out.append(
            Finding(pointer(*path), "decimal.not_string", f'money and masses are decimal strings: send "{value}"')
        )
        return
    if not isinstance(value, str):
        out.append(Finding(pointer(*path), "schema.type", f"expected a decimal string, got {_kind(value)}"))
        return
    if _DECIMAL.match(value) is None:
        out.append(Finding(pointer(*path), "decimal.format", f'{value[:40]!r} is not a plain decimal such as "12.50"'))
        return
    try:
        number = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes these
        out.append(Finding(pointer(*path), "decimal.format", f"{value[:40]!r} is not a decimal"))
        return
    if extra.get("decimal_exclusive") and number <= extra.get("decimal_min", Decimal(0)):
        out.append(Finding(pointer(*path), "decimal.range", "must be greater than 0"))
    maximum = extra.get("decimal_max")
    if maximum is not None and number > maximum:
        out.append(Finding(pointer(*path), "decimal.range", f"must be at most {maximum} (the contract's bound)"))


def _check_temporal(value: Any, t: mi.Type, path: Path, out: list[Finding]) -> None:
    target: type = dt.date if isinstance(t, mi.DateType) else dt.datetime
    label = "date (YYYY-MM-DD)" if target is dt.date else "date-time with offset (ISO 8601)"
    if not isinstance(value, str):
        out.append(Finding(pointer(*path), "schema.type", f"expected an ISO 8601 {label}, got {_kind(value)}"))
        return
    try:
        parsed: dt.date = msgspec.convert(value, target)
    except msgspec.ValidationError:
        out.append(Finding(pointer(*path), "date.format", f"{value[:40]!r} is not an ISO 8601 {label}"))
        return
    if isinstance(parsed, dt.datetime) and parsed.tzinfo is None:
        out.append(Finding(pointer(*path), "date.offset", "a date-time needs its UTC offset, for example +08:00"))


@lru_cache(maxsize=16)
def decimal_paths(tp: type) -> tuple[tuple[Path, tuple[tuple[str, Any], ...]], ...]:
    """Paths to every Decimal field of `tp` (`*` for any list index), each with its range metadata."""
    found: list[tuple[Path, tuple[tuple[str, Any], ...]]] = []

    def visit(t: mi.Type, path: Path, extra: tuple[tuple[str, Any], ...]) -> None:
        if isinstance(t, mi.Metadata):
            extra = tuple(sorted((t.extra or {}).items()))
            t = t.type
        if isinstance(t, mi.UnionType):
            for member in t.types:
                visit(member, path, extra)
        elif isinstance(t, mi.DecimalType):
            found.append((path, extra))
        elif isinstance(t, mi.StructType):
            for field in t.fields:
                visit(field.type, (*path, field.encode_name), ())
        elif isinstance(t, mi.ListType):
            visit(t.item_type, (*path, "*"), ())

    visit(_info(tp), (), ())
    return tuple(found)


def decimal_errors(raw: Any, tp: type) -> list[Finding]:
    """Decimal fields that are not plain decimal strings in range (msgspec alone accepts numbers)."""
    out: list[Finding] = []

    def walk(value: Any, rest: Path, done: Path, extra: dict[str, Any]) -> None:
        if not rest:
            if value is not None:
                _check_decimal(value, extra, done, out)
            return
        head, tail = rest[0], rest[1:]
        if head == "*":
            if isinstance(value, list):
                for index, element in enumerate(value):
                    walk(element, tail, (*done, index), extra)
        elif isinstance(value, dict) and head in value:
            walk(value[head], tail, (*done, head), extra)

    for path, extra in decimal_paths(tp):
        walk(raw, path, (), dict(extra))
    return out
