"""The one way an event is recorded: its row in the event log, its leaf in the ledger and, for an officer's
action, its audit row, written together in the caller's transaction.

`EventBatch` collects the events of one transaction (`add` returns each event's id at once, for rows that
name it) and `write` stores them all: events column by column and audit rows in bulk, leaves appended in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.ledger import LedgerEvent
from clearway.store import ledger_log
from clearway.store import tables as t
from clearway.store.bulk import insert_columns, insert_rows

_encode = msgspec.json.Encoder(order="deterministic").encode


@dataclass(frozen=True)
class Audit:
    """Who did it as an officer (never a submitter's own action): name, role, and the state before and after."""

    actor: str
    role: str
    before: dict[str, Any]
    after: dict[str, Any]


EVENT_COLUMNS = ("id", "consignment_id", "type", "actor", "at", "data")


@dataclass
class EventBatch:
    next_id: Callable[[], str]  # fresh ids (`repository.IdSequence`)
    events: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in EVENT_COLUMNS})
    leaves: list[tuple[str, LedgerEvent]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        consignment_id: str,
        kind: str,
        actor: str,
        at: dt.datetime,
        facts: dict[str, Any],
        *,
        shown: dict[str, Any] | None = None,
        audit: Audit | None = None,
        event_id: str | None = None,
    ) -> str:
        """One event: `facts` go to the ledger (sealed there as it decides), `shown` (default: the facts)
        to the event log; returns the event's id. The event log's rows are kept column by column."""
        eid = event_id or self.next_id()
        row = (eid, consignment_id, kind, actor, at, _encode(facts if shown is None else shown).decode())
        for column, value in zip(self.events.values(), row, strict=True):
            column.append(value)
        self.leaves.append((eid, LedgerEvent(kind, consignment_id, at, facts)))
        if audit is not None:
            self.audits.append(
                {"actor": audit.actor, "role": audit.role, "action": kind, "consignment_id": consignment_id,
                 "at": at, "before": _encode(audit.before).decode(), "after": _encode(audit.after).decode(),
                 "event_id": eid}
            )  # fmt: skip
        return eid

    def write(self, conn: sa.Connection, salts: ledger_log.Salts | None = None) -> None:
        """Store what was added, in `conn`'s transaction; `salts` made in it are used as given."""
        insert_columns(conn, t.events, self.events)
        insert_rows(conn, t.audit_log, self.audits)
        ledger_log.append(conn, self.leaves, salts)
        self.events, self.leaves, self.audits = {name: [] for name in EVENT_COLUMNS}, [], []


def record_audit(
    conn: sa.Connection,
    at: dt.datetime,
    actor: str,
    role: str,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """An audit row for an action on the service rather than on a consignment (a profile activated, a model
    promoted): no event, no ledger leaf."""
    row = {"actor": actor, "role": role, "action": action, "consignment_id": None, "at": at,
           "before": _encode(before).decode(), "after": _encode(after).decode()}  # fmt: skip
    insert_rows(conn, t.audit_log, [row])
