"""In-memory fakes of the store's repositories, for use cases tested without a database. Each keeps to the
protocol its use case declares (`auth.clients.ClientRecords`, ...), and the same tests run against the
store's own implementation, so a fake cannot drift from what the database does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from types import SimpleNamespace
from typing import Any

import msgspec


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


class InMemoryWebhooks:
    """`workers.webhooks.WebhookRecords` in dicts; `owners` says who filed each consignment (and its reference),
    as the store's consignments table does."""

    def __init__(self, hosts: dict[str, list[str]] | None = None) -> None:
        self.hosts = hosts or {}  # client id -> hosts its webhooks may call
        self.owners: dict[str, tuple[str, str]] = {}  # consignment id -> (tenant, reference)
        self.hooks: dict[str, dict[str, Any]] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}

    def allowed_hosts(self, client_id: str) -> list[str]:
        return list(self.hosts.get(client_id, []))

    def add(self, hook: dict[str, Any]) -> None:
        self.hooks[hook["id"]] = dict(hook)

    def of_tenant(self, tenant: str) -> list[dict[str, Any]]:
        return [
            {"id": h["id"], "url": h["url"], "events": msgspec.json.decode(h["events"]), "created_at": h["created_at"]}
            for h in self.hooks.values()
            if h["tenant"] == tenant
        ]

    def remove(self, tenant: str, hook_id: str) -> bool:
        if self.hooks.get(hook_id, {}).get("tenant") != tenant:
            return False
        del self.hooks[hook_id]
        self.deliveries = {k: d for k, d in self.deliveries.items() if d["webhook_id"] != hook_id}
        return True

    def subscribers(
        self, consignment_ids: Collection[str]
    ) -> tuple[dict[str, tuple[str, str]], dict[str, list[tuple[str, list[str]]]]]:
        owners = {cid: self.owners[cid] for cid in consignment_ids if cid in self.owners}
        tenants = {tenant for tenant, _ in owners.values()}
        hooks: dict[str, list[tuple[str, list[str]]]] = {}
        for h in self.hooks.values():
            if h["tenant"] in tenants:
                hooks.setdefault(h["tenant"], []).append((h["id"], list(msgspec.json.decode(h["events"]))))
        return owners, hooks

    def add_deliveries(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self.deliveries[row["id"]] = dict(row) | {"delivered_at": None, "last_error": None}

    def due(self, now: dt.datetime, max_attempts: int, limit: int) -> list[Any]:
        waiting = [
            d for d in self.deliveries.values()
            if d["delivered_at"] is None and d["next_attempt_at"] <= now and d["attempts"] < max_attempts
        ]  # fmt: skip
        waiting.sort(key=lambda d: d["next_attempt_at"])
        return [
            SimpleNamespace(id=d["id"], payload=d["payload"], attempts=d["attempts"],
                            url=self.hooks[d["webhook_id"]]["url"], secret=self.hooks[d["webhook_id"]]["secret"])
            for d in waiting[:limit]
        ]  # fmt: skip

    def claim(self, delivery_id: str, attempts: int, now: dt.datetime, until: dt.datetime) -> bool:
        d = self.deliveries.get(delivery_id)
        if d is None or d["attempts"] != attempts or d["delivered_at"] is not None or d["next_attempt_at"] > now:
            return False
        d["next_attempt_at"] = until
        return True

    def tried(self, delivery_id: str, values: dict[str, Any]) -> None:
        self.deliveries[delivery_id].update(values)
