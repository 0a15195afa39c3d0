"""Labelled history in clearway's columns: a column mapping (YAML) from any declaration export.

The canonical frame has `id`, `date`, `hs6`, `origin`, `departure`, `value`, `mass`, `tax_rate`, one
column per mapped category (`cat_<name>`) and per party (`party_<role>`), and `label` when there is one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from clearway.errors import InvalidInput, RuleFileError
from clearway.yaml_lines import LINE, load_with_lines

REQUIRED = ("id", "date", "hs6", "origin", "value", "mass")
OPTIONAL = ("departure", "tax_rate")


@dataclass(frozen=True)
class Mapping:
    name: str
    columns: dict[str, str]  # canonical -> source column
    categories: dict[str, str]
    parties: dict[str, str]
    never: frozenset[str]

    def sources(self) -> set[str]:
        return {*self.columns.values(), *self.categories.values(), *self.parties.values()}


def parse_mapping(text: str, source: str) -> Mapping:
    doc = load_with_lines(text, source)
    if not isinstance(doc, dict):
        raise RuleFileError("a column mapping is a YAML mapping", file=source, line=1)
    missing = [k for k in REQUIRED if not isinstance(doc.get(k), str)]
    if missing:
        raise RuleFileError(f"the mapping needs the columns {', '.join(missing)}", file=source, line=doc[LINE])
    known = {"name", "categories", "parties", "never", LINE, *REQUIRED, *OPTIONAL}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise RuleFileError(f"unknown keys {unknown}", file=source, line=doc[LINE])
    columns = {k: str(doc[k]) for k in (*REQUIRED, *OPTIONAL) if doc.get(k)}
    categories = {k: str(v) for k, v in (doc.get("categories") or {}).items() if k != LINE}
    parties = {k: str(v) for k, v in (doc.get("parties") or {}).items() if k != LINE}
    never = frozenset(str(v) for v in doc.get("never") or [])
    used = {*columns.values(), *categories.values(), *parties.values()} & never
    if used:
        raise RuleFileError(f"{sorted(used)} leak the label and cannot be features", file=source, line=doc[LINE])
    return Mapping(str(doc.get("name") or source), columns, categories, parties, never)


def _number(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)


def to_history(raw: pl.DataFrame, mapping: Mapping, label: str | None) -> pl.DataFrame:
    """The source frame (every column text) in canonical columns; a column the mapping names but the data
    lacks is a clear error naming it."""
    wanted = mapping.sources() | ({label} if label else set())
    missing = sorted(wanted - set(raw.columns))
    if missing:
        raise InvalidInput(f"the data has no column {', '.join(repr(m) for m in missing)} (mapping {mapping.name})")
    if label in mapping.never or (label and label in mapping.sources()):
        raise InvalidInput(f"{label!r} cannot be both the label and a feature")
    c = mapping.columns
    exprs: list[pl.Expr] = [
        pl.col(c["id"]).alias("id"),
        pl.col(c["date"]).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).alias("date"),
        pl.col(c["hs6"]).str.strip_chars().str.zfill(6).str.slice(0, 6).alias("hs6"),
        pl.col(c["origin"]).alias("origin"),
        (pl.col(c["departure"]) if "departure" in c else pl.lit(None, dtype=pl.String)).alias("departure"),
        _number(c["value"]).alias("value"),
        _number(c["mass"]).alias("mass"),
        (_number(c["tax_rate"]) if "tax_rate" in c else pl.lit(None, dtype=pl.Float64)).alias("tax_rate"),
        *[pl.col(source).alias(f"cat_{name}") for name, source in mapping.categories.items()],
        *[pl.col(source).alias(f"party_{role}") for role, source in mapping.parties.items()],
    ]
    if label:
        exprs.append(_number(label).cast(pl.Int8, strict=False).alias("label"))
    frame = raw.select(exprs)
    bad_dates = frame.filter(pl.col("date").is_null()).height
    if bad_dates:
        raise InvalidInput(f"{bad_dates} rows have no readable date in {c['date']!r} (YYYY-MM-DD)")
    if label and frame.filter(~pl.col("label").is_in([0, 1])).height:
        raise InvalidInput(f"the label {label!r} must be 0 or 1 on every row")
    return frame


def duty_at_risk(frame: pl.DataFrame) -> pl.Series:
    """Value times tax rate: the revenue a fraud on the row puts at risk (0 where no rate is known)."""
    return (frame["value"].fill_null(0) * frame["tax_rate"].fill_null(0) / 100).alias("duty_at_risk")


def date_range(frame: pl.DataFrame) -> tuple[dt.date, dt.date]:
    return frame["date"].min(), frame["date"].max()  # type: ignore[return-value]


Row = dict[str, Any]
