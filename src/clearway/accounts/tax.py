"""What customs tells the tax agency about a month's imports (WCO E-Commerce Framework standard 12, the
EU's IOSS monitoring): per IOSS number and member state of consumption, the consignments imported under it
and their intrinsic value; and per seller and per platform, their import totals, for VAT audits. Pure: the
rows come in as a frame (one per consignment released in the month)."""

from __future__ import annotations

import polars as pl

IMPORTS = {
    "consignment_id": pl.String(), "scheme": pl.String(), "scheme_id": pl.String(), "member_state": pl.String(),
    "seller": pl.String(), "seller_country": pl.String(), "platform": pl.String(), "currency": pl.String(),
    "intrinsic_value": pl.Decimal(18, 2), "vat": pl.Decimal(18, 2),
}  # fmt: skip
"""One row per consignment imported (released) in the month: its fiscal scheme and id (none without one),
member state of consumption, seller, platform, and its intrinsic value and import VAT in the assessment's
currency."""


def tax_export(imports: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The month's tables, by name: `ioss` (per IOSS number and member state: consignments, intrinsic value),
    `sellers` and `platforms` (per seller or platform, member state and currency: consignments, value, VAT
    assessed at import)."""
    totals = [pl.len().alias("consignments"), pl.col("intrinsic_value").sum().alias("intrinsic_value")]
    ioss = (
        imports.filter(pl.col("scheme") == "ioss")
        .group_by("scheme_id", "member_state", "currency")
        .agg(totals)
        .rename({"scheme_id": "ioss_number"})
        .sort("ioss_number", "member_state", "currency")
    )
    per = [*totals, pl.col("vat").sum().alias("import_vat")]
    sellers = (
        imports.group_by("seller", "seller_country", "member_state", "currency").agg(per)
        .sort("seller", "seller_country", "member_state", "currency")
    )  # fmt: skip
    platforms = (
        imports.filter(pl.col("platform").is_not_null())
        .group_by("platform", "member_state", "currency").agg(per)
        .sort("platform", "member_state", "currency")
    )  # fmt: skip
    return {"ioss": ioss, "sellers": sellers, "platforms": platforms}
