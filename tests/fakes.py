"""In-memory fakes of the store's repositories, for use cases tested without a database. Each keeps to the
protocol its use case declares (`auth.clients.ClientRecords`, ...), and the same tests run against the
store's own implementation, so a fake cannot drift from what the database does."""

from __future__ import annotations

import datetime as dt
from typing import Any


class InMemoryClients:
    """`auth.clients.ClientRecords` in a dict."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dt.datetime] = {}  # signed-out token id -> when its token expires

    def get(self, client_id: str) -> dict[str, Any] | None:
        row = self.rows.get(client_id)
        return None if row is None else dict(row)

    def add(self, row: dict[str, Any]) -> bool:
        if any(r["name"] == row["name"] for r in self.rows.values()):
            return False
        self.rows[row["id"]] = dict(row) | {"revoked_at": None}
        return True

    def deactivate(self, name: str, at: dt.datetime) -> dict[str, Any] | None:
        for row in self.rows.values():
            if row["name"] == name:
                row.update(active=False, revoked_at=at)
                return {"id": row["id"], "role": row["role"]}
        return None

    def is_active(self, client_id: str) -> bool:
        return bool(self.rows.get(client_id, {}).get("active"))

    def end_session(self, jti: str, expires: dt.datetime, now: dt.datetime) -> None:
        self.sessions = {j: e for j, e in self.sessions.items() if e >= now}
        self.sessions.setdefault(jti, expires)

    def ended_sessions(self, now: dt.datetime) -> frozenset[str]:
        return frozenset(j for j, e in self.sessions.items() if e >= now)
