"""Issue 20: the pilot runs days of one world as an administration would, and says how each day went."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from clearway.bootstrap import bootstrap
from clearway.demo.pilot import PilotDay, pilot_app, run_pilot
from clearway.report.pilot_report import write_report
from clearway.settings import Settings
from clearway.sim.days import VALUE_FRAUD, World
from clearway.sim.writer import write_watchlist
from clearway.store import tables as t


def test_two_days_are_ingested_inspected_measured_and_reported(tmp_path: Path) -> None:
    settings = Settings.from_env({"CLEARWAY_HOME": str(tmp_path)})
    app = bootstrap(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'pilot.db'}"),
                    watchlist=write_watchlist(tmp_path))  # fmt: skip
    result = run_pilot(app, world=World.make(21, 600), days=2, start=dt.date(2026, 11, 16), out=tmp_path)
    assert [d.index for d in result.days] == [1, 2] and all(d.consignments > 550 for d in result.days)
    for day in result.days:
        # the day's minimum of 50 stops; the random draw and mandatory stops may come a few above it, never the
        # share of the traffic a cap-less day would take
        assert 0 < day.stop_rate <= 62 / day.consignments
        assert day.inspected > 0 and 0 <= day.found <= day.inspected
        assert day.precision is not None and day.recall.get("watchlisted_party", 1.0) == 1.0
        assert day.model.startswith("not trained")  # fewer than 1,000 inspections: no model yet
    with app.store.engine.connect() as conn:
        audited = conn.execute(sa.select(sa.func.count()).where(t.audit_log.c.action == "inspected")).scalar_one()
        inspected = conn.execute(sa.select(sa.func.count()).select_from(t.inspections)).scalar_one()
    assert audited == inspected >= sum(d.inspected for d in result.days)  # through the audited path (a day may
    # also open parcels held from the day before)
    html = write_report(result, tmp_path / "pilot.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 3 and "Recall by violation" in html and "non-compliance" in html
    assert "Duty and tax demanded by day" in html and "on audit after release" not in html  # no audits asked
    for day in result.days:  # the random sample, drawn whatever the risk, is measured apart from the targeting
        random_stops = day.random_inspected
        assert day.targeted_precision is not None and random_stops > 0
        stops = round(day.stop_rate * day.consignments)
        targeted_found = day.targeted_precision * (stops - random_stops)
        assert -1e-9 <= day.precision * stops - targeted_found <= random_stops + 1e-9  # what the sample found
    assert "precision of targeted stops" in html
    first = result.days[0]  # the goal's arithmetic: half of each value-fraud type, against the day's capacity
    assert first.capacity == 50 and sum(first.carried.values()) > 0  # 5% of ~600 is below the day's minimum
    parts = first.carried.get("split_shipment", 0)
    assert sum(first.split_orders) == parts and first.room == 50 - first.mandatory - first.sampled
    assert first.half_of_value_fraud <= sum((first.carried.get(v, 0) + 1) // 2 for v in VALUE_FRAUD)
    carried = sum(first.carried.get(v, 0) for v in VALUE_FRAUD)
    row = (f'<td class="n">{carried:,}</td><td class="n">{first.half_of_value_fraud:,}</td><td class="n">50</td>'
           f'<td class="n">{first.mandatory:,}</td><td class="n">{first.sampled:,}</td>'
           f'<td class="n">{first.room:,}</td>')  # fmt: skip
    assert "stops for half of each type" in html and row in html
    for day in result.days:  # every violating parcel is stopped (or refused at intake), or let through for a reason
        for violation, carried in day.carried.items():
            through = sum(day.missed.get(violation, {}).values())
            assert through == round(carried * (1 - day.recall[violation]))
    assert "Value fraud let through, by why" in html
    for day in result.days:  # held for the carrier or an agency instead: never a parcel stopped, and each one of
        # the day's parcels held only (a lithium cell shipped alone goes back to the carrier, not to an inspector)
        for violation in day.carried:
            assert 0.0 <= day.held.get(violation, 0.0) <= 1.0 - day.recall[violation] + 1e-9
        assert sum(round(day.held.get(v, 0.0) * n) for v, n in day.carried.items()) <= day.referred
    assert any(day.held.get("undeclared_battery") for day in result.days)
    assert "Held for the carrier or an agency instead of stopped" in html
    assert any(day.missed.get(v) for day in result.days for v in VALUE_FRAUD)  # 5% of the traffic stops: some go


def test_the_same_world_gives_the_same_days_run_after_run(tmp_path: Path) -> None:
    """A change to targeting is judged by running the pilot before and after it: the random sample (a keyed
    hash of each consignment's id) must not draw differently from one run to the next, or the noise hides the
    change. A service keeps drawing its ids at random."""
    from clearway.store.repository import new_id

    def once(folder: Path) -> list[object]:
        folder.mkdir()
        settings = Settings.from_env({"CLEARWAY_HOME": str(folder)})
        app = bootstrap(dataclasses.replace(settings, database_url=f"sqlite:///{folder / 'pilot.db'}"),
                        watchlist=write_watchlist(folder))  # fmt: skip
        days = run_pilot(app, world=World.make(33, 400), days=1, start=dt.date(2026, 11, 16), out=folder).days
        with app.store.engine.connect() as conn:
            ids = conn.execute(sa.select(t.consignments.c.id).order_by(t.consignments.c.reference)).scalars().all()
        return [days, ids]

    first, second = once(tmp_path / "a"), once(tmp_path / "b")
    assert first == second
    assert new_id() != new_id() and new_id() not in first[1]  # after the pilot, ids are random again


def test_the_pilots_tables_are_read_whole_in_an_80_column_terminal(tmp_path: Path) -> None:
    """`clearway pilot` prints its day-by-day figures as an analyst reads them in a plain terminal: every
    header and figure whole, none cut to an ellipsis."""
    from typer.testing import CliRunner

    from clearway.cli import app as cli

    env = {"CLEARWAY_HOME": str(tmp_path), "COLUMNS": "80"}
    args = ["pilot", "--days", "1", "--size", "300", "--seed", "21", "--out", str(tmp_path / "pilot")]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    for words in ("stop rate", "precision", "found", "half/", "non-compliance", "(random sample)", "under-value",
                  "misclass.", "false gift", "IOSS", "watch-listed", "prohibited", "counterfeit", "battery",
                  "Report:"):  # fmt: skip
        assert words in result.output
    assert "…" not in result.output


def test_the_officers_enter_the_value_and_code_they_find_and_what_was_short_is_demanded(tmp_path: Path) -> None:
    """An officer who opens an under-valued or misclassified parcel records the value or code found, so the
    parcel is reassessed on it and the difference is demanded (or owed back, where the declared code cost
    more): the pilot's "duty and tax demanded" is that, not an estimate."""
    import json
    from decimal import Decimal

    import polars as pl

    from clearway.demo.officers import OFFICER, inspect_held
    from clearway.demo.run import read_labels
    from clearway.intake import read_path
    from clearway.services.clearance import Clearance
    from clearway.services.ingest import ingest
    from clearway.sim import simulate, write_day
    from clearway.sim.generator import Rates
    from clearway.store.repository import reproducible_ids

    settings = Settings.from_env({"CLEARWAY_HOME": str(tmp_path)})
    app = bootstrap(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'day.db'}"),
                    watchlist=write_watchlist(tmp_path))  # fmt: skip
    rates = Rates(**{name: 0.0 for name, _ in Rates().items()} | {"undervaluation": 0.4, "misclassification": 0.2})
    noon = dt.datetime(2026, 11, 16, 12, tzinfo=dt.UTC)
    write_day(simulate(400, 5, noon.date(), rates), tmp_path / "day")
    reproducible_ids(5)  # the random sample draws the same parcels run after run
    try:
        for path in sorted((tmp_path / "day" / "aed").glob("*.ndjson")):
            ingest(app, path.stem, read_path(path), now=lambda: noon)
        labels = read_labels(tmp_path / "day" / "labels.csv")
        later = noon + dt.timedelta(hours=3)
        clearance = Clearance(app, now=lambda: later)
        c = t.consignments.c
        for violation in ("undervaluation", "misclassification"):  # a tip-off on a few: they are held for sure
            pairs = labels.filter(pl.col("violation") == violation).select("submitter", "reference").rows()
            with app.store.engine.connect() as conn:
                open_ = conn.execute(sa.select(c.id).where(  # not yet released: a hold can still reach them
                    sa.tuple_(c.submitter, c.reference).in_(pairs), c.status.in_(["assessed", "held"])
                ).order_by(c.reference).limit(4)).scalars().all()  # fmt: skip
            for cid in open_:
                clearance.reroute(OFFICER, cid, "yellow", "intelligence: the goods are not as declared")
        done = inspect_held(app, labels, capacity=400, seed=5, now=lambda: later)
    finally:
        reproducible_ids(None)
    assert done.parcels > 0 and done.refused == 0
    truth = {(s, r): (v, value, code) for s, r, v, value, code in labels.select(
        "submitter", "reference", "violation", "corrected_value", "corrected_hs_code").iter_rows()}  # fmt: skip
    c, e = t.consignments.c, t.events.c
    with app.store.engine.connect() as conn:
        corrected = conn.execute(sa.select(c.submitter, c.reference, e.data).join(t.events, e.consignment_id == c.id)
                                 .where(e.type == "reassessed")).all()  # fmt: skip
    kinds = {truth[(s, r)][0] for s, r, _ in corrected}
    assert kinds == {"undervaluation", "misclassification"}  # both were found, and entered as found
    for submitter, reference, data in corrected:
        violation, value, code = truth[(submitter, reference)]
        said = " ".join(json.loads(data)["corrected"])
        assert (f"corrected to {value} " in said) if violation == "undervaluation" else said.endswith(code)
    demands = [p for p in done.payables if p["kind"] == "demand"]
    assert demands and all(Decimal(p["amount"]) > 0 for p in demands)


def test_auditors_work_the_releases_blue_lane_first_and_what_they_find_is_learnt_and_demanded(tmp_path: Path) -> None:
    """With `audit_share`, the pilot's auditors audit released parcels after clearance, the blue-lane releases
    (stops let go beyond the day's capacity) first, through the audited audit path: each is kept as an
    inspection of method `audit` (a label the model learns from), and the day's table says what they found."""
    settings = Settings.from_env({"CLEARWAY_HOME": str(tmp_path)})
    app = bootstrap(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'pilot.db'}"),
                    watchlist=write_watchlist(tmp_path))  # fmt: skip
    result = run_pilot(app, world=World.make(21, 1500), days=1, start=dt.date(2026, 11, 16), out=tmp_path,
                       audit_share=0.02)  # fmt: skip
    day = result.days[0]
    assert day.audited == 30 and 0 < sum(day.audit_found.values()) <= day.audited
    c, i = t.consignments.c, t.inspections.c
    with app.store.engine.connect() as conn:
        audits = conn.execute(
            sa.select(c.lane, i.outcome, c.submitter, c.reference)
            .join(t.inspections, i.consignment_id == c.id)
            .where(i.method == "audit")
        ).all()
        blue = conn.execute(sa.select(sa.func.count()).where(c.lane == "blue", c.status == "released")).scalar_one()
        logged = conn.execute(sa.select(sa.func.count()).where(t.audit_log.c.action == "audited")).scalar_one()
    assert len(audits) == logged == 30  # each through the audited path
    assert [lane for lane, *_ in audits].count("blue") == min(30, blue) > 0  # blue-lane releases first
    labelled = {(s, r) for s, r in read_labels_of(tmp_path)}
    assert {(s, r) for _, outcome, s, r in audits if outcome == "infringement"} <= labelled  # found what was there
    html = write_report(result, tmp_path / "pilot.html").read_text(encoding="utf-8")
    assert "Post-clearance audit" in html and "on audit after release" in html  # in the table and the chart


def read_labels_of(folder: Path) -> list[tuple[str, str]]:
    from clearway.demo.run import read_labels

    return [(s, r) for path in sorted(folder.glob("day-*/labels.csv"))
            for s, r in read_labels(path).select("submitter", "reference").iter_rows()]  # fmt: skip


def test_the_days_demands_are_summed_in_eur_at_the_days_rate_and_penalties_and_refunds_are_left_out(
    tmp_path: Path,
) -> None:
    from decimal import Decimal

    from clearway.demo.pilot import demanded_in_eur

    app = bootstrap(Settings.from_env({"CLEARWAY_HOME": str(tmp_path)}))
    day = dt.date(2026, 11, 16)
    rate = app.revenue.rates.quote("GBP", "EUR", day).rate
    assert rate != 1
    payables = [
        {"kind": "demand", "amount": Decimal("10.00"), "currency": "GBP"},
        {"kind": "demand", "amount": Decimal("2.50"), "currency": "EUR"},
        {"kind": "penalty", "amount": Decimal("4.00"), "currency": "EUR"},  # not duty or tax
        {"kind": "refund", "amount": Decimal("-3.00"), "currency": "EUR"},  # owed back, not recovered
    ]
    assert demanded_in_eur(app, payables, day) == (Decimal("10.00") * rate + Decimal("2.50")).quantize(Decimal("0.01"))


def test_a_split_orders_parts_are_caught_with_the_part_found() -> None:
    """What the world learns was caught: a found part of a split order brings its other parts (its finding named
    them), and nothing else does; a part not found brings none."""
    import polars as pl

    from clearway.demo.pilot import with_their_orders

    labels = pl.DataFrame({
        "submitter": ["m", "m", "m", "m", "n"], "reference": ["o-1", "o-2", "o-3", "x", "o-1"],
        "violation": ["split_shipment"] * 3 + ["undervaluation", "split_shipment"],
        "same_order": ["o-2 o-3", "o-1 o-3", "o-1 o-2", None, "o-2"],
    })  # fmt: skip
    assert with_their_orders([("m", "o-2"), ("m", "x")], labels) == [("m", "o-2"), ("m", "x"), ("m", "o-1"),
                                                                    ("m", "o-3")]  # fmt: skip
    assert with_their_orders([("m", "x")], labels) == [("m", "x")]
    assert with_their_orders([("n", "o-1")], labels) == [("n", "o-1"), ("n", "o-2")]  # another filer's reference


def test_half_of_value_fraud_takes_one_stop_a_split_order() -> None:
    """Issue 20's arithmetic: inspecting one part of a split order finds the order (recall counts its parts),
    so half of 7 parts in orders of 3, 2, 1 and 1 takes 2 stops, not 4."""
    day = PilotDay(index=1, day=dt.date(2026, 11, 16), consignments=1000, stop_rate=0.05, precision=None,
                   targeted_precision=None, recall={}, referred=0, inspected=0, found=0, at_risk_found=0.0,
                   demanded=Decimal(0), random_inspected=0, random_found=0, model="", shifts=0,
                   carried={"split_shipment": 7, "undervaluation": 5, "counterfeit": 9}, capacity=50,
                   split_orders=[3, 2, 1, 1], mandatory=4, sampled=5)  # fmt: skip
    assert day.half_of_value_fraud == 2 + 3  # two orders (5 of 7 parts), and 3 of 5 under-valued parcels
    assert day.room == 41  # the capacity less the law's stops and the random sample's
    unnamed = dataclasses.replace(day, split_orders=[])  # parts whose order nobody named: a stop each
    assert unnamed.half_of_value_fraud == 4 + 3


def test_a_day_whose_inspections_find_nothing_is_measured_not_refused(tmp_path: Path) -> None:
    """A small world's day may hold no infringement an inspection finds: its figures say so (none found, none of
    the random sample found) instead of the measurement failing on an empty list of findings."""
    app = pilot_app(tmp_path / "pilot", Settings.from_env({"CLEARWAY_HOME": str(tmp_path)}))
    result = run_pilot(app, world=World.make(11, 5), days=1, start=dt.date(2026, 11, 16), out=tmp_path / "pilot")
    (day,) = result.days
    assert day.consignments > 0 and day.found == 0 and day.random_found == 0
