"""Webhook subscriptions per tenant and their deliveries: queued, claimed by one deliverer at a time, and
marked delivered or due again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.store import tables as t
from clearway.store.bulk import as_utc

_w, _d, _c = t.webhooks.c, t.webhook_deliveries.c, t.consignments.c


class SqlWebhooks:
    """The webhooks of one database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def allowed_hosts(self, client_id: str) -> list[str]:
        """The hosts the operator allowed this client's webhooks to call."""
        with self.engine.connect() as conn:
            hosts = conn.execute(sa.select(t.clients.c.webhook_hosts).where(t.clients.c.id == client_id)).scalar()
        return list(msgspec.json.decode(hosts or "[]"))

    def add(self, hook: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.webhooks.insert().values(**hook))

    def of_tenant(self, tenant: str) -> list[dict[str, Any]]:
        query = sa.select(_w.id, _w.url, _w.events, _w.created_at).where(_w.tenant == tenant)
        with self.engine.connect() as conn:
            return [
                {"id": r.id, "url": r.url, "events": msgspec.json.decode(r.events), "created_at": as_utc(r.created_at)}
                for r in conn.execute(query)
            ]

    def remove(self, tenant: str, hook_id: str) -> bool:
        """Drop a tenant's webhook and what it had waiting; False when the tenant has no such webhook."""
        with self.engine.begin() as conn:
            if conn.execute(sa.select(_w.id).where(_w.id == hook_id, _w.tenant == tenant)).first() is None:
                return False
            conn.execute(t.webhook_deliveries.delete().where(_d.webhook_id == hook_id))
            conn.execute(t.webhooks.delete().where(_w.id == hook_id))
        return True

    def subscribers(
        self, consignment_ids: Collection[str]
    ) -> tuple[dict[str, tuple[str, str]], dict[str, list[tuple[str, list[str]]]]]:
        """For these consignments: each one's tenant and reference, and each of those tenants' webhooks with
        the events they want (empty: all)."""
        with self.engine.connect() as conn:
            owners = {
                str(cid): (str(tenant), str(reference))
                for cid, tenant, reference in conn.execute(
                    sa.select(_c.id, _c.submitter, _c.reference).where(_c.id.in_(sorted(consignment_ids)))
                )
            }
            hooks: dict[str, list[tuple[str, list[str]]]] = {}
            tenants = {tenant for tenant, _ in owners.values()}
            for row in conn.execute(sa.select(_w.id, _w.tenant, _w.events).where(_w.tenant.in_(tenants))):
                hooks.setdefault(str(row.tenant), []).append((str(row.id), list(msgspec.json.decode(row.events))))
        return owners, hooks

    def add_deliveries(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with self.engine.begin() as conn:
                conn.execute(t.webhook_deliveries.insert(), list(rows))

    def due(self, now: dt.datetime, max_attempts: int, limit: int) -> list[Any]:
        """Deliveries due at `now` and tried fewer than `max_attempts` times, soonest first: id, payload,
        attempts, and the webhook's url and secret."""
        query = (
            sa.select(_d.id, _d.payload, _d.attempts, _w.url, _w.secret)
            .join(t.webhooks, _w.id == _d.webhook_id)
            .where(_d.delivered_at.is_(None), _d.next_attempt_at <= now, _d.attempts < max_attempts)
            .order_by(_d.next_attempt_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())

    def claim(self, delivery_id: str, attempts: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Take a due delivery until `until`, if no other deliverer took it since it was read."""
        with self.engine.begin() as conn:
            claimed = conn.execute(
                t.webhook_deliveries.update()
                .where(_d.id == delivery_id, _d.attempts == attempts, _d.delivered_at.is_(None),
                       _d.next_attempt_at <= now)
                .values(next_attempt_at=until)
            )  # fmt: skip
        return bool(claimed.rowcount == 1)

    def tried(self, delivery_id: str, values: dict[str, Any]) -> None:
        """What one attempt came to: its count, its error, and when it was delivered or is due again."""
        with self.engine.begin() as conn:
            conn.execute(t.webhook_deliveries.update().where(_d.id == delivery_id).values(**values))
