"""The assess pipeline: pure, columnar, one decision per consignment in the contract's shape."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pytest

from clearway.bootstrap import build_pipeline, load_profiles
from clearway.model import validate_raw
from clearway.pipeline import (
    BATCH_SCHEMA,
    DECISION_SCHEMA,
    HIT_SCHEMA,
    BatchRow,
    Context,
    StageOutput,
    as_batch,
    assess,
    decisions_from_frame,
    to_batch,
)
from tests.conftest import NOON, example


def batch(*docs: dict[str, object]) -> pl.DataFrame:
    rows = []
    for i, d in enumerate(docs):
        consignment = validate_raw(d).consignment
        assert consignment is not None
        rows.append(BatchRow(f"k{i}", "submitter", NOON, consignment))
    return to_batch(rows)


@dataclass(frozen=True)
class FixedHits:
    """A stage that asks for given lanes: how later issues plug in without touching the spine."""

    wanted: dict[str, tuple[str | None, str | None]]
    column: str | None = None
    name: str = "fixed"

    def run(self, frame: pl.DataFrame, context: Context) -> StageOutput:
        rows = [
            {"key": k, "source": "detector", "code": f"D-{lane}", "message": "m", "lane": lane, "referral": ref,
             "agency": None, "weight": 10.0}
            for k, (lane, ref) in self.wanted.items()
        ]  # fmt: skip
        columns = (
            pl.DataFrame({"key": list(self.wanted), self.column: ["1.00"] * len(self.wanted)}) if self.column else None
        )
        return StageOutput(pl.DataFrame(rows, schema=HIT_SCHEMA), columns)


def test_most_controlling_lane_wins_and_every_reason_is_kept() -> None:
    frame = batch(example(), example(reference="2"), example(reference="3"))
    stages = [
        FixedHits({"k0": ("yellow", "rfi"), "k1": ("blue", None)}, column="duty"),
        FixedHits({"k0": ("red", None)}),
        FixedHits({"k1": (None, "screening")}),
    ]
    decisions = assess(frame, context=Context(as_of=NOON), stages=stages)
    assert decisions["key"].to_list() == ["k0", "k1", "k2"]  # same order as the batch
    got = {d.key: d for d in decisions_from_frame(decisions)}
    assert got["k0"].lane == "red" and got["k0"].referrals == ["rfi"]
    assert [r.code for r in got["k0"].reasons] == ["D-yellow", "D-red"]
    assert got["k1"].lane == "blue" and got["k1"].referrals == ["screening"]
    assert got["k2"].lane == "green" and got["k2"].referrals == [] and got["k2"].reasons == []
    assert decisions["duty"].to_list() == ["1.00", "1.00", None]  # stage columns are carried forward


@pytest.mark.parametrize(
    "asked", [{}, {"k1": (None, "screening")}, {"k1": ("yellow", "rfi")}, {"k9": ("red", None)}]
)  # k9: a hit for a key that is not in the batch is not anyone's decision
def test_a_parcel_is_decided_the_same_alone_as_in_a_batch(asked: dict[str, tuple[str | None, str | None]]) -> None:
    """A call of one parcel (flagged or not) decides it as a batch would, column for column."""
    frame = batch(example(), example(reference="2"), example(reference="3"))
    together = assess(frame, Context(as_of=NOON), [FixedHits({"k0": ("red", "rfi"), **asked})])
    alone = assess(frame.slice(1, 1), Context(as_of=NOON), [FixedHits(asked)])
    assert alone.schema == together.schema
    assert alone.row(0, named=True) == together.row(1, named=True)
    if "k1" not in asked:
        assert alone.row(0, named=True) == {
            "key": "k1", "lane": "green", "referrals": [], "reasons": [], "score": 0.0, "agencies": [],
            "mandatory": False, "signals": [],
        }  # fmt: skip


def test_decisions_have_the_contract_shape() -> None:
    decisions = assess(batch(example()), Context(as_of=NOON), build_pipeline(load_profiles(None)).stages)
    assert {k: decisions.schema[k] for k in DECISION_SCHEMA} == DECISION_SCHEMA


def test_assess_is_a_function_of_its_inputs() -> None:
    pipeline = build_pipeline(load_profiles(None))
    doc = example()
    doc["items"][0]["description"] = "Power bank 20000mAh"
    doc["items"][0]["hs_code"] = "850760"
    frame = batch(doc, example(reference="2"))
    first = pipeline(frame, Context(as_of=NOON))
    assert first.equals(pipeline(frame, Context(as_of=NOON)))
    assert first["lane"].to_list() == ["green", "green"]  # a power bank by post is the post's to refuse:
    assert first["referrals"].to_list() == [["carrier"], []]  # back to the carrier, no inspection capacity


def test_assess_runs_on_a_partition_of_plain_columns() -> None:
    """What a distributed engine does: slice the frame, round-trip it through Arrow, assess each part."""
    pipeline = build_pipeline(load_profiles(None))
    docs = [example(reference=str(i)) for i in range(6)]
    docs[4]["items"][0]["description"] = "Gift"
    frame = batch(*docs)
    whole = pipeline(frame, Context(as_of=NOON))
    parts = [pipeline(pl.from_arrow(frame.slice(s, 3).to_arrow()), Context(as_of=NOON)) for s in (0, 3)]  # type: ignore[arg-type]
    assert pl.concat(parts).equals(whole)


def test_a_partition_exported_before_a_batch_column_was_added_is_assessed_with_it_null() -> None:
    """`history export` partitions outlive the batch's schema: the back-test and replay read old ones."""
    pipeline = build_pipeline(load_profiles(None))
    frame = batch(*[example(reference=str(i)) for i in range(3)])
    old = pl.from_arrow(frame.drop("consignee_region").to_arrow())
    assert isinstance(old, pl.DataFrame)
    again = as_batch(old)
    assert again.columns == frame.columns and again["consignee_region"].null_count() == 3
    assert pipeline(again, Context(as_of=NOON)).equals(pipeline(frame, Context(as_of=NOON)))


def test_a_few_filings_and_a_days_batch_make_the_same_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few consignments are built row by row, many column by column: the same frame, in the batch's types, with
    money, several goods lines, countries of routing and absent fields as sent."""
    docs = [example(reference=str(i)) for i in range(5)]
    docs[1]["items"] = [*docs[1]["items"], {**docs[1]["items"][0], "unit_price": "0.000001", "quantity": 3}]  # type: ignore[list-item, dict-item]
    docs[2]["routing_countries"] = ["AE", "TR"]
    docs[3]["shipping_cost"] = None
    row_wise = batch(*docs)
    monkeypatch.setattr("clearway.pipeline.batch.ROW_WISE_BELOW", 0)
    column_wise = batch(*docs)
    assert row_wise.schema == column_wise.schema and dict(row_wise.schema) == BATCH_SCHEMA
    assert row_wise.equals(column_wise, null_equal=True)
    assert row_wise["routing_countries"].to_list() == [[], [], ["AE", "TR"], [], []]
    assert [len(i) for i in row_wise["items"].to_list()] == [2, 3, 2, 2, 2]
    assert str(row_wise["items"][1][2]["unit_price"]) == "0.000001" and row_wise["shipping_cost"][3] is None


def test_empty_batch_gives_no_decisions() -> None:
    decisions = build_pipeline(load_profiles(None))(to_batch([]), Context(as_of=NOON))
    assert decisions.height == 0


def test_a_value_derived_from_a_frame_lives_as_long_as_the_frame() -> None:
    import gc

    from clearway.pipeline.derived import Derived

    kept: Derived[int] = Derived()
    built: list[int] = []
    frame = pl.DataFrame({"a": [1, 2, 3]})
    assert kept.of(frame, lambda f: built.append(f.height) or f.height) == 3
    assert kept.of(frame, lambda f: built.append(f.height) or 0) == 3  # kept, not built again
    assert built == [3]
    other = pl.DataFrame({"a": [1, 2, 3]})  # equal, but another frame: its own value
    assert kept.get(other) is None
    del frame
    gc.collect()
    assert kept._entries == {}  # the entry went with its frame: nothing grows with the batches seen
