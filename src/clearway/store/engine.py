"""Engines: SQLite in WAL mode (the embedded default) or PostgreSQL through psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

Engine = sa.Engine
"""The handle on one database that the store's functions take: the edges pass it along and never query it."""
Connection = sa.Connection
"""One transaction's connection, as `Store.writing()` and `engine.begin()` give it: a use case may hold it to
make several of the store's functions one unit of work, and passes it to them."""
StoreError = sa.exc.SQLAlchemyError
"""What the store raises when the database cannot do what was asked (it does not answer, a constraint)."""


class DatabaseUrl:
    """A database URL as the operator wrote it, read without connecting."""

    def __init__(self, text: str) -> None:
        """Raises ValueError when `text` is not a database URL."""
        try:
            self._url = sa.engine.make_url(text)
        except sa.exc.ArgumentError as exc:
            raise ValueError(str(exc)) from exc

    @property
    def backend(self) -> str:
        return str(self._url.get_backend_name())

    def shown(self) -> str:
        """The URL with its password hidden."""
        return str(self._url.render_as_string(hide_password=True))


def schema_revision(engine: sa.Engine) -> str | None:
    """The Alembic revision the database's schema is at (None before the first migration); raises
    StoreError when the database does not answer."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        return MigrationContext.configure(conn).get_current_revision()


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
    engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
    sa.event.listen(engine, "connect", _postgres_settings)
    return engine


def background_checkpoints(engine: sa.Engine) -> bool:
    """Commits on `engine` no longer checkpoint the SQLite write-ahead log themselves (copying it into the
    database and syncing it, tens of milliseconds in whichever commit crosses the threshold): a background
    thread calls `checkpoint` instead. True where that applies (an SQLite file)."""
    if engine.dialect.name != "sqlite":
        return False
    if not sa.event.contains(engine, "connect", _no_autocheckpoint):
        sa.event.listen(engine, "connect", _no_autocheckpoint)
        engine.dispose()  # connections opened before now checkpoint as before: the next ones do not
    return True


def foreground_checkpoints(engine: sa.Engine) -> None:
    """Undo `background_checkpoints`: commits checkpoint the log again, as by default."""
    if sa.event.contains(engine, "connect", _no_autocheckpoint):
        sa.event.remove(engine, "connect", _no_autocheckpoint)
        engine.dispose()


def _no_autocheckpoint(connection: Any, _record: Any) -> None:
    connection.execute("PRAGMA wal_autocheckpoint=0")


def checkpoint(engine: sa.Engine) -> None:
    """Copy what the write-ahead log holds into the database without waiting for readers or writers."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def _postgres_settings(dbapi_connection: Any, _record: Any) -> None:
    """No JIT compilation: clearway's statements are short lookups, and PostgreSQL compiles one whose estimated
    cost passes `jit_above_cost`, which an estimate without statistics (a table just loaded, before autoanalyze)
    easily does: the parties' record of a single filing ran in 0.4 ms and took 88 ms with its compilation, on a
    store of 50,000 parcels (`python -m bench grown`)."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # every commit reaches the disk: an answer means stored
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
