"""Partners' risk alerts as temporary profiles: a consignment is selected when one of its parties is one an
alert names (matched by keyed hash at the edge, `context.history.alert_parties`), or when its goods, route and
value fit what the alert describes. The hit's reason names the alert, its partner, its kind and its expiry,
so the officer knows where the suspicion came from; its domain follows the alert's kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from clearway.cooperation.alerts import DOMAIN_OF_KIND, RiskAlert, alert_code
from clearway.model.codelists import normalise_text
from clearway.pipeline.batch import BatchRow
from clearway.pipeline.history import ALERT_PARTIES, ALERTS
from clearway.pipeline.stage import Context, StageOutput, hits_of, no_hits
from clearway.revenue.fx import ExchangeRates
from clearway.risk.detectors import usd_rates
from clearway.risk.fields import explode_items, normalised
from clearway.risk.party_keys import consignment_party_keys

PRIOR = 50.0
"""An alert's prior (its weight): a partner found this pattern infringing; the measured record of the alert
(its code's hit rate here) takes over once inspections have tried it."""

MATCHED = {"key": pl.String, "code": pl.String, "how": pl.String}
PartyIndex = dict[str, tuple[bytes, dict[tuple[str, str], list[str]]]]
"""Per partner: the key its parties are hashed under, and (role, hash) -> the codes of its alerts naming it."""


def alerts_frame(received: Sequence[tuple[str, RiskAlert]]) -> pl.DataFrame:
    """Partners' alerts (partner, alert) as the detector reads them (`pipeline.history.ALERTS`)."""
    rows = [{
        "code": alert_code(partner, a.id), "partner": partner, "alert": a.id, "kind": a.kind,
        "issued_at": a.issued_at, "expires_at": a.expires_at, "hs_prefixes": a.goods.hs_prefixes,
        "keywords": [normalise_text(w) for w in a.goods.keywords],
        "brands": [normalise_text(b) for b in a.goods.brands],
        "dispatch_country": a.route.dispatch_country, "destination_country": a.route.destination_country,
        "origin_country": a.route.origin_country, "value_currency": a.value.currency if a.value else None,
        "value_at_most": float(a.value.limit) if a.value else None,
    } for partner, a in received]  # fmt: skip
    return pl.DataFrame(rows, schema=ALERTS)


def party_index(received: Sequence[tuple[str, RiskAlert]], keys: Mapping[str, bytes]) -> PartyIndex:
    """The parties partners' alerts name, by partner (those of a partner without a shared key are left out)."""
    index: PartyIndex = {}
    for partner, alert in received:
        if alert.parties and partner in keys:
            _, named = index.setdefault(partner, (keys[partner], {}))
            for p in alert.parties:
                named.setdefault((p.role, p.hash), []).append(alert_code(partner, alert.id))
    return index


def parties_named(rows: Sequence[BatchRow], index: PartyIndex) -> pl.DataFrame:
    """The batch's parties an alert names: each party hashed under each partner's shared key, as the partner
    hashed its own (`pipeline.history.ALERT_PARTIES`)."""
    matched = []
    for shared, named in index.values():
        roles = {role for role, _ in named}
        for row in rows:
            keys = consignment_party_keys(shared, row.consignment)
            for role in roles & set(keys):
                matched += [(row.key, code, role) for code in named.get((role, keys[role]), [])]
    return pl.DataFrame(matched, schema=ALERT_PARTIES, orient="row")


@dataclass(frozen=True)
class AlertDetector:
    rates: ExchangeRates
    name: str = "partner_alerts"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.is_empty() or context.history.alerts.is_empty():  # before a filter on an instant (0.2 ms)
            return StageOutput(no_hits())
        at = context.as_of
        alerts = context.history.alerts.filter((pl.col("issued_at") <= at) & (pl.col("expires_at") > at))
        if alerts.is_empty():
            return StageOutput(no_hits())
        matched = pl.concat([self._by_party(alerts, context), self._by_goods(batch, alerts, context)])
        if matched.is_empty():
            return StageOutput(no_hits())
        matched = matched.group_by("key", "code", maintain_order=True).agg(pl.col("how").unique().sort())
        frames = []
        for alert in alerts.iter_rows(named=True):
            hits = matched.filter(pl.col("code") == alert["code"])
            if hits.is_empty():
                continue
            domain, referral = DOMAIN_OF_KIND.get(alert["kind"], DOMAIN_OF_KIND["other"])
            message = (
                f"risk alert {alert['alert']} from {alert['partner']} (issued {alert['issued_at']:%Y-%m-%d}, "
                f"expires {alert['expires_at']:%Y-%m-%d}): {alert['kind'].replace('_', ' ')}; matched "
            )
            frame = hits.select("key", (pl.lit(message) + pl.col("how").list.join(", ")).alias("message"))
            lane = None if domain == "safety" else "yellow"  # dangerous goods go back to the carrier
            frames.append(hits_of(frame, source="detector", code=alert["code"], lane=lane, referral=referral,
                                  weight=PRIOR, domain=domain))  # fmt: skip
        return StageOutput(pl.concat(frames) if frames else no_hits())

    @staticmethod
    def _by_party(alerts: pl.DataFrame, context: Context) -> pl.DataFrame:
        parties = context.history.alert_parties.join(alerts.select("code"), on="code")
        how = pl.format("the {} it names", pl.col("role").str.replace("_", " ")).alias("how")
        return parties.select("key", "code", how)

    def _by_goods(self, batch: pl.DataFrame, alerts: pl.DataFrame, context: Context) -> pl.DataFrame:
        described = alerts.filter(
            (pl.col("hs_prefixes").list.len() + pl.col("keywords").list.len() + pl.col("brands").list.len()) > 0
        )
        if described.is_empty():
            return pl.DataFrame(schema=MATCHED)
        items = explode_items(batch, {"item.description", "item.brand"}).with_columns(  # normalised once a batch
            pl.col(normalised("item.description")).alias("_text"), pl.col(normalised("item.brand")).alias("_brand")
        )
        currencies = sorted({*batch["currency"].drop_nulls().to_list(), *described["value_currency"].drop_nulls()})
        usd = usd_rates(self.rates, currencies, context.as_of.date())
        items = items.with_columns(
            (pl.col("intrinsic_value").cast(pl.Float64) * pl.col("currency").replace_strict(usd, default=None)).alias(
                "_usd"
            )
        )
        found = []
        for alert in described.iter_rows(named=True):
            condition = pl.lit(True)
            how = []
            if alert["hs_prefixes"]:
                condition &= pl.any_horizontal(pl.col("item.hs_code").str.starts_with(p) for p in alert["hs_prefixes"])
                how.append("HS " + "/".join(alert["hs_prefixes"]))
            words = [w for w in alert["keywords"] if w]
            brands = [b for b in alert["brands"] if b]
            if words or brands:
                condition &= pl.any_horizontal(
                    [pl.col("_text").str.contains(rf"\b{_escape(w)}\b") for w in words]
                    + [pl.col("_brand") == b for b in brands]
                ).fill_null(False)
                how.append("goods " + ", ".join([*words, *brands]))
            for field in ("dispatch_country", "destination_country"):
                if alert[field]:
                    condition &= pl.col(field) == alert[field]
                    how.append(f"{field.replace('_', ' ')} {alert[field]}")
            if alert["origin_country"]:
                condition &= pl.col("item.origin_country") == alert["origin_country"]
                how.append(f"origin {alert['origin_country']}")
            if alert["value_at_most"] is not None:
                rate = usd.get(alert["value_currency"])
                if rate is None:
                    continue  # a value pattern in a currency without a rate cannot be judged: no hit on it
                condition &= pl.col("_usd") <= alert["value_at_most"] * rate
                how.append(f"declared at most {alert['value_at_most']} {alert['value_currency']}")
            keys = items.filter(condition.fill_null(False))["key"].unique(maintain_order=True)
            found.append(pl.DataFrame({"key": keys, "code": alert["code"], "how": "; ".join(how)}, schema=MATCHED))
        return pl.concat(found) if found else pl.DataFrame(schema=MATCHED)


def _escape(word: str) -> str:
    return "".join(f"\\{c}" if not c.isalnum() and c != " " else c for c in word)
