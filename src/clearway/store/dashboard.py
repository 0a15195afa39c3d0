"""What the officers' dashboard reads: counts by channel, status and lane, and the most recent receipts,
decisions' reasons and release times (at most `RECENT` of each)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from clearway.store import tables as t
from clearway.store.bulk import as_utc

RECENT = 50_000


@dataclass(frozen=True)
class DashboardData:
    channels: dict[str, int]
    statuses: dict[str, int]
    lanes: dict[str, int]
    received: list[tuple[dt.datetime, str]]  # (received at, channel), most recent first
    reasons: list[str]  # the most recent decisions' reasons as stored (JSON)
    released: list[tuple[dt.datetime, dt.datetime]]  # (received at, released at)


def dashboard_data(engine: sa.Engine) -> DashboardData:
    c, d = t.consignments.c, t.decisions.c
    with engine.connect() as conn:

        def counted(column: sa.ColumnElement[str], *where: sa.ColumnElement[bool]) -> dict[str, int]:
            query = sa.select(column, sa.func.count()).where(*where).group_by(column)
            return {str(key): int(n) for key, n in conn.execute(query)}

        channels, statuses, lanes = counted(c.channel), counted(c.status), counted(c.lane, c.lane.is_not(None))
        received = conn.execute(sa.select(c.received_at, c.channel).order_by(c.received_at.desc()).limit(RECENT))
        reasons = conn.execute(sa.select(d.reasons).order_by(d.decided_at.desc()).limit(RECENT)).scalars()
        released = conn.execute(sa.select(c.received_at, c.released_at).where(c.released_at.is_not(None)).limit(RECENT))
        return DashboardData(
            channels, statuses, lanes, [(as_utc(at), str(channel)) for at, channel in received],
            [str(r) for r in reasons], [(as_utc(a), as_utc(b)) for a, b in released],
        )  # fmt: skip
