"""What officers and operators put in force in the service, as numbered versions per kind (risk profiles,
selectivity settings, the promoted targeting model): the newest version of a kind is in force, and every
new one is stored with its audit row in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from clearway.store import tables as t
from clearway.store.events import record_audit


def latest(engine: sa.Engine, kind: str) -> tuple[int, str] | None:
    """The newest stored version of a kind and its text (None when none is stored)."""
    c = t.config_versions.c
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(c.version, c.text).where(c.kind == kind).order_by(c.version.desc()).limit(1)
        ).first()
    return None if row is None else (int(row.version), str(row.text))


def in_force(engine: sa.Engine) -> dict[str, int]:
    """The newest version of each kind stored: a change since the last look means something to reload."""
    c = t.config_versions.c
    with engine.connect() as conn:
        stored = conn.execute(sa.select(c.kind, sa.func.max(c.version)).group_by(c.kind)).all()
    return {str(kind): int(version) for kind, version in stored}


def add_version(
    engine: sa.Engine,
    kind: str,
    text: str,
    *,
    at: dt.datetime,
    actor: str,
    role: str,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> int:
    """Store `text` as the next version of `kind`, audited as `action` (the audit's `after` gains the
    version); returns the version."""
    c = t.config_versions.c
    with engine.begin() as conn:
        version = int(conn.execute(sa.select(sa.func.max(c.version)).where(c.kind == kind)).scalar() or 0) + 1
        conn.execute(
            t.config_versions.insert().values(kind=kind, version=version, text=text, author=actor, created_at=at)
        )
        record_audit(conn, at, actor, role, action, before, {"version": version} | after)
    return version
