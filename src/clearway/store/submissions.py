"""What submitters sent, as data-quality feedback reads it: each submission's findings, and when each
consignment arrived beside when it was declared to arrive."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.store import tables as t
from clearway.store.bulk import as_utc


def _within(query: sa.Select[Any], column: Any, since: dt.datetime | None, until: dt.datetime | None) -> sa.Select[Any]:
    if since is not None:
        query = query.where(column >= since)
    return query if until is None else query.where(column < until)


def findings(
    engine: sa.Engine, submitter: str | None, since: dt.datetime | None, until: dt.datetime | None
) -> Iterator[tuple[str, bool, list[str], list[str]]]:
    """Each submission received in [since, until) (of `submitter` when given): who sent it, whether it was
    accepted, and the codes of its errors and of its warnings."""
    s = t.submissions.c
    query = _within(sa.select(s.submitter, s.accepted, s.errors, s.warnings), s.received_at, since, until)
    if submitter is not None:
        query = query.where(s.submitter == submitter)
    with engine.connect() as conn:
        for name, accepted, errors, warnings in conn.execute(query):
            yield (str(name), bool(accepted), [f["code"] for f in msgspec.json.decode(errors)],
                   [f["code"] for f in msgspec.json.decode(warnings)])  # fmt: skip


def lead_times(
    engine: sa.Engine, submitter: str | None, since: dt.datetime | None, until: dt.datetime | None
) -> Iterator[tuple[str, dt.datetime, dt.datetime]]:
    """Consignments received in [since, until) with a declared arrival: submitter, received, expected."""
    c = t.consignments.c
    query: sa.Select[Any] = sa.select(c.submitter, c.received_at, c.expected_arrival)
    query = _within(query.where(c.expected_arrival.is_not(None)), c.received_at, since, until)
    if submitter is not None:
        query = query.where(c.submitter == submitter)
    with engine.connect() as conn:
        for row in conn.execute(query):
            yield str(row.submitter), as_utc(row.received_at), as_utc(row.expected_arrival)
