"""Detectors: split shipments, counterfeit prices and undervaluation, each hit explained."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from statistics import NormalDist
from typing import Any

import msgspec
import polars as pl

from clearway.bootstrap import load_brand_floors
from clearway.model import validate_raw
from clearway.pipeline import BatchRow, Context, History, to_batch
from clearway.pipeline.history import AMENDED, DECLARED_VALUES, EXPORTS, OFFENDERS, PARCELS, UNIT_VALUES
from clearway.revenue import FixedRates
from clearway.risk.amendments import AmendedValueDetector
from clearway.risk.detectors import CounterfeitDetector, SplitShipmentDetector, UndervaluationDetector
from clearway.risk.exports import ExportMismatchDetector
from clearway.risk.offenders import RepeatOffenderDetector
from tests.conftest import example
from tests.unit.test_revenue import reference

DAY = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
RATES = FixedRates({("EUR", "USD"): Decimal("1.10")})


def row(key: str, price: str, hs: str = "620610", description: str = "Silk blouse", **fields: Any) -> BatchRow:
    doc = example(reference=key, fiscal=None, shipping_cost=None, **fields)
    doc["items"] = [
        {"description": description, "hs_code": hs, "quantity": 1, "unit_price": price, "origin_country": "CN"}
    ]
    consignment = validate_raw(doc).consignment
    assert consignment is not None, validate_raw(doc).errors
    return BatchRow(key, "s", DAY, consignment)


def hits(stage: Any, *rows: BatchRow) -> pl.DataFrame:
    return stage.run(to_batch(list(rows)), Context(as_of=DAY)).hits


def test_split_shipments_each_under_the_threshold_together_over() -> None:
    rules, _ = reference()
    found = hits(
        SplitShipmentDetector(rules),
        row("a", "100.00"),
        row("b", "90.00"),
        row("c", "20.00", description="Socks", hs="611595"),
    )
    assert sorted(found["key"].to_list()) == ["a", "b", "c"]  # 210 > 150, each <= 150
    assert "to one consignee" in found["message"][0] and "150" in found["message"][0]
    alone = hits(SplitShipmentDetector(rules), row("a", "100.00"))
    assert alone.is_empty()
    over = hits(SplitShipmentDetector(rules), row("a", "160.00"), row("b", "10.00"))
    assert over.is_empty()  # one parcel already over: not a split that stays under


def test_split_needs_the_same_consignee() -> None:
    rules, _ = reference()
    other = example()["consignee"] | {"name": "Max Mustermann"}
    found = hits(SplitShipmentDetector(rules), row("a", "100.00"), row("b", "90.00", consignee=other))
    assert found.is_empty()


def test_split_matches_parties_by_keyed_hash_once_names_are_erased() -> None:
    rules, _ = reference()
    erased = [example()["consignee"] | {"name": f"erased-{i}", "address": {"city": "erased", "country": "DE"}}
              for i in range(2)]  # fmt: skip
    same = {"seller": "s" * 64, "consignee": "c" * 64}
    a = msgspec.structs.replace(row("a", "100.00", consignee=erased[0]), party_keys=same)
    b = msgspec.structs.replace(row("b", "90.00", consignee=erased[1]), party_keys=same)
    assert sorted(hits(SplitShipmentDetector(rules), a, b)["key"].to_list()) == ["a", "b"]
    other = msgspec.structs.replace(row("b", "90.00"), party_keys=same | {"consignee": "d" * 64})
    assert hits(SplitShipmentDetector(rules), a, other).is_empty()  # same name, other key: another person


def test_counterfeit_brand_far_below_its_floor() -> None:
    stage = CounterfeitDetector(load_brand_floors(), RATES)
    cheap = row("a", "25.00", hs="910211", description="ROLEX Submariner automatic watch")
    genuine = row("b", "7000.00", hs="910211", description="Rolex Submariner")
    unbranded = row("c", "25.00", hs="910211", description="Automatic watch stainless")
    other_goods = row(
        "d", "5.00", hs="392690", description="Phone case for iPhone"
    )  # iPhone case: not an Apple product
    found = hits(stage, cheap, genuine, unbranded, other_goods)
    assert found["key"].to_list() == ["a"]
    assert found["message"][0] == "Rolex item at USD 27.5 a unit, where genuine ones start near USD 5000.0"
    assert found["lane"][0] == "red"


def test_undervaluation_against_the_usual_unit_value() -> None:
    """A line far under the usual value is flagged, and the further under, the likelier it starts: its prior is
    graded by the share of the usual value it was declared at."""
    usual = [row(f"u{i}", f"{20 + i % 7}.00") for i in range(30)]
    found = hits(UndervaluationDetector(RATES), *usual, row("low", "2.00"), row("quarter", "6.00"))
    assert found["key"].to_list() == ["low", "quarter"]
    assert found["message"][0].startswith(
        "HS 620610 declared at USD 2.2 a unit, 9% of the usual; that subheading usually declares about USD"
    )
    assert found["weight"].to_list() == [87.0, 38.0]  # a tenth of the usual value or less, then a quarter


def test_undervaluation_within_a_wide_spread_of_honest_prices_is_a_weak_hit_of_its_own() -> None:
    """Where the goods' honest prices spread widely, three deviations under the usual value fall below a fifth of
    it: a line at a quarter is not `DET-UNDERVALUE`, but it is under 35% of the usual, and says so on a hit of its
    own that starts unlikely (its record, beside a seller's, is what makes it count)."""
    spread = NormalDist(0, 0.6)
    usual = [row(f"u{i}", f"{20 * math.exp(spread.inv_cdf((i + 0.5) / 40)):.2f}") for i in range(40)]
    found = hits(UndervaluationDetector(RATES), *usual, row("quarter", "5.00"), row("tenth", "1.50"))
    codes = dict(zip(found["key"], found["code"], strict=True))
    assert codes["quarter"] == "DET-UNDERVALUE-LOW" and codes["tenth"] == "DET-UNDERVALUE"
    low = found.filter(pl.col("key") == "quarter")
    assert low["weight"].to_list() == [15.0] and low["domain"].to_list() == ["fiscal"]
    assert "26% of the usual, within the spread of honest prices" in low["message"][0]
    # an honest line at two thirds of the usual value is nothing
    assert "u3" not in codes


def test_undervaluation_needs_enough_history() -> None:
    few = [row(f"u{i}", "20.00") for i in range(5)]
    assert hits(UndervaluationDetector(RATES), *few, row("low", "2.00")).is_empty()
    history = pl.DataFrame(
        {"hs6": ["620610"], "goods": [None], "median_log": [3.0], "mad_log": [0.2], "n": [500], "declarants": [40]},
        schema=UNIT_VALUES,
    )
    assert hits(UndervaluationDetector(RATES, history=history), row("low", "2.00"))["key"].to_list() == ["low"]


def sold_by(seller: str, key: str, price: str) -> BatchRow:
    return row(key, price, seller={"name": seller, "address": {"city": "Shenzhen", "country": "CN"}})


def test_one_busy_seller_cannot_pull_the_usual_value_down_to_its_own() -> None:
    # ten sellers declare the blouse at about USD 22; one declares it at USD 2.2 on more lines than all of them
    honest = [sold_by(f"Seller {s}", f"h{s}-{i}", f"{18 + s}.00") for s in range(10) for i in range(3)]
    cheap = [sold_by("Lowball Trading", f"c{i}", "2.00") for i in range(40)]
    found = hits(UndervaluationDetector(RATES), *honest, *cheap)
    # a median over lines would sit at USD 2.2 and flag nothing; over sellers it stays near USD 22
    assert set(found.filter(pl.col("code") == "DET-UNDERVALUE-SELLER")["key"]) == {f"c{i}" for i in range(40)}
    habit = found.filter(pl.col("code") == "DET-UNDERVALUE-SELLER")["message"][0]
    assert (
        "by a seller who declares under half the usual value on 40 of its 40 lines of them (about USD 2.2 a unit)"
        in habit
    )
    assert not found["key"].str.starts_with("h").any()


def test_a_cheap_but_honest_seller_is_no_habit_of_undervaluing() -> None:
    reference = pl.DataFrame({"hs6": ["620610"], "goods": [None], "median_log": [math.log(22.0)], "mad_log": [0.2],
                              "n": [900], "declarants": [80]}, schema=UNIT_VALUES)  # fmt: skip
    # both sellers declare nearly half their lines under half the usual USD 22 (EUR 7.27 is USD 8.00)
    outlet = [sold_by("Outlet Store", f"o{i}", "7.27" if i < 14 else "16.00") for i in range(30)]  # usually 80%
    lowball = [sold_by("Lowball Trading", f"l{i}", "7.27" if i < 20 else "18.20") for i in range(30)]  # 36%
    found = with_history(UndervaluationDetector(RATES), History(unit_values=reference), *outlet, *lowball)
    assert set(found.filter(pl.col("code") == "DET-UNDERVALUE-SELLER")["key"]) == {f"l{i}" for i in range(20)}
    assert not found["key"].str.starts_with("o").any()  # its promotions are not a habit of declaring low


def test_a_sellers_habit_weighs_less_than_a_line_far_under_its_goods_usual_value() -> None:
    """A seller of cheap goods under a subheading of dear ones shows the same habit as one declaring low, so until
    inspections measure the hit a first day weighs it below a line far under the usual value (a hit's weight is
    its prior likelihood, in %): at the same weight, the first day stopped 35 parcels on the habit alone, 3 of
    them infringing (pilot seed 7000046)."""
    reference = pl.DataFrame({"hs6": ["620610"], "goods": [None], "median_log": [math.log(22.0)], "mad_log": [0.2],
                              "n": [900], "declarants": [80]}, schema=UNIT_VALUES)  # fmt: skip
    lowball = [sold_by("Lowball Trading", f"l{i}", "2.00") for i in range(10)]  # USD 2.2 against the usual 22
    found = with_history(UndervaluationDetector(RATES), History(unit_values=reference), *lowball)
    weight = dict(found.group_by("code").agg(pl.col("weight").max()).iter_rows())
    assert set(found["key"]) == {f"l{i}" for i in range(10)}
    assert weight["DET-UNDERVALUE-SELLER"] < 20 < weight["DET-UNDERVALUE"]


def test_goods_whose_prices_spread_widely_make_no_habit_of_an_honest_sellers_cheap_lines() -> None:
    reference = pl.DataFrame({"hs6": ["970191"], "goods": [None], "median_log": [math.log(22.0)], "mad_log": [0.55],
                              "n": [900], "declarants": [80]}, schema=UNIT_VALUES)  # fmt: skip
    # a quarter of a painter's 60 lines under half the usual, as prices this spread give a fifth of them
    lines = [row(f"p{i}", "8.00" if i % 4 == 0 else "18.00", hs="970191", description="Oil painting")
             for i in range(60)]  # fmt: skip
    assert with_history(UndervaluationDetector(RATES), History(unit_values=reference), *lines).is_empty()


def test_goods_are_compared_with_the_same_goods_not_with_others_under_their_code() -> None:
    def scissors(seller: str, key: str, price: str) -> BatchRow:
        return row(key, price, hs="821300", description="Stainless steel scissors",
                   seller={"name": seller, "address": {"city": "Yangjiang", "country": "CN"}})  # fmt: skip

    honest = [scissors("Blade Works", f"b{i}", "4.00") for i in range(30)]
    honest += [scissors(f"Seller {s}", f"s{s}-{i}", "4.40") for s in range(2) for i in range(3)]
    # five sellers declare sweaters under the scissors' code: the subheading's sellers mostly say USD 33
    sweaters = [row(f"w{s}-{i}", "30.00", hs="821300", description="Wool sweater",
                    seller={"name": f"Knits {s}", "address": {"city": "Ningbo", "country": "CN"}})
                for s in range(5) for i in range(3)]  # fmt: skip
    low = [scissors("Lowball Trading", f"l{i}", "1.00") for i in range(3)]
    found = hits(UndervaluationDetector(RATES), *honest, *sweaters, *low)
    assert set(found["key"]) == {"l0", "l1", "l2"}  # not the honest scissors at USD 4.4 (against 33, they would be)
    assert "those goods usually declare about USD 4.6" in found["message"][0]  # not the sweaters


def test_gifts_do_not_set_what_goods_sell_for() -> None:
    def scissors(seller: str, key: str, price: str, **fields: Any) -> BatchRow:
        return row(key, price, hs="821300", description="Stainless steel scissors",
                   seller={"name": seller, "address": {"city": "Yangjiang", "country": "CN"}}, **fields)  # fmt: skip

    sales = [scissors("Blade Works", f"b{i}", "4.00") for i in range(30)]
    sales += [scissors(f"Seller {s}", f"s{s}-{i}", "4.40") for s in range(2) for i in range(3)]
    # a dozen private senders give the same scissors, valued at what a shop would ask
    gifts = [scissors(f"Private {p}", f"g{p}", "15.00", category="gift", order=None) for p in range(12)]
    assert hits(UndervaluationDetector(RATES), *sales, *gifts).is_empty()


def test_a_cheap_line_of_a_seller_who_usually_declares_the_usual_value_is_not_the_seller_pattern() -> None:
    # one line in six under half the usual value is the spread of honest prices, not a seller's habit
    others = [sold_by(f"Seller {s}", f"h{s}-{i}", f"{18 + s}.00") for s in range(10) for i in range(3)]
    usual = [sold_by("Fair Trading", f"f{i}", "20.00") for i in range(5)]
    found = hits(UndervaluationDetector(RATES), *others, *usual, sold_by("Fair Trading", "sale", "9.00"))
    assert found.is_empty()  # USD 9.9 against about 22: inside the spread, and the seller declares 22 as a rule


def test_a_sellers_accepted_history_counts_toward_its_pattern() -> None:
    reference = pl.DataFrame({"hs6": ["620610"], "goods": [None], "median_log": [math.log(22.0)], "mad_log": [0.4],
                              "n": [500], "declarants": [60]}, schema=UNIT_VALUES)  # fmt: skip
    declared = pl.DataFrame({"hs6": ["620610"], "goods": [None], "declarant": ["lowball trading|CN"],
                             "median_log": [math.log(6.6)], "n": [12], "low": [6]}, schema=DECLARED_VALUES)  # fmt: skip
    one = sold_by("Lowball  Trading", "one", "6.00")  # USD 6.6: within the subheading's wide spread
    alone = with_history(UndervaluationDetector(RATES), History(unit_values=reference), one)
    assert alone.select("key", "code").rows() == [("one", "DET-UNDERVALUE-LOW")]  # 30% of the usual: weak alone
    known = History(unit_values=reference, declared_values=declared)
    stage = UndervaluationDetector(RATES)
    found = with_history(stage, known, one).filter(pl.col("code") != "DET-UNDERVALUE-LOW")
    assert found.select("key", "code").rows() == [("one", "DET-UNDERVALUE-SELLER")]
    assert "on 7 of its 13 lines" in found["message"][0]  # twelve stored (six low) and this one
    missing = stage.run(to_batch([one]), Context(as_of=DAY, history=known)).columns
    assert missing is not None and round(missing["undervalued_eur"][0], 2) == round((22.0 - 6.6) / 1.1, 2)


def test_a_brand_beside_a_counterfeit_marker_is_flagged_at_any_price() -> None:
    stage = CounterfeitDetector(load_brand_floors(), RATES)
    inspired = row("a", "900.00", hs="420221", description="Louis Vuitton inspired tote bag")
    plain = row("b", "900.00", hs="420221", description="Leather tote bag, inspired by Paris")
    found = hits(stage, inspired, plain)
    assert found["key"].to_list() == ["a"]
    assert found["message"][0] == "Louis Vuitton named beside a counterfeit marker: Louis Vuitton inspired tote bag"


def keyed(key: str, price: str, seller: str = "s", consignee: str = "c", **fields: Any) -> BatchRow:
    keys = {"seller": seller * 64, "consignee": consignee * 64, "delivery_address": "a" * 64}
    return msgspec.structs.replace(row(key, price, **fields), party_keys=keys)


def earlier(key: str, value: float, at: dt.datetime = DAY - dt.timedelta(hours=3), seller: str = "s") -> dict[str, Any]:
    return {"key": key, "destination_country": "DE", "currency": "EUR", "value": value, "seller": seller * 64,
            "who": "c" * 64, "received_at": at}  # fmt: skip


def with_history(stage: Any, history: History, *rows: BatchRow) -> pl.DataFrame:
    return stage.run(to_batch(list(rows)), Context(as_of=DAY, history=history)).hits


def test_a_split_across_batches_counts_the_parcels_received_earlier_that_day() -> None:
    rules, _ = reference()
    stage = SplitShipmentDetector(rules)
    history = History(parcels=pl.DataFrame([earlier("old1", 100.0)], schema=PARCELS))
    found = with_history(stage, history, keyed("new", "90.00"))
    assert found["key"].to_list() == ["new"]  # only the new parcel gets a decision; 100 + 90 > 150
    assert found["message"][0].endswith("(1 of them received earlier); the others: old1")
    yesterday = History(parcels=pl.DataFrame([earlier("old1", 100.0, DAY - dt.timedelta(days=1))], schema=PARCELS))
    assert with_history(stage, yesterday, keyed("new", "90.00")).is_empty()  # another day
    others = History(parcels=pl.DataFrame([earlier("old1", 100.0, seller="z")], schema=PARCELS))
    assert with_history(stage, others, keyed("new", "90.00")).is_empty()  # another seller
    itself = History(parcels=pl.DataFrame([earlier("new", 90.0)], schema=PARCELS))
    assert with_history(stage, itself, keyed("new", "90.00")).is_empty()  # a parcel is not its own history


def test_repeat_offenders_by_seller_consignee_or_delivery_address() -> None:
    def offender(role: str, key: str, infringements: int, seizures: int, kinds: list[str]) -> dict[str, Any]:
        return {"role": role, "party_key": key, "infringements": infringements, "seizures": seizures,
                "kinds": kinds, "last_at": DAY - dt.timedelta(days=9)}  # fmt: skip

    stage = RepeatOffenderDetector()
    seized = History(offenders=pl.DataFrame([offender("seller", "s" * 64, 2, 1, ["counterfeit"])], schema=OFFENDERS))
    found = with_history(stage, seized, keyed("a", "20.00"), keyed("b", "20.00", seller="t"))
    assert found["key"].to_list() == ["a"] and found["lane"][0] == "red"
    assert found["message"][0] == (
        "the seller had 2 earlier parcel(s) found infringing (counterfeit) and 1 parcel(s) seized, "
        "the last on 2026-02-21"
    )
    address = History(offenders=pl.DataFrame(
        [offender("delivery_address", "a" * 64, 1, 0, ["undervaluation"]),
         offender("consignee", "c" * 64, 1, 0, ["undervaluation"])], schema=OFFENDERS))  # fmt: skip
    found = with_history(stage, address, keyed("a", "20.00", consignee="x"), keyed("b", "20.00")).sort("key")
    assert found.select("key", "lane").rows() == [("a", "yellow"), ("b", "yellow")]  # a: another name, same door
    assert found["message"][1].count("; ") == 1  # b: both its consignee and its address, in one reason
    wrong_role = History(offenders=pl.DataFrame([offender("consignee", "s" * 64, 1, 1, [])], schema=OFFENDERS))
    assert with_history(stage, wrong_role, keyed("a", "20.00")).is_empty()  # a seller's key is not a consignee's
    assert found["domain"].to_list() == ["fiscal", "fiscal"]
    assert with_history(stage, seized, keyed("a", "20.00"))["domain"].to_list() == ["ipr"]  # counterfeits found


def test_a_record_of_the_consignments_own_matters_makes_no_repeat_offender() -> None:
    # A prohibited item, a listed party or undeclared batteries found once are screened for on every parcel by
    # their own rules; they say nothing of the seller's declarations. A seizure, or value fraud, does.
    def offender(kinds: list[str], seizures: int = 0) -> History:
        return History(offenders=pl.DataFrame(
            [{"role": "seller", "party_key": "s" * 64, "infringements": 1, "seizures": seizures, "kinds": kinds,
              "last_at": DAY - dt.timedelta(days=2)}], schema=OFFENDERS))  # fmt: skip

    stage = RepeatOffenderDetector()
    # a vague description found is the filing's flaw, which the data-quality profiles screen every parcel for
    for kinds in (["prohibited"], ["restricted", "dangerous_goods"], ["vague_description"]):
        assert with_history(stage, offender(kinds), keyed("a", "20.00")).is_empty(), kinds
    assert with_history(stage, offender(["prohibited"], seizures=1), keyed("a", "20.00"))["lane"].to_list() == ["red"]
    mixed = with_history(stage, offender(["prohibited", "wrong_hs_code"]), keyed("a", "20.00"))
    assert mixed.select("code", "domain").rows() == [("DET-REPEAT-SELLER", "fiscal")]


def test_undervaluation_prefers_stored_history_and_falls_back_to_the_batch() -> None:
    stored = pl.DataFrame({"hs6": ["620610"], "goods": [None], "median_log": [math.log(40.0)], "mad_log": [0.1],
                           "n": [500], "declarants": [40]}, schema=UNIT_VALUES)  # fmt: skip
    history = History(unit_values=stored)
    # against the stored USD 40, a USD 8.8 blouse is low even though the batch alone has no reference
    assert with_history(UndervaluationDetector(RATES), history, row("low", "8.00"))["key"].to_list() == ["low"]
    socks = [row(f"s{i}", f"{5 + i % 3}.00", hs="611595", description="Socks") for i in range(20)]
    found = with_history(UndervaluationDetector(RATES), history, *socks, row("cheap", "0.50", hs="611595"))
    assert found["key"].to_list() == ["cheap"]  # no stored reference for socks: the batch's own


def exported(document: str, currency: str, value: float, hs: list[str], what: list[str]) -> dict[str, Any]:
    return {"transport_document_id": document, "exporting_country": "CN", "partner": "GACC", "currency": currency,
            "value": value, "hs_codes": hs, "descriptions": what}  # fmt: skip


def test_an_import_declared_lower_than_its_export_or_as_other_goods_is_a_signal() -> None:
    stage = ExportMismatchDetector(RATES)
    parcel = row("p", "20.00")  # a silk blouse at EUR 20, transport document RR123456785CN (the example's)
    document = parcel.consignment.transport_document.id
    low = History(exports=pl.DataFrame([exported(document, "USD", 66.0, ["620610"], ["silk blouse"])], schema=EXPORTS))
    found = with_history(stage, low, parcel)
    assert found.select("code", "lane", "referral").rows() == [("DET-EXPORT-VALUE", "yellow", "rfi")]
    assert found["message"][0] == "declared 20.0 EUR at import; 66.0 USD at export from CN (GACC)"  # 22 < 66
    close = History(exports=pl.DataFrame([exported(document, "USD", 23.0, ["620610"], ["blouse"])], schema=EXPORTS))
    assert with_history(stage, close, parcel).is_empty()  # USD 22 against 23: within the 10% tolerance
    phones = History(exports=pl.DataFrame([exported(document, "EUR", 20.0, ["851713"], ["smartphone"])],
                                          schema=EXPORTS))  # fmt: skip
    [message] = with_history(stage, phones, parcel)["message"].to_list()
    assert message == "goods differ: exported from CN as HS chapters 85 (smartphone), imported as HS chapters 62"
    elsewhere = History(exports=pl.DataFrame([exported("XX000000000CN", "USD", 500.0, [], [])], schema=EXPORTS))
    assert with_history(stage, elsewhere, parcel).is_empty()  # another parcel's record


def test_a_declared_routing_that_does_not_run_from_dispatch_to_destination_is_a_security_reason() -> None:
    from clearway.risk.filings import FilingsDetector

    found = hits(
        FilingsDetector(RATES),
        row("r-ok", "20.00", routing_countries=["CN", "AE", "DE"]),  # dispatch CN, destination DE
        row("r-start", "20.00", routing_countries=["HK", "DE"]),
        row("r-both", "20.00", routing_countries=["AE", "NL"]),
        row("r-none", "20.00"),
    )
    reasons = dict(zip(found["key"], found["message"], strict=True))
    assert set(reasons) == {"r-start", "r-both"} and set(found["code"]) == {"DQ-ROUTING"}
    assert set(found["domain"]) == {"security"} and found["lane"].is_null().all()  # a reason, not a stop
    assert reasons["r-start"] == "declared routing HK > DE does not start in the dispatch country CN"
    assert reasons["r-both"] == ("declared routing AE > NL does not start in the dispatch country CN and does not"
                                 " end in the destination country DE")  # fmt: skip


def test_an_amendment_that_lowers_the_value_under_the_threshold_or_by_half_asks_for_proof_of_the_price() -> None:
    """A parcel held at EUR 400 and amended to EUR 140 was released with no question asked."""
    rules, _ = reference()
    earlier = pl.DataFrame({"key": ["under", "halved", "typo", "raised", "slight", "dollars", "dollars"],
                            "earlier_currency": ["EUR"] * 6 + ["USD"],
                            "earlier": [400.0, 120.0, 160.0, 40.0, 100.0, 90.0, 440.0],
                            "refiled": [False] * 7}, schema=AMENDED)  # fmt: skip
    rows = [row("under", "140.00"), row("halved", "60.00"), row("typo", "150.00"), row("raised", "60.00"),
            row("slight", "80.00"), row("new", "10.00"), row("dollars", "140.00")]  # fmt: skip
    detector = AmendedValueDetector(rules, RATES)
    found = detector.run(to_batch(rows), Context(as_of=DAY, history=History(amended=earlier))).hits
    why = dict(zip(found["key"], found["message"], strict=True))
    assert sorted(why) == ["dollars", "halved", "typo", "under"]  # 150 is within the relief (<= 150); 80 of 100
    # is not half; USD 440 declared before is EUR 400 (at 1.10): a new currency hides nothing
    assert why["dollars"].startswith("amended from 400.0 to 140.0 EUR (65% lower), under the 150.0 EUR")
    assert why["under"] == (
        "amended from 400.0 to 140.0 EUR (65% lower), under the 150.0 EUR relief threshold: proof of the price paid "
        "is asked"
    )
    assert why["halved"] == "amended from 120.0 to 60.0 EUR (50% lower): proof of the price paid is asked"
    assert set(found["lane"]) == {"yellow"} and set(found["referral"]) == {"rfi"} and set(found["domain"]) == {"fiscal"}
    assert detector.run(to_batch(rows), Context(as_of=DAY)).hits.is_empty()  # nothing amended
    free = pl.DataFrame({"key": ["zero", "same"], "earlier_currency": ["EUR", "EUR"], "earlier": [0.0, 0.0],
                         "refiled": [False, False]}, schema=AMENDED)  # fmt: skip
    zero = [row("zero", "0.00"), row("same", "5.00")]  # declared at nothing before: no drop, and no failure
    assert detector.run(to_batch(zero), Context(as_of=DAY, history=History(amended=free))).hits.is_empty()


def test_a_split_of_many_parcels_names_a_few_of_the_others_and_says_there_are_more() -> None:
    """One buyer's day of many parcels: the hit names 19 of the others and says there are more, rather than
    every one of them on every parcel (which grew as the square of the day)."""
    rules, _ = reference()
    base = row("k0", "10.00")
    many = [msgspec.structs.replace(base, key=f"k{i:03d}") for i in range(30)]  # 300.00 together, each 10.00
    found = hits(SplitShipmentDetector(rules), *many)
    assert found.height == 30
    for message in found["message"]:
        named = message.split("the others: ", 1)[1]
        assert named.endswith(" ...") and len(named.removesuffix(" ...").split()) == 19
