"""The fields a risk profile may name, the batch columns behind them, and their kinds."""

from __future__ import annotations

from typing import Literal

import polars as pl

from clearway.pipeline.batch import BATCH_SCHEMA, ITEM_SCHEMA
from clearway.pipeline.derived import Derived

Kind = Literal["text", "code", "decimal", "integer", "codes"]  # codes: a list of codes (routing countries)

CONSIGNMENT_FIELDS: dict[str, tuple[str, Kind]] = {
    "submitter": ("submitter", "code"),
    "reference": ("reference", "code"),
    "channel": ("channel", "code"),
    "category": ("category", "code"),
    "transport_document.type": ("transport_document_type", "code"),
    "platform": ("platform", "code"),
    "seller.name": ("seller_name", "text"),
    "seller.country": ("seller_country", "code"),
    "seller.identifier": ("seller_identifier", "code"),
    "consignor.name": ("consignor_name", "text"),
    "consignor.country": ("consignor_country", "code"),
    "consignee.name": ("consignee_name", "text"),
    "consignee.city": ("consignee_city", "text"),
    "consignee.country": ("consignee_country", "code"),
    "fiscal.scheme": ("fiscal_scheme", "code"),
    "fiscal.id": ("fiscal_id", "code"),
    "dispatch_country": ("dispatch_country", "code"),
    "destination_country": ("destination_country", "code"),
    "currency": ("currency", "code"),
    "shipping_cost": ("shipping_cost", "decimal"),
    "insurance": ("insurance", "decimal"),
    "gross_mass_kg": ("gross_mass_kg", "decimal"),
    "intrinsic_value": ("intrinsic_value", "decimal"),
    "item_count": ("item_count", "integer"),
    "routing_countries": ("routing_countries", "codes"),
}

ITEM_FIELDS: dict[str, tuple[str, Kind]] = {
    "item.description": ("description", "text"),
    "item.hs_code": ("hs_code", "code"),
    "item.quantity": ("quantity", "integer"),
    "item.unit_price": ("unit_price", "decimal"),
    "item.value": ("value", "decimal"),
    "item.origin_country": ("origin_country", "code"),
    "item.net_mass_kg": ("net_mass_kg", "decimal"),
    "item.brand": ("brand", "text"),
    "item.gtin": ("gtin", "code"),
    "item.un_number": ("un_number", "code"),
}

FIELDS: dict[str, tuple[str, Kind]] = {**CONSIGNMENT_FIELDS, **ITEM_FIELDS}

assert all(column in BATCH_SCHEMA for column, _ in CONSIGNMENT_FIELDS.values())
assert all(column in ITEM_SCHEMA.to_schema() or column == "value" for column, _ in ITEM_FIELDS.values())


def column(name: str) -> str:
    """The column of the exploded item frame that holds field `name`."""
    return name if name in ITEM_FIELDS else CONSIGNMENT_FIELDS[name][0]


def normalised(name: str) -> str:
    return f"{column(name)}~norm"


def explode_items(batch: pl.DataFrame, text_fields: set[str]) -> pl.DataFrame:
    """One row per item with the consignment's columns beside it, plus normalised text where asked for.

    Several stages ask for the same batch: the frame is built once per batch (and each text normalised
    once), kept while the batch lives. A frame is immutable, so sharing it changes nothing for its readers.
    """
    frame = _EXPLODED.of(batch, _explode)
    missing = sorted(normalised(f) for f in text_fields if normalised(f) not in frame.columns)
    if missing:
        by_name = {normalised(f): f for f in text_fields}
        frame = _EXPLODED.put(
            batch, frame.with_columns([normalise_expr(pl.col(column(by_name[m]))).alias(m) for m in missing])
        )
    return frame


_EXPLODED: Derived[pl.DataFrame] = Derived()
"""Exploded frames by their batch."""


def _explode(batch: pl.DataFrame) -> pl.DataFrame:
    items = [pl.col("items").struct.field(c).alias(f) for f, (c, _) in ITEM_FIELDS.items() if c != "value"]
    value = (pl.col("item.unit_price") * pl.col("item.quantity").cast(pl.Decimal(38, 0))).alias("item.value")
    return (
        batch.lazy()
        .select([c for c, _ in CONSIGNMENT_FIELDS.values()] + ["key", "items"])
        .explode("items")
        .with_columns(items)
        .with_columns(value)
        .drop("items")
        .collect()
    )


def normalise_expr(expr: pl.Expr) -> pl.Expr:
    """The Polars twin of `model.codelists.normalise_text`: NFKC, case fold, accents off, punctuation to spaces."""
    return (
        expr.str.normalize("NFKC")
        .str.to_lowercase()
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.replace_all(r"[^\w]+", " ")
        .str.strip_chars()
    )
