"""The pilot: run consecutive days of one simulated world as an administration would, and measure each day.

Each day: the world's parcels are ingested (as received at noon of that day); the demo's officers
inspect what is held, the random control sample first, within the day's capacity, recording through
the same audited inspection path an officer's click takes what the simulator's labels say they would
find; the world learns which of its sellers were found (and some change their scheme); overnight a
challenger model is trained on every inspection so far and replaces the champion when it finds at least
as much on the store's inspected consignments (`services.targeting.promote`). The hit rates selectivity
weighs are measured afresh each day from the inspections (`services.history`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from clearway.bootstrap import App, bootstrap
from clearway.demo.officers import Inspected, audit_released, inspect_held
from clearway.demo.run import read_labels
from clearway.errors import ClearwayError
from clearway.intake import read_path
from clearway.kpi.stats import wilson
from clearway.risk.selectivity import HOLDING_FOR_OTHERS, SIGNALS
from clearway.services.ingest import IngestReport, ingest
from clearway.services.targeting import promote, train_from_store
from clearway.settings import Settings
from clearway.sim.days import VALUE_FRAUD, World
from clearway.sim.writer import write_day, write_watchlist
from clearway.store.consignments import found_infringing, inspected_count
from clearway.store.repository import reproducible_ids

STOPS = ("yellow", "red")
MODEL_DAYS = 30  # the window a challenger is back-tested on
MIN_TRAINING = 1000  # inspected consignments before a first model is trained: fewer over-learn one day's stops
OFFICERS_OPEN = 0.05  # parcels the pilot's officers open a day, as a share of its traffic: every stop


@dataclass
class PilotDay:
    index: int
    day: dt.date
    consignments: int
    stop_rate: float
    precision: float | None  # stopped parcels that carry a violation
    targeted_precision: float | None  # the same, of the stops the random sample did not draw
    recall: dict[str, float]  # per violation: stopped (or rejected at intake) / carried
    referred: int  # held for the carrier or an agency only
    inspected: int
    found: int  # inspections that found an infringement
    at_risk_found: float  # EUR: duty and tax at risk on the parcels found infringing (selectivity's estimate)
    demanded: Decimal  # EUR: duty and tax demanded on the value or code the day's inspections found
    random_inspected: int
    random_found: int
    model: str  # what happened overnight
    shifts: int  # sellers that changed scheme after being caught
    carried: dict[str, int] = field(default_factory=dict)  # parcels carrying each violation
    capacity: int = 0  # the stops the day's capacity holds (targeted and random)
    missed: dict[str, dict[str, int]] = field(default_factory=dict)  # per violation: its parcels let through, by why
    audited: int = 0  # released parcels audited after clearance that day (any day's releases)
    audit_found: dict[str, int] = field(default_factory=dict)  # per violation: what those audits found
    audit_demanded: Decimal = Decimal(0)  # EUR: duty and tax the audits demanded
    split_orders: list[int] = field(default_factory=list)  # parts of each split order carried, largest first
    mandatory: int = 0  # stops the law made, whatever the capacity
    sampled: int = 0  # stops the random sample drew, mandatory ones apart (selectivity counts them so)
    held: dict[str, float] = field(default_factory=dict)  # per violation: held for the carrier or an agency only
    # (not stopped) / carried: the consequence a carrier's or post's rule has (a lithium cell shipped alone)

    @property
    def half_of_value_fraud(self) -> int:
        """Stops it takes to reach a recall of 0.5 on every value-fraud type at once, at perfect precision: the
        arithmetic of issue 20's goal, set beside the day's `room`. A split order takes one stop whatever its
        parts (inspecting one finds the order, and recall counts its parts found), the largest orders first."""
        stops = sum(math.ceil(self.carried.get(v, 0) / 2) for v in VALUE_FRAUD if v != "split_shipment")
        parts, needed = 0, math.ceil(self.carried.get("split_shipment", 0) / 2)
        for size in self.split_orders:
            if parts >= needed:
                break
            parts, stops = parts + size, stops + 1
        return stops + max(0, needed - parts)  # parts whose order the labels do not name: a stop each

    @property
    def room(self) -> int:
        """The stops the day's capacity left for discretionary targeting: less its mandatory stops and the
        random sample's."""
        return max(0, self.capacity - self.mandatory - self.sampled)

    @property
    def non_compliance(self) -> tuple[float | None, tuple[float, float] | None]:
        """The random sample's estimate of non-compliance, with its 95% interval."""
        if not self.random_inspected:
            return None, None
        return self.random_found / self.random_inspected, wilson(self.random_found, self.random_inspected)


@dataclass
class PilotResult:
    seed: int
    size: int
    days: list[PilotDay] = field(default_factory=list)


def pilot_app(folder: Path, settings: Settings) -> App:
    """The application a pilot runs on: a fresh SQLite store and ledger key in `folder` (emptied first), screening
    against the settings' watch list or, without one, the simulator's."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings = dataclasses.replace(settings, database_url=f"sqlite:///{folder.resolve() / 'clearway.db'}",
                                   ledger_key=folder / "ledger.key")  # fmt: skip
    return bootstrap(settings, watchlist=settings.watchlist or write_watchlist(folder))


def run_pilot(
    app: App,
    *,
    world: World,
    days: int,
    start: dt.date,
    out: Path,
    audit_share: float = 0.0,
    on_day: Callable[[PilotDay], None] | None = None,
) -> PilotResult:
    """Run `days` days of `world`. With `audit_share`, auditors also audit that share of a day's traffic among
    the parcels released, after clearance (blue-lane releases first): what they find is reassessed and
    demanded, and is learnt from as inspections are."""
    result = PilotResult(world.seed, world.size)
    reproducible_ids(world.seed)  # the same world draws the same random sample, run after run
    labels: list[pl.DataFrame] = []
    try:
        for index in range(days):
            result.days.append(_day(app, world, index, start, out, labels, audit_share))
            if on_day:
                on_day(result.days[-1])
    finally:
        reproducible_ids(None)
    return result


def _day(app: App, world: World, index: int, start: dt.date, out: Path, earlier: list[pl.DataFrame],
         audit_share: float) -> PilotDay:  # fmt: skip
    """One day of the pilot: its traffic ingested, the stops inspected, releases audited, the world's answer,
    the model overnight. `earlier` holds the labels of the days before (an audit may reach their parcels)."""
    day = start + dt.timedelta(days=index)
    noon = dt.datetime.combine(day, dt.time(12), dt.UTC)
    traffic = world.day(index, day)
    folder = out / f"day-{index + 1:02d}"
    write_day(traffic, folder)
    report = IngestReport()
    for path in sorted((folder / "aed").glob("*.ndjson")):
        report.merge(ingest(app, path.stem, read_path(path), now=lambda noon=noon: noon))
    labels = read_labels(folder / "labels.csv")
    capacity = max(1, round(world.size * OFFICERS_OPEN))
    afternoon = noon + dt.timedelta(hours=4)
    inspected = inspect_held(app, labels, capacity=capacity, seed=world.seed + index, now=lambda t=afternoon: t)
    found = _found(app, day)
    opened = _inspected(app, day)
    earlier.append(labels)
    audits = Inspected()
    if audit_share > 0:
        audits = audit_released(app, pl.concat(earlier), capacity=max(1, round(world.size * audit_share)),
                                now=lambda t=afternoon + dt.timedelta(hours=1): t)  # fmt: skip
    shifts_before = len(world.shifts)
    world.caught(index, with_their_orders([*found, *audits.infringing], pl.concat(earlier)))
    model = _overnight(app, noon + dt.timedelta(hours=11), index)
    measured = _measure(index, day, report, labels, app, found, opened, model, len(world.shifts) - shifts_before)
    return dataclasses.replace(measured, demanded=demanded_in_eur(app, inspected.payables, day), audited=audits.parcels,
                               audit_found=dict(sorted(audits.found.items())),
                               audit_demanded=demanded_in_eur(app, audits.payables, day))  # fmt: skip


def demanded_in_eur(app: App, payables: list[dict[str, Any]], day: dt.date) -> Decimal:
    """The duty and tax demanded (penalties apart), in EUR at the day's rate."""
    total = Decimal(0)
    for payable in payables:
        if payable["kind"] != "demand":
            continue
        amount = Decimal(payable["amount"])
        if payable["currency"] != "EUR":
            amount *= app.revenue.rates.quote(payable["currency"], "EUR", day).rate
        total += amount
    return total.quantize(Decimal("0.01"))


def with_their_orders(parcels: list[tuple[str, str]], labels: pl.DataFrame) -> list[tuple[str, str]]:
    """`parcels` (submitter, reference) and the other parts of the split orders among them: a finding on one
    part names the others (labels' `same_order`), and reassesses them as one consignment with it."""
    if "same_order" not in labels.columns:
        return parcels
    named = dict(((s, r), same) for s, r, same in labels.select("submitter", "reference", "same_order").iter_rows()
                 if same)  # fmt: skip
    parts = [(s, other) for s, r in parcels for other in (named.get((s, r)) or "").split()]
    return list(dict.fromkeys([*parcels, *parts]))


def _found(app: App, day: dt.date) -> list[tuple[str, str]]:
    """(submitter, reference) of the day's parcels an inspection found infringing."""
    return found_infringing(app.store, *_window(day))


def _inspected(app: App, day: dt.date) -> int:
    """How many of the day's parcels were inspected."""
    return inspected_count(app.store, *_window(day))


def _window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The day, as the instants its parcels were received in: [midnight, next midnight) UTC."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return start, start + dt.timedelta(days=1)


def _overnight(app: App, at: dt.datetime, index: int) -> str:
    """Train a challenger on every inspection so far; it replaces the champion if it finds at least as much."""
    inspected = inspected_count(app.store)
    if app.model is None and inspected < MIN_TRAINING:
        return f"not trained: {inspected:,} inspected consignments so far, the first model waits for {MIN_TRAINING:,}"
    try:
        challenger = train_from_store(app, seed=index, as_of=at)
    except (ClearwayError, ValueError) as exc:  # too few inspections or one class only: nothing to learn yet
        return f"not trained ({exc})"
    promotion = promote(app, challenger.to_bytes(), actor="pilot", days=MODEL_DAYS, now=at)
    return promotion.reason


def _measure(
    index: int, day: dt.date, report: IngestReport, labels: pl.DataFrame, app: App, found: list[tuple[str, str]],
    inspected: int, model: str, shifts: int,
) -> PilotDay:  # fmt: skip
    decisions = report.decision_frame()
    share = app.selectivity.tax_at_risk if app.selectivity else 0.0
    on = ["submitter", "reference"]
    held_only = pl.col("referrals").list.set_intersection(list(HOLDING_FOR_OTHERS)).list.len() > 0
    frame = decisions.select(
        *on, pl.col("lane").is_in(STOPS).alias("stopped"), (held_only & ~pl.col("lane").is_in(STOPS)).alias("referred"),
        pl.col("due_eur").cast(pl.Float64).fill_null(0.0).alias("due"),
        pl.col("value_eur").cast(pl.Float64).fill_null(0.0).alias("value"),
        pl.col("reasons").list.eval(pl.element().struct.field("code") == "RANDOM").list.any().alias("random"),
        pl.col("reasons").list.eval(pl.element().struct.field("code").is_in(["MANDATORY", "MANDATORY-OVER-CAPACITY"]))
        .list.any().alias("mandatory"),
        _let_through().alias("why"),
    )  # fmt: skip
    bad = labels.group_by(on).agg(pl.col("violation").first())
    joined = frame.join(bad, on=on, how="left")
    stops = joined.filter("stopped")
    # a part of a split order counts as stopped where another part is: inspecting one finds the order
    ordered = with_their_orders(stops.select(on).rows(), labels)
    order = pl.DataFrame(ordered, schema=dict.fromkeys(on, pl.String), orient="row").with_columns(_order=pl.lit(True))
    per = (
        labels.group_by(on).agg(pl.col("violation").first()).join(frame, on=on, how="left")
        .join(order, on=on, how="left").with_columns(pl.col("_order").fill_null(False))
        .with_columns(pl.col("stopped") | pl.col("_order"),
                      pl.when(pl.col("_order")).then(pl.lit(None, pl.String)).otherwise("why").alias("why"))
    )  # fmt: skip
    recall = {
        v: float(g["stopped"].fill_null(True).mean() or 0.0)  # rejected at intake counts as found
        for (v,), g in per.group_by("violation")
    }
    infringing = pl.DataFrame(found, schema=dict.fromkeys(on, pl.String), orient="row")  # typed: a day may find none
    hits = joined.join(infringing, on=on, how="semi")
    sample = joined.filter("random")
    sampled_found = sample.join(infringing, on=on, how="semi").height
    return PilotDay(
        index=index + 1,
        day=day,
        consignments=decisions.height,
        stop_rate=stops.height / max(decisions.height, 1),
        precision=_infringing(stops),
        targeted_precision=_infringing(stops.filter(~pl.col("random"))),
        recall=dict(sorted(recall.items())),
        held={
            str(v): float(
                g.select(pl.col("referred").fill_null(False) & ~pl.col("stopped").fill_null(True)).to_series().mean()
                or 0.0
            )
            for (v,), g in per.group_by("violation")
        },  # fmt: skip
        referred=int(frame["referred"].sum()),
        inspected=inspected,
        found=len(found),
        at_risk_found=float(hits.select(pl.max_horizontal("due", pl.col("value") * share)).sum().item() or 0.0),
        demanded=Decimal(0),
        random_inspected=sample.height,
        random_found=sampled_found,
        model=model,
        shifts=shifts,
        carried={str(v): n for v, n in per.group_by("violation").len().iter_rows()},
        capacity=app.selectivity.day_capacity(decisions.height) if app.selectivity else 0,
        split_orders=split_orders(labels),
        mandatory=int(stops["mandatory"].sum()),
        sampled=int((stops["random"] & ~stops["mandatory"]).sum()),
        missed={
            str(v): {str(w): n for w, n in g.drop_nulls("why").group_by("why").len().sort("why").iter_rows()}
            for (v,), g in per.group_by("violation")
        },
    )


def split_orders(labels: pl.DataFrame) -> list[int]:
    """The parts of each split order among the labelled parcels, largest order first (labels' `same_order`
    names a part's other parts; without it, each part is an order of its own)."""
    first = labels.group_by("submitter", "reference", maintain_order=True).agg(pl.all().first())
    parts = first.filter(pl.col("violation") == "split_shipment")
    named = "same_order" in parts.columns
    orders: dict[tuple[str, str], int] = {}
    for submitter, reference, same in parts.select(
        "submitter", "reference", pl.col("same_order") if named else pl.lit(None, pl.String)
    ).iter_rows():
        order = (submitter, " ".join(sorted({reference, *(same or "").split()})))
        orders[order] = orders.get(order, 0) + 1
    return sorted(orders.values(), reverse=True)


def _infringing(stops: pl.DataFrame) -> float | None:
    """The share of `stops` that carry a violation (None without stops)."""
    return int(stops["violation"].is_not_null().sum()) / stops.height if stops.height else None


LET_THROUGH = ("not flagged", "flagged, no stop asked", "unlikely", "over capacity")
"""Why a parcel was not stopped, as the pilot's report counts it per violation."""


def _let_through() -> pl.Expr:
    """Why a decision did not stop its parcel (null when it did): no hit of a signal at all; hits that asked
    for no stop (information, a carrier's or agency's referral); a stop selectivity released as unlikely on
    its record; or one released beyond the day's capacity."""
    codes, sources = (pl.col("reasons").list.eval(pl.element().struct.field(f)) for f in ("code", "source"))
    return (
        pl.when(pl.col("lane").is_in(STOPS)).then(pl.lit(None, pl.String))
        .when(codes.list.contains("UNLIKELY")).then(pl.lit(LET_THROUGH[2]))
        .when(codes.list.contains("CAPACITY")).then(pl.lit(LET_THROUGH[3]))
        .when(sources.list.set_intersection(list(SIGNALS)).list.len() > 0).then(pl.lit(LET_THROUGH[1]))
        .otherwise(pl.lit(LET_THROUGH[0]))
    )  # fmt: skip
