"""Engines: SQLite in WAL mode (the embedded default) or PostgreSQL through psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str) -> sa.Engine:
    """An engine for `url`; plain `postgresql://` URLs get the psycopg 3 driver."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, hide_parameters=True)  # values are personal data: never in a log
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def background_checkpoints(engine: sa.Engine) -> bool:
    """Commits on `engine` no longer checkpoint the SQLite write-ahead log themselves (copying it into the
    database and syncing it, tens of milliseconds in whichever commit crosses the threshold): a background
    thread calls `checkpoint` instead. True where that applies (an SQLite file)."""
    if engine.dialect.name != "sqlite":
        return False
    sa.event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA wal_autocheckpoint=0"))
    engine.dispose()  # connections opened before now checkpoint as before: the next ones do not
    return True


def checkpoint(engine: sa.Engine) -> None:
    """Copy what the write-ahead log holds into the database without waiting for readers or writers."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # every commit reaches the disk: an answer means stored
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
