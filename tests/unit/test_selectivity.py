"""Selectivity: capacity, random selection and trusted operators, every stop explained."""

from __future__ import annotations

import datetime as dt

import polars as pl

from clearway.bootstrap import load_selectivity
from clearway.pipeline import HIT_SCHEMA, BatchRow, Context, StageOutput, assess, to_batch
from clearway.risk.selectivity import Operator, Settings, apply
from tests.unit.test_detectors import row

DAY = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


class Asks:
    """A stage that asks for a lane with a weight for given keys."""

    name = "asks"

    def __init__(self, wanted: dict[str, tuple[str, str | None, float]]) -> None:
        self.wanted = wanted

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        rows = [{"key": k, "source": "detector", "code": f"D{w}", "message": "seen", "lane": lane, "referral": ref,
                 "agency": None, "weight": w} for k, (lane, ref, w) in self.wanted.items()]  # fmt: skip
        return StageOutput(pl.DataFrame(rows, schema=HIT_SCHEMA))


def settings(**changes: object) -> Settings:
    base = {"capacity_yellow": 0.02, "capacity_red": 0.0, "random_rate": 0.0, "aeo_random_rate": 0.0,
            "aeo_score_factor": 0.5, "seed": 1, "mutual_recognition": {"EU": frozenset({"CN"})}}  # fmt: skip
    return Settings(**(base | changes))  # type: ignore[arg-type]


def decide(rows: list[BatchRow], wanted: dict[str, tuple[str, str | None, float]], s: Settings) -> pl.DataFrame:
    batch = to_batch(rows)
    return apply(assess(batch, Context(as_of=DAY), [Asks(wanted)]), batch, Context(as_of=DAY), s)


def test_capacity_keeps_the_highest_scores_and_releases_the_rest_to_audit() -> None:
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted = {
        "k000": ("yellow", None, 90.0),
        "k001": ("yellow", None, 80.0),
        "k002": ("yellow", None, 10.0),
        "k003": ("red", None, 5.0),
    }
    out = decide(rows, wanted, settings(capacity_yellow=0.03))  # 3 stops, the red one included
    lanes = dict(zip(out["key"], out["lane"], strict=True))
    assert (lanes["k000"], lanes["k001"], lanes["k002"], lanes["k003"]) == ("yellow", "yellow", "blue", "red")
    released = out.filter(pl.col("key") == "k002")["reasons"][0]
    assert released[-1]["code"] == "CAPACITY" and "post-clearance audit" in released[-1]["message"]


def test_mandatory_referrals_are_never_released() -> None:
    rows = [row(f"k{i:03d}", "10.00") for i in range(100)]
    wanted = {f"k{i:03d}": ("yellow", "oga", 10.0) for i in range(5)}
    out = decide(rows, wanted, settings())
    assert out.filter(pl.col("lane") == "yellow").height == 5


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
    foreign = Operator("s", "Far Away Post", "AEOF", "BR", dt.date(2025, 1, 1), dt.date(2027, 1, 1))
    assert not settings().recognised(foreign, "DE", DAY.date())  # no mutual recognition with BR
    chinese = Operator("s", "CN exporter", "AEO", "CN", dt.date(2025, 1, 1), dt.date(2027, 1, 1))
    assert settings().recognised(chinese, "FR", DAY.date())  # EU-China mutual recognition


def test_the_shipped_settings_load() -> None:
    loaded = load_selectivity()
    assert loaded.capacity_yellow + loaded.capacity_red == 0.05 and loaded.registry
