"""The demo's HTML report: what came in, what was rejected and why, how it was routed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

from clearway.demo.run import DemoResult, counts_by
from clearway.model.vocabulary import LANES
from clearway.report import charts
from clearway.report.kpi_report import build_page as kpi_page
from clearway.report.page import Chart, Page, Section, Table


def _top(counter: Counter[str], n: int = 15) -> tuple[list[str], list[int]]:
    items = counter.most_common(n)
    return [k for k, _ in items], [v for _, v in items]


def _transport(t: dict[str, int]) -> str:
    return (f"Carriers and posts filed {t['manifests']:,} manifests of {t['houses']:,} houses and reported them "
            f"arrived: {t['released']:,} parcels released on arrival, {t['before']:,} already released before it "
            f"(at assessment), {t['stayed']:,} stayed, {t['without_data']:,} houses came without data.")  # fmt: skip


def build_page(result: DemoResult) -> Page:
    """The period's KPI report, headed by what the run did, with the demo's own sections after it."""
    report = result.report
    rejected = report.outcomes["rejected"]
    rate = report.submitted / report.seconds if report.seconds else 0.0
    page = kpi_page(result.period, result.figures, title=f"Demo day {result.day.isoformat()}")
    page.subtitle = (
        f"{result.size:,} simulated consignments (seed {result.seed}), ingested, validated, stored and assessed; "
        f"the demo's officers inspected {result.inspected:,} held parcels. {_transport(result.transport)} "
        + page.subtitle
    )
    page.tiles = [
        ("submitted", f"{report.submitted:,}"),
        ("rejected", f"{rejected:,} ({rejected / max(report.submitted, 1):.1%})"),
        ("throughput", f"{rate:,.0f} / s"),
        *page.tiles,
    ]
    decisions = report.decision_frame()
    if not decisions.is_empty():
        channels = sorted(counts_by(decisions, "channel"))
        by = decisions.group_by("channel", "lane").len()
        series = {
            lane: [int(by.filter((pl.col("channel") == c) & (pl.col("lane") == lane))["len"].sum()) for c in channels]
            for lane in LANES
        }
        page.sections[0].charts.insert(
            0,
            Chart(
                "Consignments by channel and lane", charts.stacked("Consignments by channel and lane", channels, series)
            ),
        )
    if report.warnings:
        warn_labels, warn_values = _top(report.warnings)
        page.sections[-1].charts.append(
            Chart("Warnings by code", charts.bar("Data-quality warnings by code", warn_labels, warn_values,
                                                 horizontal=True, color="#f9a825"))
        )  # fmt: skip
    by_violation = result.lanes_by_violation()
    if not by_violation.is_empty():
        columns = [c for c in (*LANES, "rejected") if c in by_violation.columns]
        rows = []
        for row in by_violation.iter_rows(named=True):
            total = sum(row[c] for c in columns)
            stopped = sum(row.get(c, 0) for c in ("yellow", "red", "rejected"))
            rows.append([row["violation"], *[f"{row[c]:,}" for c in columns], f"{stopped / total:.0%}"])
        page.sections.append(
            Section(
                "Injected violations and where they went",
                text=(
                    "The simulator labels what it injects (labels.csv, beside the AED). "
                    "This is how the profiles of this run routed them."
                ),
                tables=[Table("Parcels per injected violation and lane", ["violation", *columns, "stopped"], rows)],
            )
        )
    return page


def write_report(result: DemoResult, path: Path) -> Path:
    return build_page(result).write(path)
