"""Selectivity: capacity by expected value, mandatory stops, random selection and trusted operators, every
stop explained."""

from __future__ import annotations

import datetime as dt

import msgspec
import polars as pl
import pytest

from clearway.bootstrap import load_domains, load_selectivity
from clearway.cooperation.aeo import Operator
from clearway.errors import RuleFileError
from clearway.pipeline import HIT_SCHEMA, BatchRow, Context, History, StageOutput, assess, to_batch
from clearway.pipeline.history import OFFENDERS
from clearway.risk.priority_areas import PriorityArea, allowance, risk_of
from clearway.risk.selectivity import CANDIDATE_RANK, Settings, apply
from tests.unit.test_detectors import row

DAY = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


Ask = tuple[str | None, str | None, float] | tuple[str | None, str | None, float, str, bool]


class Asks:
    """A stage that asks, for given keys, for a lane and a referral with a weight (and a domain, and whether
    the stop is mandatory: fiscal and discretionary unless said)."""

    name = "asks"

    def __init__(self, wanted: dict[str, Ask | list[Ask]]) -> None:
        self.wanted = wanted

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        rows = []
        for key, asks in self.wanted.items():
            for lane, ref, weight, *rest in asks if isinstance(asks, list) else [asks]:
                domain, mandatory = rest if rest else ("fiscal", False)
                rows.append({"key": key, "source": "detector", "code": f"D{weight:g}", "message": "seen", "lane": lane,
                             "referral": ref, "agency": None, "weight": weight, "domain": domain,
                             "mandatory": mandatory})  # fmt: skip
        values = batch.select("key", pl.col("intrinsic_value").cast(pl.String).alias("value_eur"))  # as revenue does
        return StageOutput(pl.DataFrame(rows, schema=HIT_SCHEMA), values)


def settings(**changes: object) -> Settings:
    base = {"capacity_yellow": 0.02, "capacity_red": 0.0, "random_rate": 0.0, "aeo_random_rate": 0.0,
            "aeo_score_factor": 0.5, "seed": 1, "mutual_recognition": {"EU": frozenset({"CN"})},
            "domains": load_domains()}  # fmt: skip
    return Settings(**(base | changes))  # type: ignore[arg-type]


def decide(
    rows: list[BatchRow], wanted: dict[str, Ask | list[Ask]], s: Settings, history: History | None = None
) -> pl.DataFrame:
    batch = to_batch(rows)
    context = Context(as_of=DAY, history=history or History())
    return apply(assess(batch, context, [Asks(wanted)]), batch, context, s)


def test_capacity_keeps_the_highest_expected_values_and_releases_the_rest_to_audit() -> None:
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {
        "k000": ("yellow", "rfi", 90.0),
        "k001": ("yellow", None, 80.0),
        "k002": ("yellow", "rfi", 10.0),
        "k003": ("red", None, 5.0),
    }
    out = decide(rows, wanted, settings(capacity_yellow=0.03))  # 3 stops
    lanes = dict(zip(out["key"], out["lane"], strict=True))
    assert (lanes["k000"], lanes["k001"], lanes["k002"], lanes["k003"]) == ("yellow", "yellow", "yellow", "blue")
    released = out.filter(pl.col("key") == "k003").row(0, named=True)
    assert (
        released["reasons"][-1]["code"] == "CAPACITY" and "post-clearance audit" in released["reasons"][-1]["message"]
    )
    assert "expected value 0.6 (below the day's cut of 1.2)" in released["reasons"][-1]["message"]  # 5% x 12, 10% x 12
    kept = out.filter(pl.col("key") == "k000").row(0, named=True)
    assert kept["reasons"][-1]["code"] == "EXPECTED-VALUE"
    assert kept["reasons"][-1]["message"] == (
        "selected within capacity: expected value 10.8 = 90.0% likely (D90 90.0% (prior)) x EUR 12.0 at stake "
        "(duty and tax at risk EUR 2.0 + fiscal harm EUR 10.0)"
    )  # a 10.00 parcel: 20% of its value at risk, and the fiscal domain's harm weight


def test_what_is_at_stake_outranks_a_likelier_small_finding() -> None:
    rows = [row(f"k{i:03d}", "10.00") for i in range(99)] + [row("big", "900.00")]
    wanted: dict[str, Ask | list[Ask]] = {"k000": ("yellow", None, 80.0), "big": ("yellow", None, 30.0),
                                          "k001": ("red", None, 30.0, "prohibitions", False)}  # fmt: skip
    out = decide(rows, wanted, settings(capacity_yellow=0.02))
    stopped = sorted(out.filter(pl.col("lane").is_in(["yellow", "red"]))["key"].to_list())
    assert stopped == ["big", "k001"]  # 30% of EUR 190 and 30% of EUR 152 beat 80% of EUR 12


def test_measured_hit_rates_take_over_from_the_prior() -> None:
    """A hit whose inspections keep finding nothing loses its place to one that keeps finding."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {"k000": ("yellow", None, 90.0), "k001": ("yellow", None, 40.0)}
    assert decide(rows, wanted, settings(capacity_yellow=0.01)).filter(pl.col("lane") == "yellow")["key"].to_list() == [
        "k000"
    ]
    record = pl.DataFrame(
        {
            "code": ["D90", "D40"],
            "inspected": [95, 40],
            "found": [6, 30],
            "alone_inspected": [90, 30],
            "alone_found": [2, 27],
            "alone_tried": [90, 30],
        }
    )  # what each found where it alone asked for the stop
    out = decide(rows, wanted, settings(capacity_yellow=0.01), History(hit_rates=record))
    assert out.filter(pl.col("lane") == "yellow")["key"].to_list() == ["k001"]
    why = out.filter(pl.col("key") == "k001")["reasons"][0][-1]["message"]
    assert "D40 78.0% (27 found in 30 inspected on its own)" in why  # (27 + 10 x 0.4) / (30 + 10)


def test_mandatory_stops_stay_and_say_so_when_they_exceed_capacity() -> None:
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {f"k{i:03d}": ("red", None, 10.0, "security", True) for i in range(5)}
    wanted["k050"] = ("yellow", "rfi", 99.0)
    out = decide(rows, wanted, settings(capacity_yellow=0.02))
    assert sorted(out.filter(pl.col("lane") == "red")["key"].to_list()) == [f"k{i:03d}" for i in range(5)]
    assert out.filter(pl.col("key") == "k050")["lane"][0] == "blue"  # no room left for a discretionary stop
    assert out["mandatory_over_capacity"].sum() == 5
    message = out.filter(pl.col("key") == "k000")["reasons"][0][-1]["message"]
    assert "this batch's 5 mandatory stops alone exceed the 2 stops the day's capacity has left" in message
    within = decide(rows, {"k000": ("red", None, 10.0, "security", True)}, settings(capacity_yellow=0.02))
    assert within["mandatory_over_capacity"].sum() == 0
    assert within.filter(pl.col("key") == "k000")["reasons"][0][-1]["code"] == "MANDATORY"


def test_a_parcel_released_over_capacity_keeps_only_what_holds_it_for_someone_else() -> None:
    """Released for audit means no open request for information, but the carrier still gets back what it
    may not carry, and the agency keeps its referral; neither goes to customs' inspectors."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    both: list[Ask] = [("yellow", "rfi", 20.0), (None, "carrier", 50.0, "safety", False)]
    excise: list[Ask] = [("yellow", None, 20.0), (None, "oga", 60.0, "oga", False)]  # a repeat seller's vape
    wanted: dict[str, Ask | list[Ask]] = {"k000": ("yellow", "rfi", 95.0), "k001": both,
                                          "k002": (None, "carrier", 50.0, "safety", False), "k003": excise,
                                          "k004": (None, "oga", 60.0, "oga", False)}  # fmt: skip
    out = decide(rows, wanted, settings(capacity_yellow=0.01)).filter(
        pl.col("key").is_in([f"k00{i}" for i in range(5)])
    )
    assert out.select("key", "lane", "referrals").rows() == [
        ("k000", "yellow", ["rfi"]), ("k001", "green", ["carrier"]), ("k002", "green", ["carrier"]),
        ("k003", "green", ["oga"]), ("k004", "green", ["oga"]),
    ]  # fmt: skip  # k001 and k003 released over capacity: not blue, since a referral still holds them; held for
    # the carrier or the excise office as k002 and k004 are, not sent to customs' inspectors


def test_random_selection_is_reproducible_and_explained() -> None:
    rows = [row(f"k{i:04d}", "10.00") for i in range(2000)]
    first = decide(rows, {}, settings(random_rate=0.01))
    again = decide(rows, {}, settings(random_rate=0.01))
    drawn = first.filter(pl.col("lane") == "yellow")
    assert 8 <= drawn.height <= 35
    assert drawn["key"].to_list() == again.filter(pl.col("lane") == "yellow")["key"].to_list()
    assert all(r[-1]["source"] == "random" for r in drawn["reasons"])


def test_trusted_operators_rank_lower_and_are_drawn_less() -> None:
    rows = [row(f"k{i:04d}", "10.00") for i in range(2000)]
    aeo = Operator("s", "Trusted Post", "AEOF", "DE", dt.date(2025, 1, 1), dt.date(2027, 1, 1))
    out = decide(rows, {}, settings(random_rate=0.01, aeo_random_rate=0.0, registry=(aeo,)))
    assert out.filter(pl.col("lane") == "yellow").height == 0  # every consignment here is the AEO's
    assert out["reasons"][0][-1]["source"] == "aeo" and "Trusted Post (AEOF, DE)" in out["reasons"][0][-1]["message"]
    expired = Operator("s", "Trusted Post", "AEOF", "DE", dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    assert (
        decide(rows, {}, settings(random_rate=0.01, registry=(expired,))).filter(pl.col("lane") == "yellow").height > 0
    )
    wanted: dict[str, Ask | list[Ask]] = {"k0000": ("yellow", None, 90.0), "k0001": ("yellow", None, 80.0)}
    one = decide(rows, wanted, settings(capacity_yellow=0.0005, aeo_random_rate=0.0, registry=(aeo,)))  # 1 stop
    released = one.filter(pl.col("key") == "k0001").row(0, named=True)
    why = next(r["message"] for r in released["reasons"] if r["code"] == "CAPACITY")
    ranked = f"ranked at {round(released['expected_value'] * 0.5, 2)} as a trusted operator's"
    assert ranked in why  # the officer reads what the day's cut was compared with, not the expected value alone
    foreign = Operator("s", "Far Away Post", "AEOF", "BR", dt.date(2025, 1, 1), dt.date(2027, 1, 1))
    assert not settings().recognised(foreign, "DE")  # no mutual recognition with BR
    chinese = Operator("s", "CN exporter", "AEO", "CN", dt.date(2025, 1, 1), dt.date(2027, 1, 1))
    assert settings().recognised(chinese, "FR")  # EU-China mutual recognition


def test_the_shipped_settings_load() -> None:
    loaded = load_selectivity()
    assert loaded.capacity_yellow + loaded.capacity_red + loaded.random_rate == pytest.approx(0.05) and loaded.registry
    assert loaded.domains["security"].harm > loaded.domains["fiscal"].harm and loaded.prior_strength > 0
    assert loaded.minimum_stops == 50 and 0 < loaded.review_floor < 1 and loaded.review_minimum >= 1
    assert loaded.least_likely == 0.5  # more likely than not


def test_the_days_capacity_goes_to_what_is_worth_most_across_batches() -> None:
    """A batch of poor candidates does not spend the day's capacity that a later, better one needs: the cut
    is the day's (earlier batches' candidates, weighed early on toward the cut yesterday ended with)."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    poor: dict[str, Ask | list[Ask]] = {"k000": ("yellow", None, 20.0), "k001": ("yellow", None, 20.0)}
    alone = decide(rows, poor, settings(capacity_yellow=0.02))
    assert alone.filter(pl.col("lane") == "yellow").height == 2  # nothing better seen today: kept
    better = History(day_decided=900, day_stopped=18, day_candidates=(9.0,) * 40)  # earlier today: 40 worth 9,
    # the 18 of them its share had room for stopped
    later = decide(rows, poor, settings(capacity_yellow=0.02), better)
    assert later.filter(pl.col("lane") == "yellow").height == 0  # 20% x EUR 12 = 2.4, below the day's cut of 9
    assert "below the day's cut of 9.0" in later.filter(pl.col("key") == "k000")["reasons"][0][-1]["message"]
    morning = History(day_decided=0, yesterday=(1000, 2.0))  # yesterday ended at a cut of 2: both worth it
    early = decide(rows, poor, settings(capacity_yellow=0.02), morning)
    assert early.filter(pl.col("lane") == "yellow").height == 2
    quiet = settings(capacity_yellow=0.02, minimum_stops=50)  # a quiet office keeps its minimum of stops
    assert decide(rows, poor, quiet, better).filter(pl.col("lane") == "yellow").height == 2
    idle = History(day_decided=900, day_stopped=0, day_candidates=(9.0,) * 30, yesterday=(2000, 2.0))  # a day
    # whose morning stopped nothing: the room left (40 for yesterday's 2,000) goes at the rate its candidates come
    assert decide(rows, poor, settings(capacity_yellow=0.02), idle).filter(pl.col("lane") == "yellow").height == 2
    today_only = History(day_decided=900, day_stopped=15, day_candidates=(9.0,) * 40)  # no yesterday: the day
    # so far is all it knows, so a stop of room opening (16 for 901) goes to the day's best, not the next one
    one = decide(rows[:1], poor, settings(capacity_yellow=0.018), today_only)
    assert one.filter(pl.col("lane") == "yellow").height == 0


def test_a_combination_that_inspections_keep_clearing_loses_its_place() -> None:
    """Two hits that look strong together but whose pairing keeps finding nothing: the pairing's own record
    outweighs the estimate from its parts."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {"k000": [("yellow", None, 90.0), ("yellow", None, 80.0)],
                                          "k001": ("yellow", None, 50.0)}  # fmt: skip
    first = decide(rows, wanted, settings(capacity_yellow=0.01))
    assert first.filter(pl.col("lane") == "yellow")["key"].to_list() == ["k000"]  # 98% before any record
    pairing = pl.DataFrame({"signals": ["D80+D90"], "inspected": [40], "found": [0], "tried": [40]})
    out = decide(rows, wanted, settings(capacity_yellow=0.01), History(combinations=pairing))
    assert out.filter(pl.col("lane") == "yellow")["key"].to_list() == ["k001"]
    why = out.filter(pl.col("key") == "k000")["reasons"][0][-1]["message"]
    assert "together 0 found in 40 inspected" in why and "expected value 2.35" in why  # (0 + 10 x 0.98) / 50 x 12


def test_the_random_sample_is_drawn_whatever_the_parcels_risk() -> None:
    """Drawn among all parcels, the sample estimates all traffic: a parcel a rule flagged can be drawn too,
    and is stopped and inspected even where capacity would have released it."""
    rows = [row(f"k{i:04d}", "10.00") for i in range(2000)]
    flagged: dict[str, Ask | list[Ask]] = {f"k{i:04d}": ("yellow", "rfi", 10.0) for i in range(0, 2000, 2)}
    out = decide(rows, flagged, settings(capacity_yellow=0.0, random_rate=0.02))
    sample = out.filter(pl.col("reasons").list.eval(pl.element().struct.field("code") == "RANDOM").list.any())
    keys = set(sample["key"].to_list())
    from_flagged = {k for k in keys if int(k[1:]) % 2 == 0}
    assert 20 <= len(keys) <= 70 and 0 < len(from_flagged) < len(keys)  # both halves drawn alike
    assert set(sample["lane"].to_list()) == {"yellow"}  # stopped, though no capacity was left for the flagged


def test_stops_on_priors_alone_take_only_their_share_of_the_day_when_others_have_a_record() -> None:
    """A new signal (a seller's first record, a newly promoted model) explores before it spends the day."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {f"k{i:03d}": ("yellow", None, 95.0) for i in range(10)}  # new: D95
    wanted |= {f"k{i:03d}": ("yellow", None, 60.0) for i in range(10, 20)}  # measured: D60
    record = pl.DataFrame({"code": ["D60"], "inspected": [30], "found": [24], "alone_inspected": [30],
                           "alone_found": [24], "alone_tried": [30]})  # fmt: skip
    s = settings(capacity_yellow=0.1, explore_share=0.2)
    out = decide(rows, wanted, s, History(hit_rates=record))
    stopped = set(out.filter(pl.col("lane") == "yellow")["key"].to_list())
    assert len(stopped) == 10 and len(stopped & {f"k{i:03d}" for i in range(10)}) == 2  # 20% of 10 stops
    spent = decide(rows, wanted, s, History(hit_rates=record, day_explored=2, day_decided=0))
    assert not set(spent.filter(pl.col("lane") == "yellow")["key"].to_list()) & {f"k{i:03d}" for i in range(10)}
    alone = decide(rows, {k: v for k, v in wanted.items() if int(k[1:]) < 10}, s, History(hit_rates=record))
    assert alone.filter(pl.col("lane") == "yellow").height == 10  # nothing with a record: priors fill the day


def test_room_is_kept_for_the_mandatory_stops_the_rest_of_the_day_will_bring() -> None:
    """Mandatory stops are kept whatever the capacity: a morning that spent the whole day's capacity would
    leave the day over it when they come. Room is kept at yesterday's share, then at today's."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {f"k{i:03d}": ("yellow", None, 90.0) for i in range(30)}
    day = settings(capacity_yellow=0.02)  # yesterday's 1,000 consignments: 20 stops for the day
    unknown = History(day_decided=0, yesterday=(1000, 0.5))
    assert decide(rows, wanted, day, unknown).filter(pl.col("lane") == "yellow").height == 20
    morning = History(day_decided=0, yesterday=(1000, 0.5), yesterday_mandatory=0.01)
    kept = decide(rows, wanted, day, morning).filter(pl.col("lane") == "yellow").height
    assert kept == 20 - 13  # 1% of the 900 still to come (weighed 9 to 1 toward yesterday: 0.9%): 8.1, and
    # room for their Poisson spread, 1.645 x sqrt(8.1), so that 19 days in 20 stay within capacity: 12.8
    evening = History(day_decided=900, day_mandatory=(0, 900), yesterday=(1000, 0.5), yesterday_mandatory=0.01)
    assert decide(rows, wanted, day, evening).filter(pl.col("lane") == "yellow").height == 20  # none to come


def test_room_is_kept_for_the_random_sample_drawing_above_its_share() -> None:
    """The random sample brings its room as its parcels come, at its mean: room is kept for its spread too,
    or a day whose sample draws above its share ends over capacity."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {f"k{i:03d}": ("yellow", None, 90.0) for i in range(30)}
    unknown = History(day_decided=0, yesterday=(1000, 0.5))
    sampled = settings(capacity_yellow=0.02, random_rate=0.01)  # 21 stops once these 100 are seen
    out = decide(rows, wanted, sampled, unknown)
    stops = out.filter(pl.col("lane").is_in(["yellow", "red"])).height
    assert stops == 21 - 5  # 1% of the 900 still to come: 9, which may draw up to 1.645 x sqrt(9) above it
    evening = History(day_decided=900, day_mandatory=(0, 900), yesterday=(1000, 0.5))
    assert decide(rows, wanted, sampled, evening).filter(pl.col("lane") == "yellow").height == 30  # none to come


def test_once_records_exist_a_new_signal_is_tried_as_often_as_measuring_it_needs() -> None:
    """The day a seller's record first shows, it is tried on a few parcels (and a few of one seller), not on
    every parcel the capacity has room for: measuring it needs `proven_after` of them."""
    one_seller = [msgspec.structs.replace(row(f"a{i:02d}", "10.00"), party_keys={"seller": "a" * 64})
                  for i in range(20)]  # fmt: skip
    others = [msgspec.structs.replace(row(f"b{i:02d}", "10.00"), party_keys={"seller": f"{i:02d}" * 32})
              for i in range(10)]  # fmt: skip
    rows = one_seller + others + [row(f"z{i:03d}", "10.00") for i in range(70)]
    wanted: dict[str, Ask | list[Ask]] = {r.key: ("yellow", None, 95.0) for r in one_seller + others}  # new: D95
    record = pl.DataFrame({"code": ["D60"], "inspected": [30], "found": [24], "alone_inspected": [30],
                           "alone_found": [24], "alone_tried": [30]})  # fmt: skip
    s = settings(capacity_yellow=0.5, proven_after=10, per_party=3)
    out = decide(rows, wanted, s, History(hit_rates=record))
    stopped = out.filter(pl.col("lane") == "yellow")["key"].to_list()
    assert len(stopped) == 10 and sum(k.startswith("a") for k in stopped) == 3  # 3 of one seller, 7 of others
    assert out.filter(pl.col("key").is_in(stopped))["explored_as"].to_list() == ["D95"] * 10
    tried = decide(rows, wanted, s, History(hit_rates=record, day_explored_by={"D95": 8}))
    assert tried.filter(pl.col("lane") == "yellow").height == 2  # the day tried 8 already
    new_office = decide(rows, wanted, s, History())
    assert new_office.filter(pl.col("lane") == "yellow").height == 30  # nothing has a record: priors rule


def test_a_record_from_few_sellers_is_measured_and_weighs_as_few() -> None:
    """A detector whose 141 inspections on its own came from three sellers (138 found): its record counts as
    nine inspections for what it says, but it is measured; its stops, and those it makes with a new hit (the
    same sellers, now repeat offenders), are not held to the few a day tries of an unmeasured signal."""
    rows = [msgspec.structs.replace(row(f"s{i:03d}", "100.00"), party_keys={"seller": f"{i % 3:02d}" * 32})
            for i in range(60)] + [row(f"z{i:03d}", "10.00") for i in range(940)]  # fmt: skip
    wanted: dict[str, Ask | list[Ask]] = {f"s{i:03d}": [("yellow", None, 60.0), ("yellow", None, 25.0)]
                                          for i in range(60)}  # D60 (the detector) with D25 (new)  # fmt: skip
    wanted |= {f"z{i:03d}": ("yellow", None, 50.0) for i in range(40)}  # measured: D50, nothing found
    record = pl.DataFrame({"code": ["D60", "D50"], "inspected": [141, 40], "found": [138, 4],
                           "alone_inspected": [9, 40], "alone_found": [9, 4], "alone_tried": [141, 40]})  # fmt: skip
    s = settings(capacity_yellow=0.05, proven_after=10, per_party=3)
    out = decide(rows, wanted, s, History(hit_rates=record))
    stopped = out.filter(pl.col("lane") == "yellow")["key"].to_list()
    assert sum(k.startswith("s") for k in stopped) == 50  # the capacity: not 9, the detector is measured
    why = out.filter(pl.col("key") == stopped[0])["reasons"][0][-1]["message"]
    assert "D60 " in why and "found in 9 inspected on its own" in why  # what it says weighs as three sellers
    unmeasured = record.with_columns(pl.col("alone_tried").replace({141: 9}))
    held = decide(rows, wanted, s, History(hit_rates=unmeasured)).filter(pl.col("lane") == "yellow")
    assert held.filter(pl.col("key").str.starts_with("s")).height == 9  # 3 of each seller: measuring it


def test_a_stop_on_a_measured_record_must_be_likely_whatever_is_at_stake() -> None:
    """A seller's record that finds something one time in ten does not stop its dear parcels ahead of cheap
    ones nine times in ten infringing; a new signal still explores, and says why a parcel was released."""
    rows = [row("dear", "5000.00"), row("cheap", "20.00"), row("new", "5000.00")]
    rows += [row(f"z{i:03d}", "10.00") for i in range(97)]
    wanted: dict[str, Ask | list[Ask]] = {
        "dear": ("yellow", None, 10.0),
        "cheap": ("yellow", None, 90.0),
        "new": ("yellow", None, 30.0),
    }  # D10 and D90 measured; D30 is new
    record = pl.DataFrame({"code": ["D10", "D90"], "inspected": [40, 40], "found": [4, 36],
                           "alone_inspected": [40, 40], "alone_found": [4, 36], "alone_tried": [40, 40]})  # fmt: skip
    s = settings(capacity_yellow=0.03)
    ranked = decide(rows, wanted, s, History(hit_rates=record))
    assert set(ranked.filter(pl.col("lane") == "yellow")["key"].to_list()) == {"dear", "cheap", "new"}
    floor = settings(capacity_yellow=0.03, least_likely=0.5)
    out = decide(rows, wanted, floor, History(hit_rates=record))
    assert set(out.filter(pl.col("lane") == "yellow")["key"].to_list()) == {"cheap", "new"}
    why = out.filter(pl.col("key") == "dear")["reasons"][0][-1]
    assert why["code"] == "UNLIKELY" and why["message"].startswith("10.0% likely, under the 50% a stop")
    assert out.filter(pl.col("key") == "dear")["lane"][0] == "blue"  # released, then audited


def test_the_days_later_cuts_are_drawn_among_the_stops_that_competed_for_its_room() -> None:
    """What the day's next batches (and tomorrow's first) are cut among is the rank each stop competed at: a stop
    judged unlikely could not be kept whatever its value, and an AEO's competes after the AEO factor. Counted
    at its full expected value, or counted at all, each raised the cut above what the day's candidates could
    reach, and the day ended under capacity."""
    rows = [row("dear", "5000.00"), row("cheap", "20.00")] + [row(f"z{i:03d}", "10.00") for i in range(98)]
    wanted: dict[str, Ask | list[Ask]] = {"dear": ("yellow", None, 10.0), "cheap": ("yellow", None, 90.0)}
    record = pl.DataFrame({"code": ["D10", "D90"], "inspected": [40, 40], "found": [4, 36],
                           "alone_inspected": [40, 40], "alone_found": [4, 36], "alone_tried": [40, 40]})  # fmt: skip
    aeo = Operator("s", "Trusted Post", "AEOF", "DE", dt.date(2025, 1, 1), dt.date(2027, 1, 1))
    for registry, factor in (((), 1.0), ((aeo,), 0.5)):
        s = settings(capacity_yellow=0.03, least_likely=0.5, registry=registry)
        out = decide(rows, wanted, s, History(hit_rates=record)).filter(pl.col("key").is_in(["dear", "cheap"]))
        ranks = dict(zip(out["key"], out[CANDIDATE_RANK], strict=True))
        values = dict(zip(out["key"], out["expected_value"], strict=True))
        assert ranks["dear"] is None and values["dear"] > values["cheap"]  # unlikely: worth more, but never a stop
        assert ranks["cheap"] == pytest.approx(values["cheap"] * factor)


def test_a_prior_beside_a_measured_record_does_not_raise_the_likelihood_but_has_the_pair_measured() -> None:
    """The day a model is promoted, its new band (a prior) rides along a seller's record of one in ten: the
    stop is as likely as the record says, and says which hit was not counted. Unlikely on that record, it is
    not released on it either: the pair is a combination nobody measured, explored like a new signal until
    its own record speaks, and released as unlikely once that record says one in ten too."""
    rows = [row("dear", "5000.00")] + [row(f"z{i:03d}", "10.00") for i in range(99)]
    wanted: dict[str, Ask | list[Ask]] = {"dear": [("yellow", None, 10.0), ("yellow", None, 45.0)]}  # D45: new
    record = pl.DataFrame({"code": ["D10"], "inspected": [40], "found": [4], "alone_inspected": [40],
                           "alone_found": [4], "alone_tried": [40]})  # fmt: skip
    s = settings(capacity_yellow=0.05, least_likely=0.5)
    dear = decide(rows, wanted, s, History(hit_rates=record)).filter(pl.col("key") == "dear")
    assert dear["likelihood"][0] == pytest.approx(0.1)  # not 1 - 0.9 x 0.55
    assert dear["lane"][0] == "yellow" and dear["explored_as"][0] == "D10+D45"  # tried, to measure the pair
    why = dear["reasons"][0][-1]["message"]
    assert "D45 45.0% (prior), not counted beside a measured hit" in why and "D10 10.0% (4 found in 40" in why
    pair = pl.DataFrame({"signals": ["D10+D45"], "inspected": [10], "found": [1], "tried": [10]})
    measured = decide(rows, wanted, s, History(hit_rates=record, combinations=pair)).filter(pl.col("key") == "dear")
    assert measured["lane"][0] == "blue" and measured["reasons"][0][-1]["code"] == "UNLIKELY"
    alone = decide(rows, {"dear": ("yellow", None, 10.0)}, s, History(hit_rates=record)).filter(pl.col("key") == "dear")
    assert alone["lane"][0] == "blue"  # on its measured record alone: released as unlikely, as before


def test_a_combination_not_measured_yet_is_as_likely_as_its_measured_part() -> None:
    """A new hit (a newly promoted model's band) joins two hits whose pairing inspections found infringing 13
    times in 14: the three together are at least as likely as the pair, though each hit alone finds little, and
    they are stopped as a measured record is, not explored a few a day. Once the three have a record of their
    own, it speaks instead."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {
        f"k{i:03d}": [("yellow", None, 10.0), ("yellow", None, 20.0), ("yellow", None, 30.0)] for i in range(20)
    }
    alone = pl.DataFrame({"code": ["D10", "D20", "D30"], "inspected": [40] * 3, "found": [2, 4, 6],
                          "alone_inspected": [40] * 3, "alone_found": [2, 4, 6], "alone_tried": [40] * 3})  # fmt: skip
    s = settings(capacity_yellow=0.3, least_likely=0.5, explore_share=0.2)
    unmeasured = decide(rows, wanted, s, History(hit_rates=alone))
    assert unmeasured.filter(pl.col("lane") == "yellow").height == 0  # 1 - 0.94 x 0.88 x 0.82 = 32%: unlikely
    pair = pl.DataFrame({"signals": ["D10+D20", "D20+D30"], "inspected": [14, 20], "found": [13, 1], "tried": [14, 20]})
    out = decide(rows, wanted, s, History(hit_rates=alone, combinations=pair))
    assert out.filter(pl.col("lane") == "yellow").height == 20  # all of them: a measured record, not a new one
    assert out["likelihood"][0] == pytest.approx((13 + 10 * (1 - 0.94 * 0.88 * 0.82)) / 24)  # the better pair's
    assert out["explored"].sum() == 0
    single = decide(rows[:1], wanted, s, History(hit_rates=alone, combinations=pair))  # read without a query
    assert single["likelihood"][0] == pytest.approx(out["likelihood"][0])
    why = out["reasons"][0][-1]["message"]
    assert "D10 and D20 of its hits found 13 in 14 inspected together, so at least 68.0%" in why
    own = pair.vstack(pl.DataFrame({"signals": ["D10+D20+D30"], "inspected": [20], "found": [2], "tried": [20]}))
    measured = decide(rows, wanted, s, History(hit_rates=alone, combinations=own))
    assert measured.filter(pl.col("lane") == "yellow").height == 0  # (2 + 10 x 0.32) / 30: its own record rules
    assert "of its hits found" not in measured["reasons"][0][-1]["message"]


def test_a_stop_released_because_the_day_is_full_says_so_and_not_that_it_was_worth_too_little() -> None:
    """Late in a day whose capacity earlier parcels took, a parcel worth more than the day's cut is released:
    the officer and the audit read that the room was taken, not that it fell below the cut."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    rows[0] = row("k000", "500.00")
    wanted: dict[str, Ask | list[Ask]] = {"k000": ("yellow", None, 90.0), "k001": ("yellow", None, 10.0)}
    full = History(day_decided=900, day_stopped=20, day_candidates=(5.0,) * 20)  # 2% of 1,000: all 20 taken
    out = decide(rows, wanted, settings(capacity_yellow=0.02), full)
    assert out.filter(pl.col("lane") == "yellow").height == 0
    worth = out.filter(pl.col("key") == "k000")["reasons"][0][-1]
    assert worth["code"] == "CAPACITY" and "below the day's cut" not in worth["message"]
    assert "worth the day's cut of 5.0, but the stops made before it took the room" in worth["message"]
    poor = out.filter(pl.col("key") == "k001")["reasons"][0][-1]["message"]
    assert "expected value 1.2 (below the day's cut of 5.0)" in poor  # 10% x (EUR 2 at risk + 10 harm)


def test_a_stop_made_before_the_filing_was_amended_stands_whatever_the_capacity() -> None:
    """A parcel stopped for a control, amended late in a day whose capacity is spent: while its new filing still
    asks for a stop it keeps it, and takes room from the day's discretionary stops; one whose amendment removed
    what asked for the stop goes as any other."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {"k000": ("yellow", "rfi", 30.0), "k001": ("yellow", None, 90.0)}
    full = History(
        day_decided=900, day_stopped=20, day_candidates=(5.0,) * 20, stopped_before={"k000": ("yellow", False)}
    )
    out = decide(rows, wanted, settings(capacity_yellow=0.02), full)
    lanes = dict(zip(out["key"], out["lane"], strict=True))
    assert (lanes["k000"], lanes["k001"]) == ("yellow", "blue")
    standing = out.filter(pl.col("key") == "k000").row(0, named=True)
    assert standing["reasons"][-1]["code"] == "STANDING" and not standing["discretionary"]
    assert standing["referrals"] == ["rfi"]
    room = History(
        day_decided=900, day_stopped=18, day_candidates=(5.0,) * 18, stopped_before={"k000": ("yellow", False)}
    )
    both = decide(rows, wanted, settings(capacity_yellow=0.02), room)  # 20 for 1,000: the standing stop takes one
    assert both.filter(pl.col("lane") == "yellow")["key"].to_list() == ["k000", "k001"]
    answered = decide(rows, {"k001": ("yellow", None, 90.0)}, settings(capacity_yellow=0.02), full)
    assert answered.filter(pl.col("key") == "k000")["lane"][0] == "green"  # nothing asks for a stop any more
    anew = History(day_decided=900, day_stopped=20, day_candidates=(5.0,) * 20, stopped_before={"k000": ("red", True)})
    refiled = decide(rows, {"k001": ("yellow", None, 90.0)}, settings(capacity_yellow=0.02), anew).row(0, named=True)
    assert (refiled["lane"], refiled["reasons"][-1]["code"]) == ("red", "STANDING")  # withdrawn and filed anew


def test_one_part_of_an_order_found_split_is_stopped_and_stands_for_the_others() -> None:
    """Inspecting one part finds the order, whose finding names and reassesses the others: a split-shipment hit
    alone stops one part per order, and a part with another hit of its own stays ranked on it."""
    from clearway.risk.detectors import SplitShipmentDetector
    from tests.unit.test_detectors import row
    from tests.unit.test_revenue import reference

    rules, _ = reference()
    buyer = {"name": "One Buyer", "address": {"street": "Hauptstr. 1", "city": "Bonn", "postcode": "53111",
                                              "country": "DE"}}  # fmt: skip
    parts = [row(f"p{i}", price, consignee=buyer) for i, price in enumerate(("100.00", "90.00", "80.00"))]
    others = [row(f"k{i:03d}", "10.00", consignee=buyer | {"name": f"Buyer {i}"}) for i in range(97)]
    batch = to_batch(parts + others)
    context = Context(as_of=DAY, history=History())
    out = apply(assess(batch, context, [SplitShipmentDetector(rules)]), batch, context, settings(capacity_yellow=0.1))
    lanes = dict(zip(out["key"], out["lane"], strict=True))
    assert sorted(k for k, lane in lanes.items() if lane == "yellow") == ["p0"]  # the part most worth a stop
    for key in ("p1", "p2"):
        reason = out.filter(pl.col("key") == key)["reasons"][0][-1]
        assert lanes[key] == "green" and reason["code"] == "ORDER" and "(p0)" in reason["message"]  # not audited
    with_more = apply(assess(batch, context, [SplitShipmentDetector(rules), Asks({"p2": ("yellow", None, 90.0)})]),
                      batch, context, settings(capacity_yellow=0.1))  # fmt: skip
    stopped = sorted(with_more.filter(pl.col("lane") == "yellow")["key"].to_list())
    assert stopped == ["p2"]  # stopped on a reason of its own, it finds the order too: it stands for p0 and p1
    assert [r[-1]["code"] for r in with_more.filter(pl.col("key").is_in(["p0", "p1"]))["reasons"]] == ["ORDER"] * 2
    alone = decide([parts[1], *others], {"p1": ("yellow", None, 90.0)}, settings(capacity_yellow=0.1))
    assert alone.filter(pl.col("lane") == "yellow")["key"].to_list() == ["p1"]  # no order: nothing changes
    # a fiscal hit on every part (as the model's is: one seller, one buyer, one route, alike goods and values) is
    # answered by the order's documents as the split is: one part; a hit on a part's goods (IPR) keeps it ranked
    everywhere = {f"p{i}": ("yellow", None, 70.0) for i in range(3)}
    fiscal = apply(assess(batch, context, [SplitShipmentDetector(rules), Asks(everywhere)]), batch, context,
                   settings(capacity_yellow=0.1))  # fmt: skip
    assert fiscal.filter(pl.col("lane") == "yellow")["key"].to_list() == ["p0"]
    goods = {key: ("yellow", None, 70.0, "ipr", False) for key in ("p1", "p2")}
    ipr = apply(assess(batch, context, [SplitShipmentDetector(rules), Asks(everywhere | goods)]), batch, context,
                settings(capacity_yellow=0.1))  # fmt: skip
    assert sorted(ipr.filter(pl.col("lane") == "yellow")["key"].to_list()) == ["p1", "p2"]


def test_the_sellers_record_on_every_part_of_an_order_stops_one_part() -> None:
    """A seller found undervaluing before, splitting one buyer's order into three parcels: its record hits each
    part alike, and inspecting one part finds the order and its whole price, so one part is stopped and the
    others are released for it; the seller's record alone, on a parcel of no order, still stops it. A record of
    counterfeits is about each parcel's goods: every part stays stopped."""
    from clearway.risk.detectors import SplitShipmentDetector
    from clearway.risk.offenders import RepeatOffenderDetector
    from tests.unit.test_detectors import keyed
    from tests.unit.test_revenue import reference

    rules, _ = reference()
    offenders = pl.DataFrame([{"role": "seller", "party_key": "s" * 64, "infringements": 2, "seizures": 0,
                               "kinds": ["undervaluation"], "last_at": DAY - dt.timedelta(days=2)}],
                             schema=OFFENDERS)  # fmt: skip
    context = Context(as_of=DAY, history=History(offenders=offenders))
    parts = [keyed(f"p{i}", price) for i, price in enumerate(("100.00", "90.00", "80.00"))]
    lone = keyed("q0", "30.00", consignee="d")  # the same seller, another buyer: no order
    others = [keyed(f"k{i:03d}", "10.00", seller="t", consignee=f"{i % 10}") for i in range(96)]
    batch = to_batch([*parts, lone, *others])
    stages = [SplitShipmentDetector(rules), RepeatOffenderDetector()]
    out = apply(assess(batch, context, stages), batch, context, settings(capacity_yellow=0.1))
    lanes = dict(zip(out["key"], out["lane"], strict=True))
    assert sorted(k for k, lane in lanes.items() if lane == "yellow") == ["p0", "q0"]
    for key in ("p1", "p2"):
        row_ = out.filter(pl.col("key") == key).row(0, named=True)
        codes = {r["code"] for r in row_["reasons"]}
        assert {"DET-REPEAT-SELLER", "DET-SPLIT"} <= codes  # the officer still reads both hits
        assert lanes[key] == "green" and row_["reasons"][-1]["code"] == "ORDER"
        assert "its parties' record of value fraud" in row_["reasons"][-1]["message"]
    own = apply(assess(batch, context, [*stages, Asks({"p2": ("yellow", None, 90.0)})]), batch, context,
                settings(capacity_yellow=0.1))  # fmt: skip
    assert sorted(own.filter(pl.col("lane") == "yellow")["key"].to_list()) == ["p2", "q0"]  # p2 answers for p0, p1
    # a seller found with counterfeits, or seized from: what is in one parcel says nothing of the others' goods
    for record in ({"kinds": ["counterfeit"]}, {"seizures": 1}):
        history = History(offenders=offenders.with_columns(**{k: pl.lit(v) for k, v in record.items()}))
        found = Context(as_of=DAY, history=history)
        each = apply(assess(batch, found, stages), batch, found, settings(capacity_yellow=0.1, capacity_red=0.1))
        stopped = each.filter(pl.col("lane").is_in(["yellow", "red"]))["key"].to_list()
        assert sorted(stopped) == ["p0", "p1", "p2", "q0"], record


def test_a_parcel_with_nothing_to_choose_is_decided_alone_as_beside_stops() -> None:
    """A filing no hit asks to stop, not drawn and no trusted operator's, is decided alone (without the plans
    that choose among stops) exactly as the same parcel is beside parcels that compete for the day's room."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(40)]
    quiet: dict[str, Ask | list[Ask]] = {"k000": (None, "rfi", 30.0)}  # a referral, and its signal, but no stop
    stops: dict[str, Ask | list[Ask]] = {"k001": ("yellow", None, 90.0), "k002": ("red", None, 40.0)}
    s = settings(capacity_yellow=0.05)
    alone = decide(rows[:1], quiet, s)
    beside = decide(rows, quiet | stops, s)
    assert beside.filter(pl.col("lane").is_in(["yellow", "red"])).height == 2  # the batch's stops competed
    assert alone.columns == beside.columns and alone.schema == beside.schema
    assert alone.to_dicts() == beside.filter(pl.col("key") == "k000").to_dicts()
    assert alone["referrals"].to_list() == [["rfi"]] and alone["expected_value"].to_list() == [0.0]


def area(share: float = 0.5, start: dt.date = dt.date(2026, 1, 1), end: dt.date | None = None) -> PriorityArea:
    risks = (("cheap", frozenset({"D60"})), ("dear", frozenset({"D90"})))
    return PriorityArea("PCA-T", "a test area", share, risks, "fiscal", start, end, "a test basis")


def test_a_priority_area_shares_its_stops_among_its_risks_as_expected_value_would_not() -> None:
    """Ranked by expected value alone, the likelier risk (D90) takes every stop; an area keeping half the day's
    stops for both shares them in proportion to the infringements each one's parcels are expected to hold, so the
    other risk (D60) is controlled too, and each stop it makes says so. Outside the area's dates, expected value
    decides alone."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(400)]
    wanted: dict[str, Ask | list[Ask]] = {f"k{i:03d}": ("yellow", "rfi", 90.0) for i in range(10)}
    wanted |= {f"k{i:03d}": ("yellow", "rfi", 60.0) for i in range(10, 20)}
    wanted |= {f"k{i:03d}": ("yellow", "rfi", 95.0, "ipr", False) for i in range(20, 30)}  # another domain's risk
    plain = decide(rows, wanted, settings(capacity_yellow=0.02))  # 8 stops
    stopped = set(plain.filter(pl.col("lane") == "yellow")["key"])
    assert stopped == {f"k{i:03d}" for i in range(20, 28)}  # the counterfeits' harm outranks every fiscal stop
    out = decide(rows, wanted, settings(capacity_yellow=0.02, priority_areas=(area(share=0.5),)))
    kept = out.filter(pl.col("lane") == "yellow")
    assert kept.height == 8
    by_risk = kept.group_by(pl.col("area_stop")).len()
    # 4 of 8, shared as the 10 parcels each flags are expected to hold 6 and 9 infringements: 1.6 and 2.4, in whole
    # stops by the largest remainders
    assert dict(by_risk.iter_rows()) == {"PCA-T/cheap": 2, "PCA-T/dear": 2, None: 4}
    cheap = kept.filter(pl.col("area_stop") == "PCA-T/cheap").row(0, named=True)["reasons"][-1]
    assert cheap["code"] == "PRIORITY-AREA"
    assert cheap["message"].startswith(
        "selected within a priority control area, PCA-T (a test area) for cheap: the area keeps 50% of the day's "
        "stops for its risks, shared in proportion to the infringements each one's flagged parcels are expected to "
        "hold (a test basis): expected value"
    )
    assert set(kept.filter(pl.col("area_stop").is_null())["key"]) <= {f"k{i:03d}" for i in range(20, 30)}
    lapsed = settings(capacity_yellow=0.02, priority_areas=(area(end=dt.date(2026, 2, 28)),))
    assert set(decide(rows, wanted, lapsed).filter(pl.col("lane") == "yellow")["key"]) == stopped


def test_a_priority_area_counts_the_infringements_a_risk_flags_not_only_the_parcels_likely_enough_to_stop() -> None:
    """A risk whose hits flag many parcels too unlikely to be stopped one by one (a 30% signal, beside a 60% one)
    holds more infringements than its candidates say: shared by candidates (10 each), it would get half the area's
    stops, and its infringements would be found at a lower rate than the other risk's. Shared by expected
    infringements (6 + 30 x 0.3 = 15 against 9), it gets 5 of 8, spent on its likeliest parcels."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(400)]
    wanted: dict[str, Ask | list[Ask]] = {f"k{i:03d}": ("yellow", "rfi", 90.0) for i in range(10)}
    wanted |= {f"k{i:03d}": ("yellow", "rfi", 60.0) for i in range(10, 20)}
    wanted |= {f"k{i:03d}": ("yellow", "rfi", 30.0) for i in range(20, 50)}
    risks = (("likely", frozenset({"D90"})), ("doubtful", frozenset({"D60", "D30"})))
    whole = PriorityArea("PCA-T", "a test area", 1.0, risks, "fiscal", dt.date(2026, 1, 1), None, "a test basis")
    out = decide(rows, wanted, settings(capacity_yellow=0.02, least_likely=0.5, priority_areas=(whole,)))
    kept = out.filter(pl.col("lane") == "yellow")
    assert dict(kept.group_by("area_stop").len().iter_rows()) == {"PCA-T/doubtful": 5, "PCA-T/likely": 3}
    assert set(kept.filter(pl.col("area_stop") == "PCA-T/doubtful")["key"]) <= {f"k{i:03d}" for i in range(10, 20)}
    flagged = out.filter(pl.col("area_candidate").is_not_null())  # what the day's tally sums, the 30% ones included
    assert dict(flagged.group_by("area_candidate").agg(pl.col("likelihood").sum().round(6)).iter_rows()) == {
        "PCA-T/doubtful": 15.0, "PCA-T/likely": 9.0,
    }  # fmt: skip


def test_a_priority_area_takes_its_share_as_the_day_goes_and_what_it_spent_counts() -> None:
    """A morning batch spends the area's share of the morning, not the day's; the stops it made earlier count
    against what it may still make, and what one risk lacks candidates for goes to the others."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted: dict[str, Ask | list[Ask]] = {f"k{i:03d}": ("yellow", "rfi", 60.0) for i in range(30)}
    s = settings(capacity_yellow=0.1, priority_areas=(area(share=0.5),))
    morning = History(day_decided=0, yesterday=(1000, 1.0))  # a tenth of yesterday's day: 50 x 0.1 = 5 stops
    out = decide(rows, wanted, s, morning)
    assert out.filter(pl.col("area_stop") == "PCA-T/cheap").height == 5  # the dear risk had no candidate: its part
    spent = History(day_decided=0, yesterday=(1000, 1.0), day_areas={"PCA-T/cheap": (18.0, 5)})
    assert decide(rows, wanted, s, spent).filter(pl.col("area_stop").is_not_null()).height == 0
    assert allowance((area(share=0.5),), {"PCA-T/cheap": 6.0, "PCA-T/dear": 18.0}, {}, 100, 1.0) == {
        "PCA-T/cheap": 13, "PCA-T/dear": 37,
    }  # fmt: skip  # 12.5 and 37.5: the whole stop the rounding leaves goes to the first of equal remainders
    assert allowance((area(share=0.5),), {"PCA-T/cheap": 6.0, "PCA-T/dear": 18.0}, {"PCA-T/dear": (0.0, 40)}, 100,
                     1.0) == {"PCA-T/cheap": 13, "PCA-T/dear": 0}  # fmt: skip  # what it made before counts


def test_a_parcel_counts_under_the_first_area_risk_its_stopping_hits_show_all_of_its_domain() -> None:
    """The area risk a parcel is a candidate for, from its hits that ask to stop: the first, in the settings'
    order, that one of them signals, only where every one of them is of the area's domain. An area of the same
    domain that has no risk the parcel shows leaves it to the next."""
    first = area()
    other = PriorityArea("PCA-U", "another area", 0.2, (("odd", frozenset({"D70", "D90"})),), "fiscal",
                         dt.date(2026, 1, 1), None, "b")  # fmt: skip
    safety = PriorityArea("PCA-S", "a safety area", 0.2, (("cells", frozenset({"D80"})),), "safety",
                          dt.date(2026, 1, 1), None, "b")  # fmt: skip
    hits = {
        "a": [("D90", "fiscal"), ("D60", "fiscal")],  # both the first area's: its first risk (cheap) in order
        "b": [("D70", "fiscal")],  # none of the first area's risks: the next fiscal area's
        "c": [("D90", "fiscal"), ("D80", "safety")],  # a safety hit beside it: no area's
        "d": [("D80", "safety")],
        "e": [("D90", None)],  # a hit of no domain
        "f": [("D99", "fiscal")],  # no area's risk
    }
    frame = pl.DataFrame(
        [(key, code, domain) for key, asked in hits.items() for code, domain in asked],
        schema={"key": pl.String, "code": pl.String, "domain": pl.String}, orient="row",
    )  # fmt: skip

    def risks(areas: tuple[PriorityArea, ...]) -> dict[str, str | None]:
        return dict(frame.group_by("key").agg(risk_of(areas).alias("risk")).iter_rows())

    assert risks((first, other, safety)) == {
        "a": "PCA-T/cheap", "b": "PCA-U/odd", "c": None, "d": "PCA-S/cells", "e": None, "f": None
    }  # fmt: skip
    assert risks(()) == dict.fromkeys(hits)


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("{code: A, domain: fiscal, share: 0, risks: {x: [D1]}, from: 2026-01-01, basis: b}", "share is a share"),
        ("{code: A, domain: fiscal, share: 0.5, risks: {x: []}, from: 2026-01-01, basis: b}", "lists the hit codes"),
        ("{code: A, domain: tax, share: 0.5, risks: {x: [D1]}, from: 2026-01-01, basis: b}", "domain is one of"),
        ("{code: A, domain: fiscal, share: 0.5, risks: {x: [D1]}, from: 2026-01-01}", "takes basis"),
        ("{code: A, domain: fiscal, share: 0.5, risks: {x: [D1]}, from: 2026-03-01, until: 2026-01-01, basis: b}",
         "until not before from"),
        ("{code: A/B, domain: fiscal, share: 0.5, risks: {x: [D1]}, from: 2026-01-01, basis: b}", "a name of its own"),
    ],
)  # fmt: skip
def test_a_priority_area_that_does_not_say_what_it_needs_is_refused_with_its_line(entry: str, said: str) -> None:
    text = f"capacity: {{yellow: 0.03}}\npriority_areas:\n  - {entry}\n"
    with pytest.raises(RuleFileError) as raised:
        load_selectivity(text, "areas.yaml")
    assert said in str(raised.value) and "areas.yaml" in str(raised.value)
    two = (
        "priority_areas:\n"
        + "".join(f"  - {{code: A{i}, domain: fiscal, share: 0.6, risks: {{x: [D1]}}, from: 2026-01-01, basis: b}}\n"
                  for i in range(2))
    )  # fmt: skip
    with pytest.raises(RuleFileError, match="more than the day's stops"):
        load_selectivity(two, "areas.yaml")


def test_the_shipped_priority_area_covers_each_kind_of_value_fraud_with_its_basis() -> None:
    (shipped,) = load_selectivity().priority_areas
    assert shipped.in_force(dt.date(2026, 11, 16)) and shipped.domain == "fiscal" and "952/2013" in shipped.basis
    assert [risk for risk, _ in shipped.risks] == [
        "ioss_misuse", "split_shipment", "false_gift", "misclassification", "undervaluation",
    ]  # fmt: skip
    assert {"DET-UNDERVALUE", "DET-UNDERVALUE-LOW"} <= dict(shipped.risks)["undervaluation"]


def test_a_priority_area_tries_an_unmeasured_risk_that_could_prove_likely_but_not_a_hopeless_one() -> None:
    """Once records exist, a stop resting on priors that is unlikely today is still an area's candidate while its
    likelihood could prove high enough (a 30% prior, on no inspection of its own: the upper bound of its credible
    interval passes 50%), up to what measuring it needs; a 5% prior cannot, and is left out. Without the area
    trying it, the counterfeits' harm would take every stop, and the 30% risk would never be measured."""
    rows = [row(f"k{i:03d}", "10.00") for i in range(400)]
    wanted: dict[str, Ask | list[Ask]] = {f"k{i:03d}": ("yellow", "rfi", 30.0) for i in range(20)}
    wanted |= {f"k{i:03d}": ("yellow", "rfi", 5.0) for i in range(20, 40)}
    wanted |= {f"k{i:03d}": ("yellow", "rfi", 90.0, "ipr", False) for i in range(40, 70)}
    record = pl.DataFrame({"code": ["D90"], "inspected": [30], "found": [27], "alone_inspected": [30],
                           "alone_found": [27], "alone_tried": [30]})  # fmt: skip
    risks = (("maybe", frozenset({"D30"})), ("hopeless", frozenset({"D5"})))
    tried = PriorityArea("PCA-T", "a test area", 0.5, risks, "fiscal", dt.date(2026, 1, 1), None, "a test basis")
    s = settings(capacity_yellow=0.05, proven_after=10, least_likely=0.5, priority_areas=(tried,))
    out = decide(rows, wanted, s, History(hit_rates=record))
    stops = out.filter(pl.col("lane") == "yellow")
    assert stops.height == 20
    assert dict(stops.group_by("area_stop").len().iter_rows()) == {"PCA-T/maybe": 10, None: 10}
    assert stops.filter(pl.col("area_stop").is_null())["key"].str.slice(1).cast(pl.Int64).min() >= 40  # D90s
    hopeless = out.filter(pl.col("key") == "k020")  # the 5% one: flagged under its risk, not tried
    assert hopeless["area_candidate"].to_list() == ["PCA-T/hopeless"] and hopeless["area_stop"].to_list() == [None]


def test_a_small_batch_gets_the_reasons_appended_as_a_days_batch_does() -> None:
    """A single filing's (or a small batch's) selectivity reasons are appended to each row's own, in order, exactly
    as a day's batch appends them: the row that gains none keeps its reasons, one with none gains its new ones."""
    from clearway.pipeline.decision import REASON
    from clearway.risk.selectivity import _with_reasons_added

    def reason(code: str) -> dict[str, str]:
        return {"source": "t", "code": code, "message": f"m {code}"}

    n = 90
    frame = pl.DataFrame(
        {
            "key": [f"k{i}" for i in range(n)],
            "reasons": [[reason(f"r{i}")] * (i % 3) for i in range(n)],  # none, one or two of its own
            "a": [reason(f"a{i}") if i % 2 else None for i in range(n)],
            "b": [reason(f"b{i}") if i % 5 == 0 else None for i in range(n)],
        },
        schema={"key": pl.String, "reasons": pl.List(REASON), "a": REASON, "b": REASON},
    )
    long_frame = _with_reasons_added(frame, ["a", "b"], row_by_row=0)
    row_by_row = _with_reasons_added(frame, ["a", "b"], row_by_row=n)
    assert row_by_row.equals(long_frame) and row_by_row.columns == ["key", "reasons"]
    codes = [[r["code"] for r in rs] for rs in row_by_row["reasons"].to_list()]
    assert codes[0] == ["b0"] and codes[1] == ["r1", "a1"] and codes[5] == ["r5", "r5", "a5", "b5"] and codes[6] == []
