"""The KPIs that follow the money after the decision: what was assessed, collected (from payments, not
from releases), outstanding and overdue; demands and what they recovered, by what found them; refunds owed
and paid; appeals and their outcomes; and each guarantee's use. Figures by currency and collection model."""

from __future__ import annotations

import polars as pl

from clearway.kpi.inputs import MONEY, KpiInput

OPEN = ("open", "part_paid")
DEMANDS = ("demand", "penalty")


def _sum(condition: pl.Expr, value: pl.Expr) -> pl.Expr:
    return value.filter(condition).sum()


def money(data: KpiInput) -> pl.DataFrame:
    """By currency and collection model: assessed, collected (payments placed), outstanding and overdue (as
    of the period's end), demanded after inspections and audits and recovered on them, refunds owed back and
    paid out."""
    p = data.payables
    kind, amount, paid = pl.col("kind"), pl.col("amount"), pl.col("paid")
    still = pl.col("state").is_in(OPEN)
    figures = [
        _sum(kind == "assessment", amount).alias("assessed"),
        _sum(amount > 0, paid).alias("collected"),
        _sum(still, amount - paid).alias("outstanding"),
        _sum(still & (pl.col("due_on") < pl.lit(data.period.end)), amount - paid).alias("overdue"),
        _sum(kind.is_in(DEMANDS), amount).alias("demanded"),
        _sum(kind.is_in(DEMANDS), paid).alias("recovered"),
        _sum(kind == "refund", -amount).alias("refunds_owed"),
        _sum(kind == "refund", -paid).alias("refunded"),
        ((kind == "assessment") & (pl.col("state") != "cancelled")).sum().alias("payables"),  # not one replaced
    ]
    return (
        p.group_by("currency", "collection_model").agg(figures)
        .with_columns(pl.col(c).fill_null(0).cast(MONEY) for c in
                      ("assessed", "collected", "outstanding", "overdue", "demanded", "recovered", "refunds_owed",
                       "refunded"))
        .sort("currency", "collection_model")
    )  # fmt: skip


def recoveries(data: KpiInput) -> pl.DataFrame:
    """Revenue recovered by inspection and audit, by what selected the parcel (each reason of its decision,
    detector or profile): demands made, the amount demanded and what was paid on it, by currency. A parcel
    selected for several reasons counts under each."""
    demands = data.payables.filter(pl.col("kind").is_in(DEMANDS))
    reasons = data.reasons.select("consignment_id", "source", "code").unique()
    return (
        demands.join(reasons, on="consignment_id", how="left")
        .with_columns(pl.col("source", "code").fill_null("(no reason)"), pl.col("origin").fill_null("(unknown)"))
        .group_by("origin", "source", "code", "currency")
        .agg(pl.col("consignment_id").n_unique().alias("consignments"), pl.col("amount").sum().alias("demanded"),
             pl.col("paid").sum().alias("recovered"))
        .sort("origin", "demanded", "source", "code", descending=[False, True, False, False])
    )  # fmt: skip


def appeals(data: KpiInput) -> pl.DataFrame:
    """Appeals by where they stand: lodged, under review, upheld, annulled, partly annulled; against demands
    or decisions, and how many are past their review date."""
    a = data.appeals
    return (
        a.group_by("state")
        .agg(pl.len().alias("appeals"), pl.col("on_demand").sum().alias("against_demands"),
             pl.col("overdue").sum().alias("overdue"))
        .sort("state")
    )  # fmt: skip


def guarantee_use(data: KpiInput) -> pl.DataFrame:
    """Each guarantee: its ceiling, what is drawn on it now, the headroom left and the share used."""
    g = data.guarantees
    return g.with_columns(
        (pl.col("ceiling") - pl.col("drawn")).clip(lower_bound=0).cast(MONEY).alias("headroom"),
        pl.when(pl.col("ceiling") > 0).then(pl.col("drawn").cast(pl.Float64) / pl.col("ceiling").cast(pl.Float64))
        .otherwise(None).alias("used"),
    ).sort("holder", "currency")  # fmt: skip
