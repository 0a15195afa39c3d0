"""History as Parquet, one partition per day of receipt: the pipeline's batch columns of every stored
consignment, with what happened to it (lane decided, inspected, infringing, duty and tax assessed). This is
what `clearway backtest` and `clearway rescore` read, locally or on Spark."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import msgspec
import polars as pl
import sqlalchemy as sa

from clearway.bootstrap import App
from clearway.impact.replay import OUTCOME
from clearway.kpi import Period
from clearway.model.consignment import Consignment
from clearway.pipeline import BatchRow, to_batch
from clearway.store import tables as t
from clearway.store.bulk import chunked
from clearway.store.repository import as_utc


class _Totals(msgspec.Struct):
    total: str


class _Assessment(msgspec.Struct):
    currency: str
    totals: _Totals


def export_history(
    app: App, out: Path, period: Period | None = None, on_day: Callable[[dt.date, int], None] | None = None
) -> list[Path]:
    """Write `out/day=YYYY-MM-DD/part-0.parquet` for each day with consignments; returns the files."""
    c = t.consignments.c
    where = [c.lane.is_not(None)]
    if period is not None:
        where += [c.received_at >= period.since, c.received_at < period.until]
    with app.store.engine.connect() as conn:
        days: dict[dt.date, list[str]] = defaultdict(list)
        for cid, received_at in conn.execute(sa.select(c.id, c.received_at).where(*where).order_by(c.received_at)):
            days[as_utc(received_at).date()].append(cid)
    written = []
    for day, ids in sorted(days.items()):
        path = out / f"day={day.isoformat()}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        _day_frame(app, ids).write_parquet(path)
        written.append(path)
        if on_day:
            on_day(day, len(ids))
    return written


def _day_frame(app: App, ids: list[str]) -> pl.DataFrame:
    c, v, d, i = t.consignments.c, t.consignment_versions.c, t.decisions.c, t.inspections.c
    rows, outcome = [], []
    assessment = msgspec.json.Decoder(_Assessment)
    with app.store.engine.connect() as conn:
        for chunk in chunked(ids):
            found = conn.execute(
                sa.select(c.id, c.submitter, c.received_at, c.lane, v.body)
                .join(t.consignment_versions, (v.consignment_id == c.id) & (v.version == c.version))
                .where(c.id.in_(chunk))
            ).all()
            latest: dict[str, str | None] = {}
            for cid, text in conn.execute(
                sa.select(d.consignment_id, d.assessment)
                .where(d.consignment_id.in_(chunk))
                .order_by(d.decided_at, d.id)
            ):
                latest[cid] = text
            checks: dict[str, bool] = {}
            for cid, result in conn.execute(sa.select(i.consignment_id, i.outcome).where(i.consignment_id.in_(chunk))):
                checks[cid] = checks.get(cid, False) or result == "infringement"
            keys = app.store.party_keys_of(chunk)
            for r in found:
                rows.append(BatchRow(r.id, r.submitter, as_utc(r.received_at),
                                     msgspec.json.decode(r.body, type=Consignment), keys.get(r.id)))  # fmt: skip
                text = latest.get(r.id)
                a = assessment.decode(text) if text else None
                outcome.append({"key": r.id, "actual_lane": r.lane, "inspected": r.id in checks,
                                "infringement": checks.get(r.id, False), "total_due": a.totals.total if a else None,
                                "revenue_currency": a.currency if a else None})  # fmt: skip
    frame = to_batch(rows)
    facts = pl.DataFrame(outcome, schema={"key": pl.String(), **OUTCOME})
    return frame.join(facts, on="key", how="left", maintain_order="left")
