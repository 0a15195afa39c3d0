"""Priority control areas: risks the administration subjects to increased controls for a period.

The Union Customs Code lets the Commission and the Member States set common priority control areas (UCC
art. 46(3)); the former Implementing Regulation (EEC) 2454/93 art. 4h named them: "particular customs-approved
treatments or uses, types of goods, traffic routes, modes of transport or economic operators that are subject
to increased levels of risk analysis and customs controls during a certain period". The European Court of
Auditors found the low-value consignment relief abused by undervaluation, split consignments, sales declared
as gifts and goods ineligible for it (Special Report 12/2019, e-commerce), and controls that do not put the
risk first where Member States choose them alone (Special Report 04/2021, customs controls).

An area, in the selectivity settings (`priority_areas`), keeps a share of the day's targeted stops for its risks,
each named with the hits that signal it, among the parcels only its domain's hits ask to stop. Its stops are shared
among its risks in proportion to the infringements each one's flagged parcels are expected to hold that day (the
sum of the likelihoods of the discretionary stops its hits ask for, `flagged`), so that each risk's expected
infringements are found at the same rate: ranked by expected value alone, a cheap risk (an under-valued EUR
10 parcel) is never reached while a dear one fills the room (pilot seed 7000054, day 5: 2% of under-valued parcels
stopped, 78% of split orders). Shared by the number of candidates instead (the stops likely enough to be made),
each risk was stopped at the same rate but found at different ones: a risk whose hits flag many parcels below the
likelihood a stop needs (a low unit value, a seller's record) had fewer candidates than infringements, and was
found less often than the others (twelve held-out worlds, day 5: 41% of under-valued parcels stopped and 59% of
misclassified ones; shared by expected infringements, 44% and 56%, under-valuation up in 10 of the 12: `python -m
bench pilots`, 2026-12-06). Within a risk, the best expected value goes first. The area takes its share as the
day goes, pro rata of the consignments decided, so that a morning's batch does not spend the evening's. What the
area does not take stays with the rest of the day's stops, ranked by expected value.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from clearway.errors import RuleFileError
from clearway.yaml_lines import LINE, line_of

SEPARATOR = "/"
"""Between an area's code and one of its risks, in the label a stop is counted under ("PCA-LVC/undervaluation")."""


@dataclass(frozen=True)
class PriorityArea:
    """An area in force from `start` to `end` (inclusive; open-ended without one)."""

    code: str
    title: str
    share: float  # of the day's targeted stops
    risks: tuple[tuple[str, frozenset[str]], ...]  # each risk and the hit codes that signal it; the first wins
    domain: str  # the parcels it takes are those whose every hit asking to stop is of this domain
    start: dt.date
    end: dt.date | None
    basis: str

    def in_force(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def label(self, risk: str) -> str:
        return f"{self.code}{SEPARATOR}{risk}"


MAX_TEXT = 500
"""The longest title or basis an area may have: each stop it makes carries both in its reason."""


def parse_areas(doc: Any, source: str, line: int | None, domains: Collection[str]) -> tuple[PriorityArea, ...]:
    """The `priority_areas` list of the selectivity settings, over the risk `domains` known; errors name the file
    and the line."""
    if doc is None:
        return ()
    if not isinstance(doc, list):
        raise RuleFileError("priority_areas is a list of areas", file=source, line=line)
    areas: list[PriorityArea] = []
    total = 0.0
    for entry in doc:
        at = line_of(entry) if isinstance(entry, dict) else line
        if not isinstance(entry, dict):
            raise RuleFileError("a priority area is a mapping", file=source, line=at)
        known = {"code", "title", "domain", "share", "risks", "from", "until", "basis"}
        if set(entry) - known - {LINE} or not {"code", "domain", "share", "risks", "from", "basis"} <= set(entry):
            raise RuleFileError(f"a priority area takes {', '.join(sorted(known))} (until and title optional)",
                                file=source, line=at)  # fmt: skip
        code, share, start, end = entry["code"], entry["share"], _day(entry["from"]), _day(entry.get("until"))
        if (not isinstance(code, str) or not code or len(code) > 64 or SEPARATOR in code
                or code in {a.code for a in areas}):  # fmt: skip
            raise RuleFileError(f"priority area code {code!r}: a name of its own, without {SEPARATOR!r}",
                                file=source, line=at)  # fmt: skip
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise RuleFileError(f"priority area {code}: share is a share of the day's stops, over 0 and at most 1",
                                file=source, line=at)  # fmt: skip
        if not isinstance(start, dt.date) or not (end is None or isinstance(end, dt.date) and end >= start):
            raise RuleFileError(f"priority area {code}: from and until are dates (YYYY-MM-DD), until not before from",
                                file=source, line=at)  # fmt: skip
        risks = entry["risks"]
        if not isinstance(risks, dict) or not set(risks) - {LINE}:
            raise RuleFileError(f"priority area {code}: risks maps each risk to the hit codes that signal it",
                                file=source, line=at)  # fmt: skip
        parsed: list[tuple[str, frozenset[str]]] = []
        for risk, codes in risks.items():
            if risk == LINE:
                continue
            if (not isinstance(risk, str) or SEPARATOR in risk or not isinstance(codes, list) or not codes
                    or not all(isinstance(c, str) and c for c in codes)):  # fmt: skip
                raise RuleFileError(f"priority area {code}: risk {risk!r} lists the hit codes that signal it",
                                    file=source, line=at)  # fmt: skip
            parsed.append((risk, frozenset(codes)))
        domain = entry["domain"]
        if not isinstance(domain, str) or domain not in domains:
            raise RuleFileError(f"priority area {code}: domain is one of {', '.join(sorted(domains))}", file=source,
                                line=at)  # fmt: skip
        basis, title = entry["basis"], entry.get("title", code)
        if not isinstance(basis, str) or not basis.strip() or len(basis) > MAX_TEXT:
            raise RuleFileError(f"priority area {code}: basis cites what sets it, in at most {MAX_TEXT} characters",
                                file=source, line=at)  # fmt: skip
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TEXT:
            raise RuleFileError(f"priority area {code}: title is a text of at most {MAX_TEXT} characters",
                                file=source, line=at)  # fmt: skip
        areas.append(PriorityArea(code, title.strip(), float(share), tuple(parsed), domain,
                                  start, end, basis.strip()))  # fmt: skip
        total += float(share)
    if total > 1 + 1e-9:
        raise RuleFileError("priority areas together keep more than the day's stops", file=source, line=line)
    return tuple(areas)


def _day(value: Any) -> Any:
    """A date and time read where a date is meant: its date (anything else is left for the checks)."""
    return value.date() if isinstance(value, dt.datetime) else value


@functools.lru_cache(maxsize=16)  # once per set of areas in force: built for each call, it cost 0.11 ms
def risk_of(areas: tuple[PriorityArea, ...]) -> pl.Expr:
    """Aggregated over one consignment's hits that ask to stop (a group of rows with `code` and `domain`): the label
    of the first area risk (in the settings' order) that one of them signals, where every one of them is of the
    area's domain, else null. A parcel that another domain's hit asks to stop (a counterfeit, priced low enough to
    look under-valued too) competes by its expected value, as it would without the area."""
    # the one domain of all of them (null where they are of several, or where one is of none)
    sole = pl.when(pl.col("domain").n_unique() == 1).then(pl.col("domain").first())
    found: pl.Expr = pl.lit(None, pl.String)
    for area in reversed(areas):
        signalled: pl.Expr = pl.lit(None, pl.String)
        for risk, codes in reversed(area.risks):
            shown = pl.col("code").is_in(sorted(codes)).any()
            signalled = pl.when(shown).then(pl.lit(area.label(risk))).otherwise(signalled)
        found = pl.when((sole == area.domain).fill_null(False)).then(pl.coalesce(signalled, found)).otherwise(found)
    return found


def allowance(
    areas: tuple[PriorityArea, ...],
    flagged: Mapping[str, float],
    tally: Mapping[str, tuple[float, int]],
    targeted: float,
    progress: float,
) -> dict[str, int]:
    """Stops each area risk may still make in a batch: its share of what its area may have spent by now
    (`progress` of the day's `targeted` stops), in proportion to the infringements its flagged parcels are
    expected to hold today (`tally`'s, then this batch's `flagged`: the sum of their likelihoods), less the stops
    it made before (`tally`: label -> (expected infringements flagged, stops)). The area's whole stops are
    apportioned by the largest remainders."""
    room: dict[str, int] = {}
    for area in areas:
        labels = [area.label(risk) for risk, _ in area.risks]
        seen = {label: tally.get(label, (0.0, 0))[0] + flagged.get(label, 0.0) for label in labels}
        total = sum(seen.values())
        if not total:
            continue
        spendable = area.share * targeted * min(1.0, progress)
        # in whole stops by the largest remainders (Hamilton's method), so that rounding keeps none of the area's
        # whole stops from it
        exact = {label: spendable * seen[label] / total for label in labels}
        due = {label: math.floor(share + 1e-9) for label, share in exact.items()}
        left = math.floor(spendable + 1e-9) - sum(due.values())
        for label in sorted(labels, key=lambda label: due[label] - exact[label])[: max(0, left)]:
            due[label] += 1
        for label in labels:
            room[label] = max(0, due[label] - tally.get(label, (0.0, 0))[1])
    return room
