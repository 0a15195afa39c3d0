"""Ingest on two cores (`workers/offload.py`): a second process assesses each stored batch while this one
stores the next. It must decide exactly what one process decides, and lose nothing when that process dies."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from clearway.bootstrap import App, bootstrap
from clearway.intake import read_bytes
from clearway.services.ingest import IngestReport, ingest
from clearway.settings import Settings
from clearway.sim import simulate
from clearway.store import tables as t
from clearway.workers.offload import Offloaded
from tests.integration.conftest import _fresh_postgres, without_random_selection

DAY = dt.date(2026, 11, 23)


def clock() -> Callable[[], dt.datetime]:
    """A second later at each call: each batch is received after the one before, as in a real run."""
    ticks: Iterator[int] = itertools.count()
    return lambda: dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC) + dt.timedelta(seconds=next(ticks))


def settings_for(folder: Path, database_url: str | None = None) -> Settings:
    folder.mkdir()
    settings = Settings.from_env({"CLEARWAY_HOME": str(folder), "CLEARWAY_BATCH_SIZE": "150"})
    return dataclasses.replace(settings, database_url=database_url or f"sqlite:///{folder / 'clearway.db'}")


def sources() -> list[tuple[str, bytes]]:
    day = simulate(900, 5150, DAY)  # a seed no other test uses
    submitters = sorted({r.submitter for r in day.records})
    return [(s, b"\n".join(r.line for r in day.records if r.submitter == s)) for s in submitters]


def decided(app: App) -> dict[tuple[str, str], dict[str, object]]:
    c, d = t.consignments.c, t.decisions.c
    query = sa.select(c.submitter, c.reference, c.status, d.lane, d.referrals, d.reasons, d.score, d.assessment)
    with app.store.engine.connect() as conn:
        rows = conn.execute(query.join(t.decisions, d.consignment_id == c.id)).mappings().all()
    return {
        (row["submitter"], row["reference"]): {
            "status": row["status"], "lane": row["lane"], "referrals": sorted(json.loads(row["referrals"])),
            "reasons": sorted(f"{r['source']}:{r['code']}" for r in json.loads(row["reasons"])),
            "score": round(float(row["score"] or 0), 4),
            "totals": json.loads(row["assessment"])["totals"] if row["assessment"] else None,
        }
        for row in rows
    }  # fmt: skip


def lanes(report: IngestReport) -> dict[str, int]:
    return dict(sorted(report.decision_frame().group_by("lane").len().iter_rows()))


def offloaded(settings: Settings, child: Callable[[App], App]) -> tuple[App, IngestReport]:
    """Ingest the day in two processes; `child` prepares the assessor's process's application."""
    app = without_random_selection(bootstrap(settings))
    with Offloaded(app, settings, prepare=child, now=clock()) as run:
        for submitter, lines in sources():
            run.ingest(submitter, read_bytes(lines, "ndjson"))
    return app, run.report


def test_two_processes_decide_exactly_what_one_decides(
    tmp_path: Path, database_url: str, request: pytest.FixtureRequest
) -> None:
    same_kind = None if database_url.startswith("sqlite") else _fresh_postgres(request.getfixturevalue("postgres_url"))
    alone = without_random_selection(bootstrap(settings_for(tmp_path / "one", same_kind)))
    now, report = clock(), IngestReport()
    for submitter, lines in sources():
        report.merge(ingest(alone, submitter, read_bytes(lines, "ndjson"), now=now))
    two, offloaded_report = offloaded(settings_for(tmp_path / "two", database_url), without_random_selection)
    expected, got = decided(alone), decided(two)
    alone.store.engine.dispose()
    two.store.engine.dispose()
    assert len(expected) == report.outcomes["registered"] > 800
    assert got == expected
    assert lanes(offloaded_report) == lanes(report) and offloaded_report.outcomes == report.outcomes
    assert offloaded_report.submitted == report.submitted and offloaded_report.errors == report.errors


def die(app: App) -> App:
    """The assessor's process dies as it starts (as the kernel's out-of-memory killer would end it)."""
    os._exit(9)


def test_when_the_assessors_process_dies_this_process_assesses_what_it_left(tmp_path: Path) -> None:
    app, report = offloaded(settings_for(tmp_path / "dies"), die)
    c = t.consignments.c
    with app.store.engine.connect() as conn:
        waiting = conn.execute(sa.select(sa.func.count()).where(c.status == "registered")).scalar_one()
    assert waiting == 0  # nothing was left unassessed
    assert report.decision_frame().height == report.outcomes["registered"] == len(decided(app)) > 800


def test_a_batchs_history_stops_at_its_receipt_even_when_later_parcels_are_already_stored(tmp_path: Path) -> None:
    """While the assessor's process assesses a batch, this process stores the next: the later parcels (of
    the same buyer: a split, were they earlier) are not the batch's history, so the decision is the one a
    single process makes."""
    from clearway.services.ingest import to_assess
    from clearway.store import risk_history
    from tests.conftest import example

    app = bootstrap(settings_for(tmp_path / "history"))
    noon = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    stored = []
    for minute, reference in enumerate(("H1", "H2", "H3")):
        at = noon + dt.timedelta(minutes=minute)
        batch = list(read_bytes(json.dumps(example(reference=reference)).encode(), "ndjson"))
        stored.append(to_assess(app.store, "platform-1", at, batch, app.store.record_batch("platform-1", at, batch)))
    (first, _), (second, _), _ = stored
    with app.store.engine.connect() as conn:
        before_second = risk_history.parcels(conn, second, {r.key for r in second})
        before_first = risk_history.parcels(conn, first, {r.key for r in first})
        filed_before_second = risk_history.filings(conn, second, {r.key for r in second})
        filed_before_first = risk_history.filings(conn, first, {r.key for r in first})
    assert before_second["key"].to_list() == [first[0].key]  # the earlier parcel, not the later one
    assert before_first.is_empty()
    assert filed_before_second.height == 1 and filed_before_first.is_empty()  # one transport document, three filings


def test_while_a_long_command_runs_a_thread_checkpoints_the_log_and_afterwards_commits_do_again(
    database_url: str,
) -> None:
    import threading

    from clearway.store import make_engine, upgrade
    from clearway.workers.checkpoints import checkpointing

    engine = make_engine(database_url)
    upgrade(engine)
    sqlite = engine.dialect.name == "sqlite"

    def autocheckpoint() -> int:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

    threads = lambda: [t.name for t in threading.enumerate()]  # noqa: E731
    with checkpointing(engine) as quiet:
        assert quiet is sqlite  # PostgreSQL checkpoints by itself
        if sqlite:
            assert autocheckpoint() == 0 and "clearway-checkpoints" in threads()
    assert "clearway-checkpoints" not in threads()
    if sqlite:
        assert autocheckpoint() == 1000  # SQLite's default, back for whatever runs next
    engine.dispose()


@pytest.mark.postgres
def test_sqlite_and_postgresql_decide_a_day_alike(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Receipt times were stored by bulk inserts in one text form and compared in another on SQLite, so a
    batch received on a whole second counted itself as its own history there (not on PostgreSQL), and one
    parcel in 900 got another decision. Both now store and compare one form."""
    found = []
    for name, url in (("lite", None), ("pg", _fresh_postgres(request.getfixturevalue("postgres_url")))):
        app = without_random_selection(bootstrap(settings_for(tmp_path / name, url)))
        now = clock()
        for submitter, lines in sources():
            ingest(app, submitter, read_bytes(lines, "ndjson"), now=now)
        found.append(decided(app))
        app.store.engine.dispose()
    assert len(found[0]) > 800 and found[0] == found[1]
