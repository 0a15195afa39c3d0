"""The KPI report of a period: one self-contained HTML page of charts and tables over the KPI tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from clearway.kpi import Period
from clearway.report import charts
from clearway.report.page import Chart, Page, Section, Table

TOP = 15  # the longest bar chart a page shows; the table and the export hold the rest


def cell(value: Any) -> str:
    """A figure as a reader wants it: thousands separated, shares as percentages, nothing as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01')):,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def duration(minutes: float | None) -> str:
    """Minutes in the unit a reader grasps: seconds under a minute, hours over two."""
    if minutes is None:
        return "–"
    if minutes < 1:
        return f"{minutes * 60:.1f} s"
    return f"{minutes:,.1f} min" if minutes < 120 else f"{minutes / 60:,.1f} h"


def _table(caption: str, frame: pl.DataFrame, shares: tuple[str, ...] = ()) -> Table:
    rows = [
        [share(v) if c in shares else cell(v) for c, v in zip(frame.columns, row, strict=True)]
        for row in frame.iter_rows()
    ]
    return Table(caption, [c.replace("_", " ") for c in frame.columns], rows)


def _volumes(figures: dict[str, pl.DataFrame]) -> Section:
    v = figures["volumes"]
    section = Section("Volumes", text="Consignments first received in the period, by each dimension.")
    for dimension in ("channel", "category", "origin", "destination", "platform"):
        part = v.filter(pl.col("dimension") == dimension).head(TOP)
        if part.height:
            title = f"Consignments by {dimension}"
            svg = charts.bar(title, part["value"].to_list(), part["consignments"].to_list(), horizontal=part.height > 6)
            section.charts.append(Chart(title, svg))
    section.tables.append(_table("Consignments per dimension", v, shares=("share",)))
    return section


def _values(figures: dict[str, pl.DataFrame]) -> Section:
    t = figures["thresholds"]
    section = Section(
        "Declared values and thresholds",
        text="Intrinsic values as declared, and the share of assessed consignments at or under each threshold of "
        "the rule applied (compared with the value that rule measures, in its currency).",
        tables=[_table("Intrinsic value per currency of declaration (nearest-rank percentiles)", figures["values"]),
                _table("Share at or under each threshold", t, shares=("share",))],
    )  # fmt: skip
    if t.height:
        labels = [
            f"{r['rule']} {r['threshold']} {r['currency']} {cell(r['amount'])}"
            for r in t.head(TOP).iter_rows(named=True)
        ]
        section.charts.append(Chart("Share at or under each threshold", charts.bar(
            "Share of consignments at or under the threshold (%)", labels, [100 * s for s in t.head(TOP)["share"]],
            horizontal=True)))  # fmt: skip
    return section


def _revenue(figures: dict[str, pl.DataFrame]) -> Section:
    r = figures["revenue"]
    section = Section(
        "Duties and taxes",
        text="Assessed on every decided consignment of the period, and the part of it on consignments released "
        "(what was paid is in the next section). vendor_tax is charged at the sale under a scheme (IOSS and the "
        "like) and recorded against the scheme's id.",
        tables=[_table("By currency, collection model and tax type", r),
                _table("Refunds made in the period", figures["refunds"])],
    )  # fmt: skip
    if r.height:
        main = r.group_by("currency").agg(pl.col("consignments").sum()).sort("consignments", descending=True)
        currency = main["currency"][0]
        part = r.filter(pl.col("currency") == currency)
        labels = [f"{m} {tax}" for m, tax in part.select("collection_model", "tax_type").iter_rows()]
        section.charts.append(Chart(f"Assessed, and assessed on released parcels, {currency}", charts.grouped(
            f"Assessed ({currency})", labels,
            {"assessed": [float(x) for x in part["assessed"]], "on released": [float(x) for x in part["released"]]},
        )))  # fmt: skip
    return section


def _money(figures: dict[str, pl.DataFrame]) -> Section:
    m = figures["money"]
    section = Section(
        "Money after the decision",
        text="What the period's parcels made owed and what was paid on it (payments matched, not releases): "
        "outstanding and overdue as of the period's end; demands after inspections and audits and what they "
        "recovered; refunds owed back and paid out; appeals; and each guarantee's use.",
        tables=[_table("By currency and collection model", m),
                _table("Revenue recovered by inspection and audit, by what selected the parcel", figures["recoveries"]),
                _table("Appeals", figures["appeals"]), _table("Guarantees", figures["guarantees"], ("used",))],
    )  # fmt: skip
    if m.height:
        labels = [f"{c} {model}" for c, model in m.select("currency", "collection_model").iter_rows()]
        section.charts.append(Chart("Assessed, collected and outstanding", charts.grouped(
            "Assessed, collected and outstanding", labels,
            {name: [float(x) for x in m[name]] for name in ("assessed", "collected", "outstanding", "overdue")},
        )))  # fmt: skip
    return section


def _release(figures: dict[str, pl.DataFrame]) -> Section:
    t = figures["release_times"]
    section = Section(
        "Release times",
        text="Nearest-rank percentiles over the consignments that have both ends of each interval.",
        tables=[Table("Per interval", ["interval", "consignments", "p50", "p90", "p99"],
                      [[i, cell(n), *map(duration, ps)] for i, n, *ps in t.iter_rows()])],
    )  # fmt: skip
    if int(t["consignments"].sum()):
        series = {k: [v or 0.0 for v in t[k]] for k in ("p50", "p90", "p99")}
        section.charts.append(
            Chart("Release times", charts.grouped("Minutes at p50, p90, p99", t["interval"].to_list(), series))
        )
    return section


def _reconciliation(figures: dict[str, pl.DataFrame]) -> Section:
    r = figures["reconciliation"]
    late = r.filter(pl.col("what") == "filings")["not_arrived"].sum()
    without = r["arrived_without_data"].sum()
    return Section(
        "Arrival against advance data",
        text="Per kind of master (air waybill, road and rail notes, UPU despatch): manifests and houses filed in "
        f"the period, houses arrived, arrived with no filing ({without:,}) and not arrived; and filings of the "
        f"period whose parcel had not arrived a grace period after its declared arrival ({late:,}).",
        tables=[_table("Reconciliation", r)],
    )


def _targeting(figures: dict[str, pl.DataFrame]) -> Section:
    h = figures["hit_rates"]
    (selected, inspected, hits, rate, low, high), = figures["random_selection"].rows()  # fmt: skip
    if inspected:
        estimate = (
            f"Random selections: {inspected:,} of {selected:,} inspected, {hits:,} infringing: an estimated "
            f"{share(rate)} of traffic does not comply (95% interval {share(low)} to {share(high)})."
        )
    else:
        estimate = f"Random selections: {selected:,} selected, none inspected yet, so no estimate of non-compliance."
    section = Section(
        "Targeting",
        text="Hit rate: the share of inspected consignments where an infringement was found, per lane and per "
        "reason that selected them. " + estimate,
        tables=[_table("Hit rates", h, shares=("hit_rate",))],
    )
    review = figures.get("under_review")
    if review is not None and review.height:
        section.tables.append(_table("Under review: hit rate below the floor (retire or re-weight; dry-run it in "
                                     "the profile editor)", review, shares=("hit_rate",)))  # fmt: skip
    calibrated = figures.get("calibration")
    if calibrated is not None and int(calibrated["inspected"].sum()):
        section.tables.append(_table("Likelihood stated by selectivity against what inspections found (a band whose "
                                     "95% interval leaves out what it stated misleads the ranking)", calibrated,
                                     shares=("stated", "rate", "low_95", "high_95")))  # fmt: skip
        seen = calibrated.filter(pl.col("inspected") > 0)
        section.charts.append(Chart("Likelihood against what was found", charts.lines(
            "Stated likelihood and share found (%), by band", seen["likelihood"].to_list(),
            {"stated": [100 * x for x in seen["stated"]], "found": [100 * x for x in seen["rate"]]},
            ylabel="%")))  # fmt: skip
    inspected_rows = h.filter(pl.col("inspected") > 0).head(TOP * 2)
    if inspected_rows.height:
        labels = [f"{g}: {k}" for g, k in inspected_rows.select("group", "key").iter_rows()]
        section.charts.append(Chart("Hit rates", charts.bar("Hit rate (%)", labels,
                                                            [100 * x for x in inspected_rows["hit_rate"]],
                                                            horizontal=True)))  # fmt: skip
    return section


def _quality(figures: dict[str, pl.DataFrame]) -> Section:
    q, r = figures["data_quality"], figures["rejections"]
    section = Section(
        "Data quality and timeliness",
        text="Per submitter: submissions and rejections, warnings per accepted submission, and hours of notice "
        "between receipt and arrival (the reported arrival, else the announced one).",
        tables=[_table("Per submitter", q, shares=("rejected_share",)), _table("Rejections by error code", r)],
    )
    if q.height:
        section.charts.append(Chart("Rejected share per submitter", charts.bar(
            "Rejected submissions (%)", q["submitter"].to_list(), [100 * (x or 0) for x in q["rejected_share"]],
            horizontal=True, color="#c62828")))  # fmt: skip
    if r.height:
        part = r.head(TOP)
        section.charts.append(Chart("Rejections by error code", charts.bar(
            "Rejections by error code", part["code"].to_list(), part["submissions"].to_list(), horizontal=True,
            color="#c62828")))  # fmt: skip
    return section


def _cooperation(figures: dict[str, pl.DataFrame]) -> Section:
    alerts, found = figures["cooperation"], figures["partner_findings"]
    received = alerts.filter(pl.col("direction") == "received")
    text = (
        "Risk alerts exchanged with partner administrations (WCO Framework standard 12): issued here or received, "
        "those that led to a finding (here for received alerts; at the partner, by its feedback, for issued "
        "ones), and those that expired in the period. Below, the infringements found on consignments that a "
        "partner's alert or export record selected."
    )
    if not alerts.height and not found.height:
        text += " Nothing was exchanged in this period."
    elif received.height:
        text += (f" Received alerts: {int(received['alerts'].sum()):,}, of which {int(received['hit'].sum()):,} "
                 "led to a finding here.")  # fmt: skip
    return Section("Cooperation between administrations", text=text,
                   tables=[_table("Risk alerts", alerts), _table("Findings from partners' data", found)])  # fmt: skip


def tiles(figures: dict[str, pl.DataFrame]) -> list[tuple[str, str]]:
    v = figures["volumes"].filter(pl.col("dimension") == "channel")
    received = int(v["consignments"].sum())
    lanes = figures["hit_rates"].filter(pl.col("group") == "lane")
    stopped = int(lanes.filter(pl.col("key").is_in(["yellow", "red"]))["selected"].sum())
    decided = figures["release_times"].row(0, named=True)
    random = figures["random_selection"].row(0, named=True)
    return [
        ("consignments received", f"{received:,}"),
        ("stopped (yellow + red)", f"{stopped:,} ({share(stopped / received if received else None)})"),
        ("receipt to decision, p90", duration(decided["p90"])),
        ("non-compliance (random)", share(random["rate"])),
    ]


def build_page(period: Period, figures: dict[str, pl.DataFrame], *, title: str | None = None) -> Page:
    page = Page(
        title=title or f"Customs e-commerce KPIs, {period.start.isoformat()} to {period.end.isoformat()}",
        subtitle="WCO Framework of Standards on Cross-Border E-Commerce, standard 14: what flows, what is "
        "collected, how fast parcels are released and how well they are targeted. Every table is also exported.",
        tiles=tiles(figures),
    )
    page.sections += [_volumes(figures), _values(figures), _revenue(figures), _money(figures), _release(figures),
                      _reconciliation(figures),
                      _targeting(figures), _cooperation(figures), _quality(figures)]  # fmt: skip
    return page
