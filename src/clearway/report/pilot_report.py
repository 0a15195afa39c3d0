"""The pilot's HTML report: one row per day, and how stops, precision and recall moved over the days."""

from __future__ import annotations

import math
from pathlib import Path

from clearway.demo.pilot import LET_THROUGH, PilotResult
from clearway.report import charts
from clearway.report.kpi_report import share
from clearway.report.page import Chart, Page, Section, Table
from clearway.sim.days import VALUE_FRAUD


def build_page(result: PilotResult) -> Page:
    days = [f"day {d.index}" for d in result.days]
    violations = sorted({v for d in result.days for v in d.recall})
    header = ["day", "date", "consignments", "stop rate", "precision of stops",
              "precision of targeted stops (the random sample left out)", "held for carrier or agency",
              "inspected", "found", "duty and tax demanded on what was found (EUR)",
              "duty and tax at risk on the parcels found (EUR, selectivity's estimate)",
              "non-compliance (random sample, 95%)",
              "model overnight", "sellers that changed scheme"]  # fmt: skip
    rows = []
    for d in result.days:
        rate, interval = d.non_compliance
        estimate = "–" if rate is None or interval is None else f"{rate:.1%} ({interval[0]:.1%} to {interval[1]:.1%})"
        rows.append([str(d.index), d.day.isoformat(), f"{d.consignments:,}", f"{d.stop_rate:.1%}", share(d.precision),
                     share(d.targeted_precision),
                     f"{d.referred:,}", f"{d.inspected:,}", f"{d.found:,}", f"{d.demanded:,.2f}",
                     f"{d.at_risk_found:,.2f}", estimate, d.model, str(d.shifts)])  # fmt: skip
    recall = Table("Recall by violation (stopped, or rejected at intake; a split order's part, "
                   "where a part of its order was stopped)", ["violation", *days],
                   [[v, *(share(d.recall.get(v)) for d in result.days)] for v in violations])  # fmt: skip
    held = Table("Held for the carrier or an agency instead of stopped, by violation (a carrier's or post's rule, "
                 "another agency's: no inspection of customs')", ["violation", *days],
                 [[v, *(share(d.held.get(v)) for d in result.days)] for v in violations
                  if any(d.held.get(v) for d in result.days)])  # fmt: skip
    goal = Table(
        "Recall 0.5 on every value-fraud type, in stops (at perfect precision; a split order takes one stop, the "
        "largest orders first), beside the room the day's capacity left once the law's mandatory stops and the "
        "random sample were made",
        ["day", "value-fraud parcels", "stops for half of each type", "the day's capacity", "mandatory stops",
         "random sample", "room left", "share of the room"],
        [[str(d.index), f"{sum(d.carried.get(v, 0) for v in VALUE_FRAUD):,}", f"{d.half_of_value_fraud:,}",
          f"{d.capacity:,}", f"{d.mandatory:,}", f"{d.sampled:,}", f"{d.room:,}",
          share(d.half_of_value_fraud / d.room if d.room else None)]
         for d in result.days],
    )  # fmt: skip
    through = Table(
        "Value fraud let through, by why (not flagged; flagged, but no hit asked for a stop; a stop released as "
        "unlikely on its record; a stop released beyond the day's capacity)",
        ["violation", "why", *days],
        [[v, why, *(f"{d.missed.get(v, {}).get(why, 0):,}" for d in result.days)]
         for v in VALUE_FRAUD for why in LET_THROUGH if any(d.missed.get(v, {}).get(why) for d in result.days)],
    )  # fmt: skip
    audited = Table(
        "Post-clearance audit: releases audited (blue-lane releases first), what was found, and the duty and tax "
        "demanded (EUR)",
        ["day", "audited", *VALUE_FRAUD, "other violations", "demanded"],
        [[str(d.index), f"{d.audited:,}", *(f"{d.audit_found.get(v, 0):,}" for v in VALUE_FRAUD),
          f"{sum(n for v, n in d.audit_found.items() if v not in VALUE_FRAUD):,}", f"{d.audit_demanded:,.2f}"]
         for d in result.days],
    )  # fmt: skip
    section = Section(
        "Day by day",
        text="Each day is ingested, the officers inspect every stop (the random sample first) and record what "
        "the simulator's labels say they find, the world's sellers learn who was caught, and a challenger model "
        "is trained overnight. Where a parcel's value or code was misstated, the officer enters the value or code "
        "found; the parcel is reassessed on it and what was short is demanded (a code that was too high is owed "
        "back instead). False gifts on a platform order and IOSS used above its ceiling are assessed as what they "
        "are from the start (no gift relief on an order, no IOSS above the vendor cutoff), so nothing is short; "
        "the parts of a split order are recorded as found, not reassessed as one consignment, so their duty and "
        "tax is in the estimate only.",
        tables=[
            Table("The days", header, rows),
            recall,
            held,
            through,
            goal,
            *([audited] if any(d.audited for d in result.days) else []),
        ],
    )
    section.charts.append(Chart("Stop rate and precision by day", charts.lines(
        "Stop rate and precision of stops", days,
        {"stop rate": [100 * d.stop_rate for d in result.days],
         "precision": [100 * (d.precision or 0.0) for d in result.days],
         "precision, targeted": [100 * (d.targeted_precision or 0.0) for d in result.days]}, ylabel="%")))  # fmt: skip
    section.charts.append(Chart("Recall of value fraud by day", charts.lines(
        "Recall of value fraud by type", days,
        {v: [100 * d.recall.get(v, math.nan) for d in result.days] for v in VALUE_FRAUD},  # a day with none: a gap
        ylabel="%")))  # fmt: skip
    demanded = {"on inspection": [float(d.demanded) for d in result.days]}
    if any(d.audited for d in result.days):
        demanded["on audit after release"] = [float(d.audit_demanded) for d in result.days]
    section.charts.append(Chart("Duty and tax demanded by day, on what was found (EUR)", charts.grouped(
        "Duty and tax demanded on what was found (EUR)", days, demanded)))  # fmt: skip
    return Page(
        title=f"Pilot: {len(result.days)} days of one world (seed {result.seed}, {result.size:,} parcels a day)",
        subtitle="Targeting as an administration runs it: capacity by expected value, hit rates measured "
        "from inspections, a model retrained overnight, fraud that adapts when it is caught.",
        sections=[section],
    )


def write_report(result: PilotResult, path: Path) -> Path:
    return build_page(result).write(path)
