"""What the store remembers that a batch's stages need: gathered by the edge for each batch, passed in.

Detectors and the revenue stage stay pure: they read these frames from the `Context`, never the store.
Parties appear only as keyed hashes (risk/party_keys.py), so history outlives the erasure of names and
addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from clearway.cooperation.aeo import Operator

PARCELS: dict[str, pl.DataType] = {
    "key": pl.String(),  # the earlier consignment's id
    "destination_country": pl.String(),
    "currency": pl.String(),
    "value": pl.Float64(),  # intrinsic value, in `currency`
    "seller": pl.String(),  # the seller's keyed hash
    "who": pl.String(),  # the consignee's keyed hash
    "received_at": pl.Datetime("us", "UTC"),
}
"""Earlier parcels to the batch's consignees, within the split-shipment window."""

OFFENDERS: dict[str, pl.DataType] = {
    "role": pl.String(),  # seller, consignor, consignee, delivery_address
    "party_key": pl.String(),
    "infringements": pl.Int64(),  # earlier consignments where an inspection found an infringement
    "seizures": pl.Int64(),  # earlier consignments seized
    "kinds": pl.List(pl.String),  # what was found (counterfeit, undervaluation ...)
    "last_at": pl.Datetime("us", "UTC"),
}
"""The batch's parties (by role and key) that earlier consignments were found infringing or seized for."""

UNIT_VALUES: dict[str, pl.DataType] = {
    "hs6": pl.String(),
    "goods": pl.String(),  # a normalised description within the subheading; null for the whole subheading
    "median_log": pl.Float64(),  # of USD unit values: the median of each declarant's median
    "mad_log": pl.Float64(),  # of the lines around it
    "n": pl.UInt32(),  # lines
    "declarants": pl.UInt32(),  # sellers who declared them
}
"""The usual unit value per HS subheading and per description within it, from accepted history (lines no
inspection found wrong); the description's rows only where it has enough lines to be kept."""

DECLARED_VALUES: dict[str, pl.DataType] = {
    "hs6": pl.String(),
    "goods": pl.String(),  # the description whose usual value the lines were compared with, or null: the HS6's
    "declarant": pl.String(),  # the seller (`risk.detectors.declarant`)
    "median_log": pl.Float64(),  # of its USD unit values
    "n": pl.UInt32(),  # lines
    "low": pl.UInt32(),  # lines under half the usual value they were compared with (UNIT_VALUES)
}
"""The unit value each seller usually declares of the same goods, from the same accepted history."""


TEXTS: dict[str, pl.DataType] = {
    "text": pl.String(),  # a normalised description (`risk.fields.normalise_expr`)
    "chapter": pl.String(),  # the HS chapter it was declared under
    "n": pl.UInt32(),  # sellers whose accepted lines described it so (each counts once, however many lines)
}
"""How recent accepted lines (no inspection found them wrong) describe the goods of each HS chapter, from the
same history as UNIT_VALUES: the trade's own words, which the misclassification detector reads every batch
with, beside the nomenclature's, once they are enough to learn from."""


ASSESSED: dict[str, pl.DataType] = {
    "key": pl.String(),
    "destination_country": pl.String(),
    "who": pl.String(),  # the consignee's keyed hash
    "received_at": pl.Datetime("us", "UTC"),
    "rule": pl.String(),  # the jurisdiction rule its assessment applied
    "threshold_value": pl.Decimal(18, 4),  # what that rule compared with its thresholds, in its currency
}
"""Earlier assessments of the batch's consignees: of the same day (a jurisdiction that combines a consignee's
parcels of a day) and, where a rule has an annual limit, of the same calendar year."""


EXPORTS: dict[str, pl.DataType] = {
    "transport_document_id": pl.String(),
    "exporting_country": pl.String(),
    "partner": pl.String(),  # the administration that sent the record
    "currency": pl.String(),
    "value": pl.Float64(),  # the value declared at export, in `currency`
    "hs_codes": pl.List(pl.String),  # the goods as exported
    "descriptions": pl.List(pl.String),
}
"""Export records from partner administrations for the batch's transport documents."""


HIT_RATES: dict[str, pl.DataType] = {
    "code": pl.String(),  # a profile id, detector code, watch-list entry or model band
    "inspected": pl.Int64(),  # consignments that carried the hit and were inspected
    "found": pl.Int64(),  # of which an inspection found an infringement
    "alone_inspected": pl.Int64(),  # of those inspected, the ones where no other profile or detector hit (one
    # party's parcels counted at most `per_party` times: `services.history.HistoryGatherer.compute_records`)
    "alone_found": pl.Int64(),  # and of those, found infringing
    "alone_tried": pl.Int64(),  # the consignments inspected with it as their only hit, every one counted
}
"""Each hit's measured record. Selectivity blends the record of the hit on its own with the hit's prior: a hit
that mostly rides along with a stronger one would otherwise borrow that one's findings. Whether the record is
measured at all (`proven_after`) goes by every inspection (`alone_tried`); what it says goes by the capped
counts, so a detector whose findings all came from three sellers is measured, at the weight of three."""


COMBINATIONS: dict[str, pl.DataType] = {
    "signals": pl.String(),  # the profile, detector, watch-list and model codes a consignment had, sorted, `+`
    "inspected": pl.Int64(),  # one party's parcels counted at most `per_party` times
    "found": pl.Int64(),
    "tried": pl.Int64(),  # every consignment inspected with it counted
}
"""The record of each combination of hits: what selectivity trusts over its estimate from single hits once
inspections have tried it (a seller's record beside a split shipment is not two independent signals)."""


FILINGS: dict[str, pl.DataType] = {
    "transport_document_id": pl.String(),
    "other": pl.String(),  # the consignment id of another filing of the same parcel
    "filer": pl.String(),  # who filed it (another submitter: a platform, a carrier or post, a representative)
    "currency": pl.String(),
    "value": pl.Float64(),  # its intrinsic value, in `currency`
    "chapters": pl.List(pl.String),  # the HS chapters of its goods
    "consignee_key": pl.String(),  # its consignee's keyed hash
}
"""The other filings of the batch's parcels (same transport document, another filer), still open."""

AMENDED: dict[str, pl.DataType] = {
    "key": pl.String(),  # an amended consignment of the batch
    "earlier_currency": pl.String(),
    "earlier": pl.Float64(),  # the highest intrinsic value its earlier versions declared in that currency
    "refiled": pl.Boolean(),  # declared by a filing of the same parcel its filer withdrew (else: amended)
}
"""What the batch's consignments declared before, per currency: their own earlier versions, or the filings
of the same parcel (transport document) that the same filer withdrew."""

LOADING: dict[str, pl.DataType] = {
    "transport_document_id": pl.String(),
    "master": pl.String(),  # the air master waybill that lists the parcel
    "loaded_at": pl.Datetime("us", "UTC"),  # its declared time of loading
}
"""When the aircraft that carries a parcel was loaded, from the air manifests that list it (ICS2 wants the
advance data before loading)."""

ALERTS: dict[str, pl.DataType] = {
    "code": pl.String(),  # ALERT:<partner>:<alert id>, as the hit's code
    "partner": pl.String(),
    "alert": pl.String(),  # the alert's id at its issuer
    "kind": pl.String(),  # what the partner found (a finding kind)
    "issued_at": pl.Datetime("us", "UTC"),
    "expires_at": pl.Datetime("us", "UTC"),
    "hs_prefixes": pl.List(pl.String),
    "keywords": pl.List(pl.String),  # normalised as `risk/fields.normalise_expr` does
    "brands": pl.List(pl.String),  # normalised alike
    "dispatch_country": pl.String(),
    "destination_country": pl.String(),
    "origin_country": pl.String(),
    "value_currency": pl.String(),
    "value_at_most": pl.Float64(),
}
"""Partners' risk alerts in force: each a temporary profile over the goods, route and value it names."""

ALERT_PARTIES: dict[str, pl.DataType] = {
    "key": pl.String(),  # a consignment of the batch
    "code": pl.String(),  # the alert one of its parties matched
    "role": pl.String(),  # seller, consignor, consignee, delivery_address
}
"""The batch's parties whose keyed hash, under the key shared with the alert's partner, an alert names."""


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


@dataclass(frozen=True)
class History:
    parcels: pl.DataFrame = field(default_factory=lambda: _empty(PARCELS))
    offenders: pl.DataFrame = field(default_factory=lambda: _empty(OFFENDERS))
    unit_values: pl.DataFrame = field(default_factory=lambda: _empty(UNIT_VALUES))
    declared_values: pl.DataFrame = field(default_factory=lambda: _empty(DECLARED_VALUES))
    texts: pl.DataFrame = field(default_factory=lambda: _empty(TEXTS))
    assessed: pl.DataFrame = field(default_factory=lambda: _empty(ASSESSED))
    exports: pl.DataFrame = field(default_factory=lambda: _empty(EXPORTS))
    hit_rates: pl.DataFrame = field(default_factory=lambda: _empty(HIT_RATES))
    combinations: pl.DataFrame = field(default_factory=lambda: _empty(COMBINATIONS))
    day_decided: int = 0  # consignments of the as-of day decided before the batch
    day_stopped: int = 0  # of which stopped (yellow or red): what the day's capacity has left
    day_candidates: tuple[float, ...] = ()  # the ranks of the day's earlier stops that competed for its room
    day_explored: int = 0  # the day's stops so far that rested on priors alone
    day_explored_by: dict[str, int] = field(default_factory=dict)  # of which, per combination of hits ("A+B")
    day_areas: dict[str, tuple[float, int]] = field(default_factory=dict)  # per priority area risk ("AREA/risk"):
    # the infringements the day's flagged parcels so far are expected to hold, and the stops the area made on it
    yesterday: tuple[int, float] | None = None  # the day before: consignments decided, and the cut it ended with
    day_mandatory: tuple[int, int] = (0, 0)  # the day's mandatory stops so far, and the decisions they were among
    yesterday_mandatory: float | None = None  # the share of the day before's decisions that were mandatory stops
    operators: tuple[Operator, ...] = ()  # authorised operators the store holds (ours, partners'), by status date
    alerts: pl.DataFrame = field(default_factory=lambda: _empty(ALERTS))
    filings: pl.DataFrame = field(default_factory=lambda: _empty(FILINGS))
    loading: pl.DataFrame = field(default_factory=lambda: _empty(LOADING))
    alert_parties: pl.DataFrame = field(default_factory=lambda: _empty(ALERT_PARTIES))
    amended: pl.DataFrame = field(default_factory=lambda: _empty(AMENDED))
    stopped_before: dict[str, tuple[str, bool]] = field(default_factory=dict)  # the batch's consignments already
    # stopped when their filer filed them again: the lane they were stopped on, and whether they were withdrawn and
    # filed anew (else amended). An amended one keeps a stop its new filing still asks for; one filed anew keeps it
