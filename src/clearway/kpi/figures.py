"""The KPIs of cross-border e-commerce over one period (WCO Framework standard 14), as named tables.

Each function takes the period's records (`KpiInput`) and returns one table; `compute` returns them all,
in the order a report shows them. Money stays decimal; durations are minutes; shares are fractions.
"""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal

import polars as pl

from clearway.kpi import money
from clearway.kpi.inputs import MONEY, KpiInput
from clearway.kpi.stats import nearest_rank, wilson

DIMENSIONS = {"channel": "channel", "origin": "origin", "destination": "destination", "platform": "platform",
              "category": "category"}  # fmt: skip
PERCENTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}
TAX_TYPES = ("duty", "vat", "other", "vendor_tax")  # vendor_tax: charged at the sale, recorded against a scheme
COLLECTED = "released"  # duty and tax due at import are collected when the parcel is released
ZERO = pl.lit(Decimal(0)).cast(MONEY)


def volumes(data: KpiInput) -> pl.DataFrame:
    """Consignments received by channel, origin, destination, platform and category, with shares."""
    c = data.consignments
    parts = [
        c.group_by(pl.col(column).fill_null("(none)").alias("value"))
        .len("consignments")
        .with_columns(pl.lit(name).alias("dimension"))
        for name, column in DIMENSIONS.items()
    ]
    frame = pl.concat(parts) if parts else pl.DataFrame()
    return (
        frame.with_columns((pl.col("consignments") / max(c.height, 1)).alias("share"))
        .select("dimension", "value", "consignments", "share")
        .sort("dimension", "consignments", "value", descending=[False, True, False])
    )


def values(data: KpiInput) -> pl.DataFrame:
    """The distribution of declared intrinsic values, per currency of declaration."""
    return (
        data.consignments.filter(pl.col("value").is_not_null())
        .group_by("currency")
        .agg(
            pl.len().alias("consignments"),
            pl.col("value").sum().alias("total"),
            nearest_rank("value", 0.1).alias("p10"),
            nearest_rank("value", 0.5).alias("p50"),
            nearest_rank("value", 0.9).alias("p90"),
            pl.col("value").max().alias("max"),
        )
        .sort("consignments", "currency", descending=[True, False])
    )


def thresholds(data: KpiInput) -> pl.DataFrame:
    """Per jurisdiction and threshold, the share of assessed consignments at or under it (compared, as the
    jurisdiction compares, with the value its rule measures)."""
    joined = data.assessments.join(data.thresholds, on="rule", how="inner")
    return (
        joined.group_by("jurisdiction", "rule", "threshold", "amount", "threshold_currency")
        .agg(
            pl.len().alias("consignments"),
            (pl.col("threshold_value") <= pl.col("amount")).sum().alias("at_or_under"),
        )
        .with_columns((pl.col("at_or_under") / pl.col("consignments")).alias("share"))
        .rename({"threshold_currency": "currency"})
        .sort("jurisdiction", "rule", "threshold")
    )


def revenue(data: KpiInput) -> pl.DataFrame:
    """Duties and taxes assessed, and collected (on released consignments), by currency, collection model
    and tax type."""
    released = data.consignments.filter(pl.col("released_at").is_not_null())["id"]
    a = data.assessments.with_columns(pl.col("consignment_id").is_in(released.implode()).alias("collected"))
    long = a.unpivot(on=list(TAX_TYPES), index=["currency", "collection_model", "collected"],
                     variable_name="tax_type", value_name="amount")  # fmt: skip
    return (
        long.group_by("currency", "collection_model", "tax_type")
        .agg(
            pl.col("amount").sum().alias("assessed"),
            pl.col("amount").filter(pl.col("collected")).sum().alias(COLLECTED),
            (pl.col("amount") > 0).sum().alias("consignments"),
        )
        .with_columns(pl.col("assessed", COLLECTED).fill_null(ZERO).cast(MONEY))
        .filter(pl.col("consignments") > 0)
        .sort(
            "currency",
            "collection_model",
            pl.col("tax_type").replace_strict({t: i for i, t in enumerate(TAX_TYPES)}, return_dtype=pl.Int32),
        )  # fmt: skip
    )


def refunds(data: KpiInput) -> pl.DataFrame:
    """Refunds on returned goods, by currency and kind (paid out, or credited to a vendor scheme)."""
    return (
        data.refunds.group_by("currency", "kind")
        .agg(pl.len().alias("refunds"), pl.col("duty").sum(), pl.col("vat").sum(), pl.col("total").sum())
        .sort("currency", "kind")
    )


def release_times(data: KpiInput) -> pl.DataFrame:
    """Minutes from receipt to decision, from arrival to release, and from receipt to release."""
    c = data.consignments
    intervals = {
        "receipt to decision": (pl.col("decided_at") - pl.col("received_at")),
        "arrival to release": (pl.col("released_at") - pl.col("arrived_at")),
        "receipt to release": (pl.col("released_at") - pl.col("received_at")),
    }
    rows = []
    for name, span in intervals.items():
        minutes = c.select((span.dt.total_microseconds() / 60_000_000).alias("m")).drop_nulls()
        figures = minutes.select(
            pl.len().alias("consignments"), *(nearest_rank("m", q).alias(k) for k, q in PERCENTILES.items())
        ).row(0, named=True)
        rows.append({"interval": name, **figures})
    schema = {"interval": pl.String, "consignments": pl.Int64} | {k: pl.Float64 for k in PERCENTILES}
    return pl.DataFrame(rows, schema=schema)


def _selections(data: KpiInput) -> pl.DataFrame:
    """(consignment, group, key) for every reason that selects, plus the lane of each decision."""
    r = data.reasons
    band = pl.col("code").str.strip_prefix("MODEL-").str.to_lowercase()
    grouped = r.with_columns(
        pl.when(pl.col("code") == "RANDOM").then(pl.lit("random selection"))
        .when(pl.col("code") == "MODEL-EXPLORE").then(pl.lit("model band"))
        .when(pl.col("source") == "rule").then(pl.lit("profile"))
        .when(pl.col("source") == "detector").then(pl.lit("detector"))
        .when(pl.col("source") == "screening").then(pl.lit("screening"))
        .when(pl.col("source") == "model").then(pl.lit("model band"))
        .otherwise(None).alias("group"),
        pl.when(pl.col("code") == "RANDOM").then(pl.lit("random"))
        .when(pl.col("code") == "MODEL-EXPLORE").then(pl.lit("exploration"))
        .when(pl.col("source") == "screening").then(pl.lit("watch-list match"))
        .when(pl.col("source") == "model").then(band)
        .otherwise(pl.col("code")).alias("key"),
    ).filter(pl.col("group").is_not_null())  # fmt: skip
    lanes = data.consignments.filter(pl.col("lane").is_not_null()).select(
        pl.col("id").alias("consignment_id"), pl.lit("lane").alias("group"), pl.col("lane").alias("key")
    )
    return pl.concat([grouped.select("consignment_id", "group", "key"), lanes]).unique()


def _outcomes(data: KpiInput) -> pl.DataFrame:
    """Per inspected consignment: whether any inspection found an infringement."""
    return data.inspections.group_by("consignment_id").agg(
        (pl.col("outcome") == "infringement").any().alias("infringement")
    )


def hit_rates(data: KpiInput) -> pl.DataFrame:
    """Per profile, detector, screening, model band, lane and random selection: consignments selected,
    inspected, found infringing, and the hit rate (infringing / inspected)."""
    joined = _selections(data).join(_outcomes(data), on="consignment_id", how="left")
    order = {g: i for i, g in enumerate(("lane", "profile", "detector", "screening", "model band",
                                         "random selection"))}  # fmt: skip
    return (
        joined.group_by("group", "key")
        .agg(
            pl.len().alias("selected"),
            pl.col("infringement").is_not_null().sum().alias("inspected"),
            pl.col("infringement").fill_null(False).sum().alias("infringements"),
        )
        .with_columns(
            pl.when(pl.col("inspected") > 0).then(pl.col("infringements") / pl.col("inspected")).alias("hit_rate")
        )
        .sort(pl.col("group").replace_strict(order, return_dtype=pl.Int32), "key")
    )


def under_review(hit_rates: pl.DataFrame, floor: float, minimum: int) -> pl.DataFrame:
    """Profiles, detectors and model bands inspected at least `minimum` times whose hit rate is below `floor`:
    the criteria to retire or re-weight (ASYCUDA's selectivity review)."""
    return hit_rates.filter(
        pl.col("group").is_in(["profile", "detector", "model band"])
        & (pl.col("inspected") >= minimum)
        & (pl.col("hit_rate") < floor)
    ).sort("hit_rate", "key")


def random_selection(data: KpiInput) -> pl.DataFrame:
    """The hit rate of random selections, with its 95% interval: the unbiased estimate of non-compliance."""
    rows = hit_rates(data).filter(pl.col("group") == "random selection")
    selected, inspected, hits = (int(rows[c].sum()) for c in ("selected", "inspected", "infringements"))
    interval = wilson(hits, inspected)
    return pl.DataFrame(
        {
            "selected": [selected], "inspected": [inspected], "infringements": [hits],
            "rate": [hits / inspected if inspected else None],
            "low_95": [interval[0] if interval else None], "high_95": [interval[1] if interval else None],
        },
        schema={"selected": pl.Int64, "inspected": pl.Int64, "infringements": pl.Int64, "rate": pl.Float64,
                "low_95": pl.Float64, "high_95": pl.Float64},
    )  # fmt: skip


LIKELIHOOD_BANDS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)
"""The bands of stated likelihood `calibration` sets beside what inspections found (the last includes 1)."""


def calibration(data: KpiInput) -> pl.DataFrame:
    """Selectivity's likelihood against what inspections found: per band of the likelihood the latest decision
    stated, the consignments inspected, the mean likelihood stated, those found infringing, and the share found
    with its 95% interval (Wilson). A stop said to be 70% likely should find something about seven times in
    ten: where a band's interval leaves out what it stated, the likelihoods mislead the ranking, and the
    officers who read them. The random sample fills the low bands: it is inspected whatever its risk."""
    inspected = (
        data.consignments.select(pl.col("id").alias("consignment_id"), "likelihood")
        .drop_nulls("likelihood")
        .join(_outcomes(data), on="consignment_id")
    )
    rows: list[dict[str, object]] = []
    for low, high in itertools.pairwise(LIKELIHOOD_BANDS):
        last = high == LIKELIHOOD_BANDS[-1]
        band = inspected.filter((pl.col("likelihood") >= low) & ((pl.col("likelihood") <= high) if last
                                                                 else (pl.col("likelihood") < high)))  # fmt: skip
        found = int(band["infringement"].sum())
        interval = wilson(found, band.height)
        rows.append({
            "likelihood": f"{low:.0%}-{high:.0%}", "inspected": band.height,
            "stated": band["likelihood"].mean() if band.height else None, "infringements": found,
            "rate": found / band.height if band.height else None,
            "low_95": interval[0] if interval else None, "high_95": interval[1] if interval else None,
        })  # fmt: skip
    return pl.DataFrame(rows, schema={"likelihood": pl.String, "inspected": pl.Int64, "stated": pl.Float64,
                                      "infringements": pl.Int64, "rate": pl.Float64, "low_95": pl.Float64,
                                      "high_95": pl.Float64})  # fmt: skip


def data_quality(data: KpiInput) -> pl.DataFrame:
    """Per submitter: submissions, rejections and their most frequent error, warnings per accepted
    submission, amendments; and timeliness: hours of advance notice before arrival, late filings."""
    s = data.submissions.with_columns((pl.col("outcome") == "rejected").alias("rejected"))
    errors = (
        s.filter("rejected").explode("errors").drop_nulls("errors")
        .group_by("submitter", "errors").len()
        .sort("len", "errors", descending=[True, False])
        .group_by("submitter", maintain_order=True).first()
        .select("submitter", pl.col("errors").alias("top_error"))
    )  # fmt: skip
    quality = (
        s.group_by("submitter")
        .agg(
            pl.len().alias("submissions"),
            pl.col("rejected").sum().alias("rejected"),
            (pl.col("outcome") == "amended").sum().alias("amended"),
            pl.col("warnings").filter(~pl.col("rejected")).sum().alias("warnings"),
            (~pl.col("rejected")).sum().alias("accepted"),
        )
        .with_columns(
            (pl.col("rejected") / pl.col("submissions")).alias("rejected_share"),
            pl.when(pl.col("accepted") > 0)
            .then(pl.col("warnings") / pl.col("accepted"))
            .alias("warnings_per_accepted"),
        )
        .join(errors, on="submitter", how="left")
    )  # fmt: skip
    arrival = pl.coalesce("arrived_at", "expected_arrival")
    notice = data.consignments.with_columns(
        ((arrival - pl.col("received_at")).dt.total_microseconds() / 3_600_000_000).alias("notice_hours")
    )
    timeliness = notice.group_by("submitter").agg(
        pl.col("notice_hours").is_not_null().sum().alias("with_arrival"),
        nearest_rank("notice_hours", 0.5).alias("notice_hours_p50"),
        (pl.col("notice_hours") < 0).sum().alias("filed_after_arrival"),
    )
    columns = ["submitter", "submissions", "accepted", "rejected", "rejected_share", "top_error", "amended",
               "warnings_per_accepted", "with_arrival", "notice_hours_p50", "filed_after_arrival"]  # fmt: skip
    return (
        quality.join(timeliness, on="submitter", how="full", coalesce=True)
        .with_columns(
            pl.col("submissions", "accepted", "rejected", "amended", "with_arrival", "filed_after_arrival").fill_null(0)
        )  # fmt: skip
        .select(columns)
        .sort("submitter")
    )


def rejections(data: KpiInput) -> pl.DataFrame:
    """Rejected submissions by error code (a submission with several errors counts under each)."""
    return (
        data.submissions.filter(pl.col("outcome") == "rejected")
        .select(pl.col("errors").list.unique().alias("code")).explode("code").drop_nulls()
        .group_by("code").len("submissions")
        .sort("submissions", "code", descending=[True, False])
    )  # fmt: skip


OPEN = ("registered", "assessed", "held", "inspected", "assessment_failed")


def reconciliation(data: KpiInput) -> pl.DataFrame:
    """What arrived against what was filed, per kind of master: manifests and houses filed in the period,
    houses arrived, houses arrived with no filing (still none), houses not arrived; and filings of the period
    not arrived `arrival_grace` after their declared arrival (as of the period's end)."""
    h = data.houses
    per_master = (
        h.group_by("master_type")
        .agg(
            pl.col("manifest_id").n_unique().alias("manifests"),
            pl.len().alias("houses"),
            (pl.col("state") == "arrived").sum().alias("arrived"),
            (pl.col("state") == "arrived_without_data").sum().alias("arrived_without_data"),
            (pl.col("state") == "expected").sum().alias("not_arrived"),
        )
        .rename({"master_type": "what"})
    )
    c = data.consignments
    late = c.filter(
        pl.col("expected_arrival").is_not_null()
        & (pl.col("expected_arrival") + pl.lit(data.arrival_grace) < pl.lit(data.period.until))
        & pl.col("arrived_at").is_null()
        & pl.col("status").is_in(OPEN)
    ).height
    filings = pl.DataFrame({"what": ["filings"], "manifests": [None], "houses": [None], "arrived": [None],
                            "arrived_without_data": [None], "not_arrived": [late]},
                           schema=per_master.schema)  # fmt: skip
    return pl.concat([per_master.sort("what"), filings])


ALERT_PREFIX = "ALERT:"
EXPORT_PREFIX = "DET-EXPORT-"


def cooperation(data: KpiInput) -> pl.DataFrame:
    """Risk alerts per direction and partner: issued or received in the period, hit (for received ones, an
    infringement found here on a consignment it selected; for issued ones, as the partner reported), and
    expired in the period."""
    period = data.period
    codes = (
        data.reasons.filter(pl.col("code").str.starts_with(ALERT_PREFIX))
        .join(_outcomes(data).filter("infringement"), on="consignment_id")
        .select(pl.col("code").str.split(":").list.get(1).alias("partner"),
                pl.col("code").str.split(":").list.slice(2).list.join(":").alias("alert_id"))
        .unique()
        .with_columns(pl.lit(True).alias("found_here"))
    )  # fmt: skip
    alerts = data.alerts.join(codes, on=["partner", "alert_id"], how="left")
    recorded = pl.col("recorded_at").is_between(period.since, period.until, closed="left")
    hit = pl.when(pl.col("direction") == "out").then(pl.col("reported_found").fill_null(0) > 0).otherwise(
        pl.col("found_here").fill_null(False))  # fmt: skip
    return (
        alerts.group_by("direction", "partner")
        .agg(
            recorded.sum().alias("alerts"),
            (recorded & hit).sum().alias("hit"),
            pl.col("expires_at").is_between(period.since, period.until, closed="left").sum().alias("expired"),
        )
        .with_columns(pl.col("direction").replace_strict({"out": "issued", "in": "received"}, default=None))
        .sort("direction", "partner")
    )


def partner_findings(data: KpiInput) -> pl.DataFrame:
    """Infringements found on consignments a partner's alert or export record selected, per source and
    currency: consignments, their declared value (in `currency`), and the duty and tax assessed on them (in
    `tax_currency`, the destination's)."""
    selected = data.reasons.select(
        "consignment_id",
        pl.when(pl.col("code").str.starts_with(ALERT_PREFIX)).then(pl.lit("partner alert"))
        .when(pl.col("code").str.starts_with(EXPORT_PREFIX)).then(pl.lit("partner export record"))
        .alias("source"),
    ).drop_nulls("source").unique()  # fmt: skip
    taxes = data.assessments.select("consignment_id", (pl.col("duty") + pl.col("vat") + pl.col("other")).alias("tax"),
                                    pl.col("currency").alias("tax_currency"))  # fmt: skip
    return (
        selected.join(_outcomes(data).filter("infringement"), on="consignment_id")
        .join(data.consignments.select(pl.col("id").alias("consignment_id"), "currency", "value"), on="consignment_id")
        .join(taxes, on="consignment_id", how="left")
        .group_by("source", "currency", "tax_currency")
        .agg(pl.len().alias("consignments"), pl.col("value").sum().alias("declared_value"),
             pl.col("tax").sum().alias("duty_and_tax"))
        .sort("source", "currency", "tax_currency", nulls_last=True)
    )  # fmt: skip


def dossiers(data: KpiInput) -> KpiInput:
    """The period counted by parcel: where several filers filed one transport document (a platform and a
    carrier), the first filer's filing stands for it, and the other filers' consignments and assessments are
    left out."""
    c = data.consignments
    if c["transport_document_id"].null_count() == c.height:
        return data
    first = (
        c.filter(pl.col("transport_document_id").is_not_null()).sort("received_at", "id")
        .group_by("transport_document_id", maintain_order=True).agg(pl.col("submitter").first().alias("_lead"))
    )  # fmt: skip
    others = (
        c.join(first, on="transport_document_id", how="inner")
        .filter(pl.col("submitter") != pl.col("_lead"))["id"]
        .implode()
    )  # a filer's own repeated tracking numbers stay its own consignments
    leads = c.filter(~pl.col("id").is_in(others))
    return dataclasses.replace(
        data, consignments=leads.sort("received_at", "id"),
        assessments=data.assessments.filter(~pl.col("consignment_id").is_in(others)),
        refunds=data.refunds.filter(~pl.col("consignment_id").is_in(others)),
        payables=data.payables.filter(~pl.col("consignment_id").is_in(others)),
    )  # fmt: skip


def compute(data: KpiInput) -> dict[str, pl.DataFrame]:
    """Every KPI table of the period, by name (the names of the exported files). Volumes, values, revenue
    and release times count parcels (one per dossier, `dossiers`); hit rates and data quality judge each
    filing."""
    parcels = dossiers(data)
    return {
        "volumes": volumes(parcels),
        "values": values(parcels),
        "thresholds": thresholds(parcels),
        "revenue": revenue(parcels),
        "refunds": refunds(parcels),
        "release_times": release_times(parcels),
        "hit_rates": hit_rates(data),
        "random_selection": random_selection(data),
        "calibration": calibration(data),
        "data_quality": data_quality(data),
        "rejections": rejections(data),
        "reconciliation": reconciliation(data),
        "cooperation": cooperation(data),
        "partner_findings": partner_findings(data),
        "money": money.money(parcels),
        "recoveries": money.recoveries(data),
        "appeals": money.appeals(data),
        "guarantees": money.guarantee_use(data),
    }
