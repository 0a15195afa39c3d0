"""The demo's HTML report: what came in, what was rejected and why, how it was routed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

from clearway.pipeline.decision import LANES
from clearway.report import charts
from clearway.report.page import Chart, Page, Section, Table
from clearway.services.demo import DemoResult, counts_by


def _top(counter: Counter[str], n: int = 15) -> tuple[list[str], list[int]]:
    items = counter.most_common(n)
    return [k for k, _ in items], [v for _, v in items]


def build_page(result: DemoResult) -> Page:
    report = result.report
    decisions = report.decision_frame()
    assessed = decisions.height
    rejected = report.outcomes["rejected"]
    rate = report.submitted / report.seconds if report.seconds else 0.0
    lanes = counts_by(decisions, "lane")
    page = Page(
        title=f"Demo day {result.day.isoformat()}",
        subtitle=(
            f"{result.size:,} simulated consignments (seed {result.seed}), ingested, validated, stored and assessed."
        ),
        tiles=[
            ("submitted", f"{report.submitted:,}"),
            ("registered", f"{report.outcomes['registered'] + report.outcomes['amended']:,}"),
            ("rejected", f"{rejected:,} ({rejected / max(report.submitted, 1):.1%})"),
            ("stopped (yellow + red)", f"{lanes['yellow'] + lanes['red']:,}"),
            ("throughput", f"{rate:,.0f} / s"),
        ],
    )
    if assessed:
        channels = sorted(counts_by(decisions, "channel"))
        by = decisions.group_by("channel", "lane").len()
        series = {
            lane: [int(by.filter((pl.col("channel") == c) & (pl.col("lane") == lane))["len"].sum()) for c in channels]
            for lane in LANES
        }
        dest_labels, dest_values = _top(counts_by(decisions, "destination_country"))
        page.sections.append(
            Section(
                "Volumes and lanes",
                charts=[
                    Chart(
                        "Consignments by channel and lane",
                        charts.stacked("Consignments by channel and lane", channels, series),
                    ),
                    Chart(
                        "Consignments by destination",
                        charts.bar("Consignments by destination", dest_labels, dest_values),
                    ),
                ],
                tables=[Table("Lanes", ["lane", "consignments"], [[lane, f"{lanes[lane]:,}"] for lane in LANES])],
            )
        )
        eur = decisions.filter(pl.col("currency") == "EUR")["intrinsic_value"].cast(pl.Float64).to_list()
        if eur:
            under = sum(1 for v in eur if v <= 150)
            page.sections.append(
                Section(
                    "Declared values",
                    text=f"{under / len(eur):.1%} of consignments declared in EUR are at or under EUR 150.",
                    charts=[
                        Chart(
                            "Intrinsic value of EUR consignments",
                            charts.histogram(
                                "Intrinsic value, EUR consignments (up to 400)",
                                [v for v in eur if v <= 400],
                                marks={"EUR 150": 150},
                            ),
                        )
                    ],
                )
            )
        hits = Counter(r["code"] for reasons in decisions["reasons"].to_list() for r in reasons)
        hit_labels, hit_values = _top(hits)
        if hits:
            page.sections.append(
                Section(
                    "Risk profile hits",
                    charts=[
                        Chart(
                            "Hits per risk profile",
                            charts.bar("Hits per profile", hit_labels, hit_values, horizontal=True),
                        )
                    ],
                )
            )
    if assessed and "total_due" in decisions.columns:
        page.sections.append(_revenue_section(decisions))
    error_labels, error_values = _top(report.errors)
    warn_labels, warn_values = _top(report.warnings)
    quality = Section("Rejections and data quality", text="Every rejected submission is stored with its errors.")
    if report.errors:
        quality.charts.append(
            Chart(
                "Rejections by error code",
                charts.bar("Errors by code", error_labels, error_values, horizontal=True, color="#c62828"),
            )
        )
    if report.warnings:
        quality.charts.append(
            Chart(
                "Warnings by code",
                charts.bar(
                    "Data-quality warnings by code",
                    warn_labels,
                    warn_values,
                    horizontal=True,
                    color="#f9a825",
                ),
            )
        )
    page.sections.append(quality)
    by_violation = result.lanes_by_violation()
    if not by_violation.is_empty():
        columns = [c for c in ("green", "blue", "yellow", "red", "rejected") if c in by_violation.columns]
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


def _revenue_section(decisions: pl.DataFrame) -> Section:
    """Duties and taxes assessed, by currency and collection model (amounts due at import)."""
    money = decisions.filter(pl.col("total_due").is_not_null()).with_columns(
        [pl.col(c).cast(pl.Decimal(38, 2)) for c in ("duty", "vat", "total_due")]
    )
    by_model = (
        money.group_by("revenue_currency", "collection_model")
        .agg(pl.len().alias("n"), pl.col("duty").sum(), pl.col("vat").sum(), pl.col("total_due").sum())
        .sort("revenue_currency", "collection_model")
    )
    rows = [
        [
            f"{r['revenue_currency']} / {r['collection_model']}",
            f"{r['n']:,}",
            f"{r['duty']:,}",
            f"{r['vat']:,}",
            f"{r['total_due']:,}",
        ]
        for r in by_model.iter_rows(named=True)
    ]
    models = Counter(dict(money.group_by("collection_model").len().iter_rows()))
    labels, values = _top(models)
    return Section(
        "Duties and taxes",
        text=(
            "Amounts due at import, in each destination's currency; "
            "vendor-collected tax (IOSS and the like) is not due at the border."
        ),
        charts=[
            Chart(
                "Consignments by collection model",
                charts.bar("Consignments by collection model", labels, values, horizontal=True),
            )
        ],
        tables=[
            Table(
                "By currency and collection model", ["currency / model", "consignments", "duty", "tax", "total"], rows
            )
        ],
    )


def write_report(result: DemoResult, path: Path) -> Path:
    return build_page(result).write(path)
