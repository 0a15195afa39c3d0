"""The clearance policy as data: immediate release by channel and WCO Immediate Release Guidelines
category, the low-value ceilings, referral time limits and the worklist's service levels."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from clearway.errors import RuleFileError
from clearway.model.vocabulary import CHANNELS, LANES, REFERRALS
from clearway.yaml_lines import LINE, load_with_lines

ReleaseMode = Literal["at_assessment", "on_arrival", "manual", "full_declaration"]
IrgCategory = Literal["documents", "low_value_non_dutiable", "low_value_dutiable", "high_value"]
MODES: tuple[ReleaseMode, ...] = get_args(ReleaseMode)
CATEGORIES: tuple[IrgCategory, ...] = get_args(IrgCategory)
_KEYS = {"release", "secured", "high_value", "referral_hours", "service_hours", "full_declaration"}


@dataclass(frozen=True)
class Ceiling:
    currency: str
    above: Decimal
    source: str


@dataclass(frozen=True)
class ClearancePolicy:
    release: dict[str, dict[IrgCategory, ReleaseMode]]
    secured: frozenset[str]
    high_value: dict[str, Ceiling]
    referral_hours: dict[str, float]
    service_hours: dict[str, float]
    full_declaration: tuple[str, ...] = ()  # what a full declaration needs that the advance data does not hold

    def irg_category(self, category: str, assessment: dict[str, Any] | None) -> IrgCategory:
        """Documents; else high value above the jurisdiction's ceiling (or when nothing could be assessed);
        else low value, dutiable when anything is due at the border."""
        if category == "documents":
            return "documents"
        if assessment is None:
            return "high_value"  # no assessment, no basis for an immediate release
        ceiling = self.high_value.get(assessment["jurisdiction"])
        value = Decimal(str(assessment["threshold_value"]))
        if ceiling is None or ceiling.currency != assessment["threshold_currency"] or value > ceiling.above:
            return "high_value"
        due = Decimal(str(assessment["totals"]["total"]))
        return "low_value_dutiable" if due > 0 else "low_value_non_dutiable"

    def release_mode(self, channel: str, category: str, assessment: dict[str, Any] | None) -> ReleaseMode:
        irg = self.irg_category(category, assessment)
        mode = self.release.get(channel, {}).get(irg, "manual")
        if irg == "low_value_dutiable" and mode == "at_assessment":
            assert assessment is not None
            if assessment["collection_model"] not in self.secured:
                return "on_arrival"  # duties neither paid nor secured yet: collected on delivery
        return mode

    def missing(self, assessment: dict[str, Any] | None) -> list[str]:
        """What a parcel transferred to a full declaration lacks: why (its value against the ceiling), then
        what the declaration needs (`full_declaration` in the policy)."""
        if assessment is None:
            why = "no duty assessment could be made from the advance data"
        else:
            ceiling = self.high_value.get(assessment["jurisdiction"])
            value = f"{assessment['threshold_value']} {assessment['threshold_currency']}"
            if ceiling is None:
                why = f"no low-value ceiling applies to {assessment['jurisdiction']}"
            else:
                why = (f"its value, {value}, is above the low-value ceiling of {ceiling.above} {ceiling.currency} "
                       f"({ceiling.source})")  # fmt: skip
        return [why, *self.full_declaration]

    def referral_due(self, kind: str, opened_at: dt.datetime) -> dt.datetime | None:
        hours = self.referral_hours.get(kind)
        return None if hours is None else opened_at + dt.timedelta(hours=hours)


def parse_policy(text: str, source: str) -> ClearancePolicy:
    doc = load_with_lines(text, source)
    if not isinstance(doc, dict):
        raise RuleFileError("a clearance policy is a mapping", file=source, line=1)
    unknown = set(doc) - _KEYS - {LINE}
    if unknown:
        raise RuleFileError(f"unknown keys {sorted(unknown)}: expected {sorted(_KEYS)}", file=source, line=doc[LINE])
    release: dict[str, dict[IrgCategory, ReleaseMode]] = {}
    for channel, modes in _mapping(doc, "release", source).items():
        line = modes.get(LINE, doc[LINE]) if isinstance(modes, dict) else doc[LINE]
        if channel not in CHANNELS or not isinstance(modes, dict):
            raise RuleFileError(
                f"release: {channel!r} is not a channel ({', '.join(CHANNELS)})", file=source, line=line
            )
        entries = {k: v for k, v in modes.items() if k != LINE}
        if set(entries) != set(CATEGORIES) or not set(entries.values()) <= set(MODES):
            raise RuleFileError(
                f"release.{channel}: give each of {', '.join(CATEGORIES)} one of {', '.join(MODES)}",
                file=source, line=line,
            )  # fmt: skip
        release[channel] = entries
    ceilings = {}
    for entry in doc.get("high_value") or []:
        line = entry.get(LINE) if isinstance(entry, dict) else doc[LINE]
        try:
            ceiling = Ceiling(str(entry["currency"]), Decimal(str(entry["above"])), str(entry["source"]))
            jurisdiction = str(entry["jurisdiction"])
        except (KeyError, TypeError, InvalidOperation) as exc:
            raise RuleFileError(
                f"high_value: each entry needs jurisdiction, currency, above (a decimal) and source ({exc})",
                file=source, line=line,
            ) from exc  # fmt: skip
        if jurisdiction in ceilings:
            raise RuleFileError(f"high_value: {jurisdiction} given twice", file=source, line=line)
        ceilings[jurisdiction] = ceiling
    return ClearancePolicy(
        release=release,
        secured=frozenset(doc.get("secured") or []),
        high_value=ceilings,
        referral_hours=_hours(doc, "referral_hours", REFERRALS, source),
        service_hours=_hours(doc, "service_hours", LANES, source),
        full_declaration=_texts(doc, "full_declaration", source),
    )


def _texts(doc: dict[str, Any], key: str, source: str) -> tuple[str, ...]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RuleFileError(f"{key} is a list of texts", file=source, line=doc[LINE])
    return tuple(value)


def _mapping(doc: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise RuleFileError(f"{key} must be a mapping", file=source, line=doc[LINE])
    return {k: v for k, v in value.items() if k != LINE}


def _hours(doc: dict[str, Any], key: str, allowed: tuple[str, ...], source: str) -> dict[str, float]:
    entries = _mapping(doc, key, source)
    line = doc[key].get(LINE, doc[LINE])
    for name, hours in entries.items():
        if name not in allowed or not isinstance(hours, int | float) or hours <= 0:
            raise RuleFileError(
                f"{key}.{name}: a positive number of hours for one of {allowed}", file=source, line=line
            )
    return {name: float(hours) for name, hours in entries.items()}
