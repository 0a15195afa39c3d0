"""Risk profiles as data: a small declarative language over consignment and item fields.

A profile file is YAML with a `profiles:` list. Each profile:

    id: DG-LIB-001                 # unique, upper case
    title: Lithium batteries shipped alone in the post
    basis: IATA DGR 2.4 ...        # why this profile exists (legal or operational source)
    valid_from: 2024-01-01         # optional window, valid_to exclusive
    valid_to: null
    weight: 80                     # 0..100: the analyst's prior hit rate, in %, until inspections measure it
    domain: safety                 # security, safety, fiscal, ipr, prohibitions or oga (data/risk/domains.yaml)
    mandatory: null                # or the law that makes the stop mandatory (only where the domain allows it)
    when: <condition>
    action: {referral: carrier}    # lane, referral and agency, as the domain allows
    documentation: what the officer checks

A condition is `{all: [...]}`, `{any: [...]}`, `{not: <condition>}` or a test on one field:
`{field: F, <op>: V}` with op one of eq, ne, in, not_in, gt, gte, lt, lte, between, prefix,
keywords, pattern, present. Keywords and patterns match the normalised text (lower case, accents and
punctuation folded); keywords match whole words, or anywhere for scripts without spaces. A profile
holds when some item of the consignment makes its condition true (consignment fields are the same for
every item). Every problem fails at load with the file and line, never at run time.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from clearway.errors import RuleFileError
from clearway.model.codelists import normalise_text
from clearway.model.vocabulary import DOMAINS, LANES, REFERRALS, Domain
from clearway.risk.domains import Domains
from clearway.risk.fields import FIELDS, column, normalised
from clearway.yaml_lines import LINE, line_of, load_with_lines

LANE_VALUES = LANES
_ID = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,39}$")
_PROFILE_KEYS = {
    "id",
    "title",
    "basis",
    "valid_from",
    "valid_to",
    "weight",
    "domain",
    "mandatory",
    "when",
    "action",
    "documentation",
}
_ACTION_KEYS = {"lane", "referral", "agency"}
_OPS: dict[str, set[str]] = {
    "eq": {"text", "code", "decimal", "integer"},
    "ne": {"text", "code", "decimal", "integer"},
    "in": {"text", "code", "integer"},
    "not_in": {"text", "code", "integer"},
    "gt": {"decimal", "integer"},
    "gte": {"decimal", "integer"},
    "lt": {"decimal", "integer"},
    "lte": {"decimal", "integer"},
    "between": {"decimal", "integer"},
    "prefix": {"code", "text"},
    "keywords": {"text"},
    "pattern": {"text"},
    "present": {"text", "code", "decimal", "integer", "codes"},
    "any": {"codes"},  # the list holds any of these codes
}


@dataclass(frozen=True)
class Action:
    lane: str | None
    referral: str | None
    agency: str | None


@dataclass(frozen=True)
class RiskProfile:
    id: str
    title: str
    basis: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    weight: float
    domain: Domain
    mandatory: str | None  # the law that makes the stop mandatory; None for a discretionary stop
    expression: pl.Expr
    action: Action
    documentation: str
    line: int | None

    def active_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class ProfileSet:
    profiles: tuple[RiskProfile, ...]
    text_fields: frozenset[str]
    source: str

    def by_id(self) -> dict[str, RiskProfile]:
        return {p.id: p for p in self.profiles}


def parse_profiles(text: str, source: str, domains: Domains) -> ProfileSet:
    """Parse and compile a profile file's text; `source` names it in errors. Each profile's action must be
    one its domain may take (`domains`)."""
    doc = load_with_lines(text, source)
    if not isinstance(doc, dict) or not isinstance(doc.get("profiles"), list):
        raise RuleFileError("a profile file is a mapping with a `profiles:` list", file=source, line=1)
    unknown = set(doc) - {"profiles", LINE}
    if unknown:
        raise RuleFileError(f"unknown top-level key {sorted(unknown)[0]!r}", file=source, line=line_of(doc))
    compiler = _Compiler(source, domains)
    profiles: list[RiskProfile] = []
    seen: dict[str, int | None] = {}
    for node in doc["profiles"]:
        profile = compiler.profile(node)
        if profile.id in seen:
            raise RuleFileError(
                f"profile id {profile.id} is used twice (first on line {seen[profile.id]})",
                file=source,
                line=profile.line,
            )
        seen[profile.id] = profile.line
        profiles.append(profile)
    return ProfileSet(tuple(profiles), frozenset(compiler.text_fields), source)


class _Compiler:
    def __init__(self, source: str, domains: Domains) -> None:
        self.source = source
        self.domains = domains
        self.text_fields: set[str] = set()

    def fail(self, message: str, node: Any, line: int | None = None) -> RuleFileError:
        return RuleFileError(message, file=self.source, line=line_of(node, line))

    def profile(self, node: Any) -> RiskProfile:
        if not isinstance(node, dict):
            raise self.fail("each profile is a mapping", node)
        line = line_of(node)
        unknown = set(node) - _PROFILE_KEYS - {LINE}
        if unknown:
            raise self.fail(f"unknown profile key {sorted(unknown)[0]!r}", node)
        for key in ("id", "title", "basis", "domain", "when", "action", "documentation"):
            if key not in node:
                raise self.fail(f"profile needs `{key}`", node)
        pid = node["id"]
        if not isinstance(pid, str) or not _ID.match(pid):
            raise self.fail(f"profile id {pid!r} must be upper-case letters, digits, '.', '_' or '-'", node)
        weight = node.get("weight", 50)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 100:
            raise self.fail(f"{pid}: weight must be a number from 0 to 100", node)
        valid_from, valid_to = (self.date(node.get(k), node, k) for k in ("valid_from", "valid_to"))
        if valid_from and valid_to and valid_to <= valid_from:
            raise self.fail(f"{pid}: valid_to must come after valid_from", node)
        for key in ("title", "basis", "documentation"):
            if not isinstance(node[key], str) or not node[key].strip():
                raise self.fail(f"{pid}: `{key}` must be a non-empty text", node)
        domain = node["domain"]
        if domain not in DOMAINS:
            raise self.fail(f"{pid}: domain {domain!r} is not one of {', '.join(DOMAINS)}", node)
        mandatory = node.get("mandatory")
        if mandatory is not None and (not isinstance(mandatory, str) or not mandatory.strip()):
            raise self.fail(f"{pid}: `mandatory` cites the law that makes the stop mandatory", node)
        action = self.action(node["action"], pid, line)
        refused = self.domains[domain].refuses(action.lane, action.referral, mandatory is not None)
        if refused:
            raise self.fail(f"{pid}: {refused} (see {self.domains.source})", node)
        if mandatory is not None and action.lane not in ("yellow", "red"):
            raise self.fail(f"{pid}: a mandatory stop asks for the yellow or red lane", node)
        return RiskProfile(
            id=pid,
            title=node["title"].strip(),
            basis=node["basis"].strip(),
            valid_from=valid_from,
            valid_to=valid_to,
            weight=float(weight),
            domain=domain,
            mandatory=" ".join(mandatory.split()) if mandatory else None,
            expression=self.condition(node["when"], line),
            action=action,
            documentation=node["documentation"].strip(),
            line=line,
        )

    def date(self, value: Any, node: Any, key: str) -> dt.date | None:
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return value
        raise self.fail(f"`{key}` must be a date (YYYY-MM-DD)", node)

    def action(self, node: Any, pid: str, line: int | None) -> Action:
        if not isinstance(node, dict):
            raise self.fail(f"{pid}: `action` is a mapping of lane, referral, agency", node, line)
        unknown = set(node) - _ACTION_KEYS - {LINE}
        if unknown:
            raise self.fail(f"{pid}: unknown action key {sorted(unknown)[0]!r}", node)
        lane, referral, agency = node.get("lane"), node.get("referral"), node.get("agency")
        if lane is not None and lane not in LANE_VALUES:
            raise self.fail(f"{pid}: lane {lane!r} is not one of {', '.join(LANE_VALUES)}", node)
        if referral is not None and referral not in REFERRALS:
            raise self.fail(f"{pid}: referral {referral!r} is not one of {', '.join(REFERRALS)}", node)
        if referral == "oga" and not agency:
            raise self.fail(f"{pid}: an `oga` referral names its agency", node)
        if lane is None and referral is None:
            raise self.fail(f"{pid}: the action sets a lane, a referral or both", node)
        return Action(lane, referral, agency)

    def condition(self, node: Any, line: int | None) -> pl.Expr:
        if not isinstance(node, dict):
            raise self.fail("a condition is a mapping (all, any, not, or field and operator)", node, line)
        line = line_of(node, line)
        keys = set(node) - {LINE}
        if keys in ({"all"}, {"any"}):
            (kind,) = keys
            parts = node[kind]
            if not isinstance(parts, list) or not parts:
                raise self.fail(f"`{kind}` takes a non-empty list of conditions", node)
            exprs = [self.condition(p, line) for p in parts]
            return pl.all_horizontal(exprs) if kind == "all" else pl.any_horizontal(exprs)
        if keys == {"not"}:
            return ~self.condition(node["not"], line)
        if "field" not in keys:
            raise self.fail(f"unknown condition {sorted(keys)}: use all, any, not or field", node)
        return self.leaf(node, line)

    def leaf(self, node: dict[str, Any], line: int | None) -> pl.Expr:
        name = node["field"]
        if name not in FIELDS:
            raise self.fail(f"unknown field {name!r}; known: {', '.join(sorted(FIELDS))}", node)
        ops = set(node) - {"field", LINE}
        if len(ops) != 1:
            raise self.fail(f"a field test has exactly one operator, got {sorted(ops) or 'none'}", node)
        (op,) = ops
        kind = FIELDS[name][1]
        if op not in _OPS:
            raise self.fail(f"unknown operator {op!r}; known: {', '.join(_OPS)}", node)
        if kind not in _OPS[op]:
            raise self.fail(f"operator {op!r} does not apply to {name} ({kind})", node)
        expr = self.test(name, kind, op, node[op], node)
        return expr.fill_null(False)

    def value(self, kind: str, value: Any, node: Any) -> Decimal | int | str:
        if kind == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise self.fail(f"{value!r} is not a number", node)
            try:
                return Decimal(str(value))
            except InvalidOperation as exc:
                raise self.fail(f"{value!r} is not a number", node) from exc
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(f"{value!r} is not a whole number", node)
            return value
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise self.fail(f"{value!r} is not a text", node)
        return str(value)

    def strings(self, value: Any, node: Any, what: str) -> list[str]:
        if isinstance(value, str | int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str | int) for v in value):
            raise self.fail(f"{what} takes a text or a non-empty list of texts", node)
        return [str(v) for v in value]

    def literal(self, kind: str, value: Any, node: Any) -> pl.Expr:
        raw = self.value(kind, value, node)
        return pl.lit(raw, dtype=pl.Decimal(38, 6)) if kind == "decimal" else pl.lit(raw)

    def test(self, name: str, kind: str, op: str, value: Any, node: Any) -> pl.Expr:
        col = pl.col(column(name))
        if op in ("eq", "ne"):
            lit = self.literal(kind, value, node)
            return col.eq(lit) if op == "eq" else col.ne(lit)
        if op in ("in", "not_in"):
            values = [self.value(kind, v, node) for v in (value if isinstance(value, list) else [value])]
            test = col.is_in(pl.Series(values).implode())
            return test if op == "in" else ~test
        if op in ("gt", "gte", "lt", "lte"):
            lit = self.literal(kind, value, node)
            return {"gt": col.gt, "gte": col.ge, "lt": col.lt, "lte": col.le}[op](lit)
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise self.fail("`between` takes [low, high], both included", node)
            low, high = (self.literal(kind, v, node) for v in value)
            return col.ge(low) & col.le(high)
        if op == "prefix":
            prefixes = self.strings(value, node, "prefix")
            if len(prefixes) == 1:
                return col.str.starts_with(prefixes[0])
            return col.str.contains("^(?:" + "|".join(re.escape(p) for p in prefixes) + ")")  # one test, not one each
        if op == "any":
            return col.list.set_intersection(pl.lit(self.strings(value, node, "any"))).list.len() > 0
        if op == "present":
            if not isinstance(value, bool):
                raise self.fail("`present` takes true or false", node)
            if kind == "codes":
                return col.list.len() > 0 if value else col.list.len() == 0
            return col.is_not_null() if value else col.is_null()
        self.text_fields.add(name)
        norm = pl.col(normalised(name))
        if op == "keywords":
            return norm.str.contains(keyword_pattern(self.strings(value, node, "keywords")))
        pattern = self.strings(value, node, "pattern")
        for p in pattern:
            try:
                pl.select(pl.lit("").str.contains(p))
            except pl.exceptions.PolarsError as exc:
                raise self.fail(f"pattern {p!r} does not compile: {str(exc).splitlines()[0]}", node) from exc
        return norm.str.contains("|".join(f"(?:{p})" for p in pattern))  # one regex, not one test a pattern


def keyword_pattern(keywords: list[str]) -> str:
    """One regex for a keyword list, over normalised text: whole words, or substrings for CJK scripts."""
    spaced: list[str] = []
    unspaced: list[str] = []
    for keyword in keywords:
        norm = normalise_text(keyword)
        if not norm:
            continue
        (unspaced if re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", norm) else spaced).append(re.escape(norm))
    parts = []
    if spaced:
        parts.append(r"(?:^|\s)(?:" + "|".join(spaced) + r")(?:\s|$)")
    if unspaced:
        parts.append("(?:" + "|".join(unspaced) + ")")
    return "|".join(parts) or "$^"
