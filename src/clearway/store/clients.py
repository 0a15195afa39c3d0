"""API clients as stored: credentials (hashes only), roles, whether each is still active, and the ids of
signed-out sessions until their tokens would have expired anyway."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from clearway.store import tables as t

_c, _r = t.clients.c, t.revoked_tokens.c


class SqlClients:
    """The clients of one database (`auth.clients.ClientRecords`)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def get(self, client_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.clients).where(_c.id == client_id)).mappings().first()
        return None if row is None else dict(row)

    def add(self, row: dict[str, Any]) -> bool:
        """Keep a new client; False (nothing kept) when one of its name exists already."""
        with self.engine.begin() as conn:
            if conn.execute(sa.select(_c.id).where(_c.name == row["name"])).first() is not None:
                return False
            conn.execute(t.clients.insert().values(**row))
        return True

    def deactivate(self, name: str, at: dt.datetime) -> dict[str, Any] | None:
        """Mark the client of this name revoked at `at`; its id and role (None when there is none)."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_c.id, _c.role).where(_c.name == name)).first()
            if row is None:
                return None
            conn.execute(t.clients.update().where(_c.id == row.id).values(active=False, revoked_at=at))
        return {"id": row.id, "role": row.role}

    def is_active(self, client_id: str) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(sa.select(_c.active).where(_c.id == client_id)).scalar())

    def end_session(self, jti: str, expires: dt.datetime, now: dt.datetime) -> None:
        """Refuse the token `jti` until `expires`; forget sessions whose tokens have expired by `now`."""
        with self.engine.begin() as conn:
            conn.execute(t.revoked_tokens.delete().where(_r.expires_at < now))
            if conn.execute(sa.select(_r.jti).where(_r.jti == jti)).first() is None:
                conn.execute(t.revoked_tokens.insert().values(jti=jti, expires_at=expires))

    def ended_sessions(self, now: dt.datetime) -> frozenset[str]:
        """The token ids of signed-out sessions whose tokens have not expired by `now`."""
        with self.engine.connect() as conn:
            return frozenset(str(j) for j in conn.execute(sa.select(_r.jti).where(_r.expires_at >= now)).scalars())
