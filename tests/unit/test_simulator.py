"""The traffic simulator: realistic, deterministic for a seed, labelled beside the AED."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import lru_cache
from typing import Any

import msgspec

from clearway.intake import read_bytes
from clearway.model.identifiers import hs_subheadings
from clearway.sim import Rates, SimulatedDay, simulate
from clearway.sim.catalogue import catalogue

DAY = dt.date(2026, 11, 16)


@lru_cache(maxsize=4)
def day(size: int = 6000, seed: int = 11) -> SimulatedDay:
    return simulate(size, seed, DAY)


def test_same_seed_same_day_other_seed_other_day() -> None:
    a, b, c = simulate(400, 5, DAY), simulate(400, 5, DAY), simulate(400, 6, DAY)
    assert [r.line for r in a.records] == [r.line for r in b.records]
    assert a.labels == b.labels
    assert [r.line for r in a.records] != [r.line for r in c.records]


def test_size_is_respected() -> None:
    assert len(simulate(1, 1, DAY).records) == 1
    assert len(day().records) == 6000


def test_catalogue_breadth_and_valid_hs_codes() -> None:
    products = catalogue()
    assert len(products) >= 150
    assert len({p.hs6[:2] for p in products}) >= 40
    assert [p.key for p in products if p.hs6 not in hs_subheadings()] == []
    assert len({p.key for p in products}) == len(products)


def well_formed(simulated: SimulatedDay) -> list[dict[str, Any]]:
    broken = {(label.submitter, label.reference) for label in simulated.labels if label.violation == "malformed"}
    return [msgspec.json.decode(r.line) for r in simulated.records if (r.submitter, r.reference) not in broken]


def test_traffic_shape() -> None:
    docs = well_formed(day())
    sellers = Counter(d["seller"]["name"] for d in docs)
    assert len(sellers) > 250
    assert sellers.most_common(1)[0][1] < 0.05 * len(docs)  # heavy-tailed, not one giant
    seller_countries = Counter(d["seller"]["address"]["country"] for d in docs)
    assert seller_countries.most_common(1)[0][0] == "CN"
    assert {"HK", "US", "GB", "TR", "KR", "IN", "VN"} <= set(seller_countries)
    destinations = Counter(d["destination_country"] for d in docs)
    assert {"DE", "FR", "NL", "GB", "US", "AU"} <= set(destinations)
    assert Counter(d["channel"] for d in docs).keys() == {"post", "express", "cargo"}
    assert len({r.submitter for r in day().records}) >= 8  # platforms, carriers and posts
    assert len({d["currency"] for d in docs}) >= 5
    assert any(any(ord(ch) > 0x2E80 for ch in i["description"]) for d in docs for i in d["items"])  # multilingual


def test_every_violation_is_injected_and_labelled_beside_the_aed() -> None:
    simulated = day()
    kinds = Counter(label.violation for label in simulated.labels)
    assert set(kinds) == {name for name, _ in Rates().items()}
    assert all(b"violation" not in r.line and b"label" not in r.line for r in simulated.records)
    references = {(r.submitter, r.reference) for r in simulated.records}
    assert all((label.submitter, label.reference) in references for label in simulated.labels)


def test_rates_are_configurable() -> None:
    none = simulate(500, 3, DAY, Rates(**{name: 0.0 for name, _ in Rates().items()}))
    assert none.labels == []
    only = simulate(
        500, 3, DAY, Rates(**{name: (0.2 if name == "counterfeit" else 0.0) for name, _ in Rates().items()})
    )
    assert {label.violation for label in only.labels} == {"counterfeit"}
    assert 60 < len(only.labels) < 140


def test_honest_records_are_accepted_and_malformed_ones_rejected() -> None:
    simulated = day()
    labels = {(label.submitter, label.reference): label.violation for label in simulated.labels}
    for record in simulated.records:
        [submitted] = read_bytes(record.line, "ndjson")
        violation = labels.get((record.submitter, record.reference))
        if violation == "malformed":
            assert not submitted.outcome.accepted, record.line[:200]
        elif violation != "ioss_misuse":  # an invalid IOSS number is rejected, IOSS over EUR 150 is not
            assert submitted.outcome.accepted, (violation, submitted.outcome.errors)


def test_a_large_day_has_thousands_of_sellers() -> None:
    assert len({d["seller"]["name"] for d in well_formed(day(40_000, 2))}) > 1000


def test_the_days_manifests_are_valid_and_carry_almost_every_parcel() -> None:
    from clearway.model.manifest import validate_manifest
    from clearway.sim.manifests import manifests

    day = simulate(20_000, 1, dt.date(2026, 11, 16))  # with its broken item ids and unknown countries
    carried = manifests(day, 1)
    outcomes = [validate_manifest(m) for _, m in carried]
    assert all(o.manifest is not None for o in outcomes), [o.errors[:2] for o in outcomes if o.errors][:3]
    assert len(carried) > 5  # every group of parcels makes manifests, none refused
    kinds = {m["master"]["type"] for _, m in carried}
    assert kinds == {"s8", "mawb", "cim"}  # despatches for posts, air masters for express, rail for cargo
    houses = [h["transport_document"]["id"] for _, m in carried for h in m["houses"]]
    filed = set()
    for record in day.records:
        try:
            filed.add(msgspec.json.decode(record.line)["transport_document"]["id"])
        except (msgspec.DecodeError, KeyError, TypeError):
            continue  # the simulator's broken lines
    without = [h for h in houses if h not in filed]
    assert 0 < len(without) < 0.02 * len(houses)  # a few houses arrive with no filing
    assert 0.95 * len(filed) < len(set(houses) & filed) < len(filed)  # and a few filings are on no manifest


def test_a_misstated_value_or_code_is_labelled_with_what_an_officer_would_find() -> None:
    """The label of an under-valued parcel carries its true value (the declared one with the under-valued line
    at its true price), and that of a misclassified one the item and its true code: what an inspecting officer
    enters, so that the parcel is reassessed on the facts."""
    from decimal import Decimal

    from clearway.sim.violations import duty_rates

    simulated = day()
    docs = {(r.submitter, r.reference): r.line for r in simulated.records}
    under = [x for x in simulated.labels if x.violation == "undervaluation"]
    wrong = [x for x in simulated.labels if x.violation == "misclassification"]
    assert len(under) > 100 and len(wrong) > 50
    for label in under:
        items = msgspec.json.decode(docs[label.submitter, label.reference])["items"]
        declared = sum(Decimal(i["unit_price"]) * i["quantity"] for i in items)
        line = next(i for i in items if label.detail.startswith(f"{i['description']}: declared {i['unit_price']} "))
        true_price = Decimal(label.detail.rsplit(" of a true ", 1)[1].split()[0])
        short = (true_price - Decimal(line["unit_price"])) * line["quantity"]
        assert Decimal(label.corrected_value) == declared + short
        assert Decimal(label.corrected_value) > declared and not label.corrected_hs_code and label.item is None
    cheaper = 0
    for label in wrong:
        doc = msgspec.json.decode(docs[label.submitter, label.reference])
        item = doc["items"][label.item]
        assert label.detail == f"{item['description']}: declared {item['hs_code']}, goods are {label.corrected_hs_code}"
        assert label.corrected_hs_code in hs_subheadings() and label.corrected_hs_code != item["hs_code"]
        rates = duty_rates(doc["destination_country"], DAY)  # the scheme lowers the duty, never raises it
        if label.corrected_hs_code in rates and item["hs_code"] in rates:
            assert rates[item["hs_code"]] <= rates[label.corrected_hs_code]
            cheaper += rates[item["hs_code"]] < rates[label.corrected_hs_code]
    assert cheaper > len(wrong) / 2
    assert all(not x.corrected_value and not x.corrected_hs_code for x in simulated.labels if x not in under + wrong)


def test_a_split_orders_parts_are_labelled_with_each_other() -> None:
    """Each part of a split order names the order's other parts (what an officer finds from the order number on
    the invoice), and together they are one seller's sale to one buyer above the threshold each is under."""
    from decimal import Decimal

    from clearway.sim.violations import SPLIT_THRESHOLDS

    simulated = day()
    lines = {(r.submitter, r.reference): r.line for r in simulated.records}
    parts = {(x.submitter, x.reference): x for x in simulated.labels if x.violation == "split_shipment"}
    assert len(parts) > 50
    assert all(not x.same_order for x in simulated.labels if x.violation != "split_shipment")
    for (submitter, reference), label in parts.items():
        others = label.same_order.split()
        assert others and reference not in others
        order = [msgspec.json.decode(lines[submitter, r]) for r in [reference, *others]]
        assert all(parts[submitter, other].same_order.split().count(reference) == 1 for other in others)
        assert len({msgspec.json.encode(d.get("order")) for d in order}) == 1  # the same order, where one is said
        assert len({d["seller"]["name"] for d in order}) == 1 and len({d["consignee"]["name"] for d in order}) == 1
        threshold = SPLIT_THRESHOLDS[order[0]["currency"]]
        values = [sum(Decimal(i["unit_price"]) * i["quantity"] for i in d["items"]) for d in order]
        assert max(values) <= threshold < sum(values)
