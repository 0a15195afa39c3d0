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


WAL_LIMIT = 256 * 1024 * 1024
"""Bytes of SQLite write-ahead log past which a checkpoint starts the log again, and to which SQLite shortens
the log's file when it does. A log starts again only when a checkpoint has copied all of it and no reader
still reads from it: under back-to-back commits (the demo's arrivals, one a manifest, 1,512 in 8 s) the
background checkpoints never caught up with the last commit, and the log grew to 790 MB; a service under
steady single filings would grow it all day."""
BUSY_TIMEOUT_MS = 10_000
"""How long a statement waits for SQLite's write lock before it fails."""
RESTART_WAIT_MS = 100
"""How long a checkpoint that starts the log again waits for the writer and then for readers before it gives
up: new writers wait for it meanwhile, so it must not wait out a long report that reads from the log."""


def checkpoint(engine: sa.Engine, wal_limit: int | None = WAL_LIMIT) -> bool:
    """Copy what the write-ahead log holds into the database without waiting for readers or writers; once the
    log is past `wal_limit` bytes (None: not this time), also start it again, waiting RESTART_WAIT_MS at
    most. False when that was tried and a reader or the writer held the log longer."""
    with engine.connect() as conn:
        _, logged, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        if wal_limit is None or logged * conn.exec_driver_sql("PRAGMA page_size").scalar_one() <= wal_limit:
            return True
        conn.exec_driver_sql(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        try:
            busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)").one()
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return not busy


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
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")  # the log's file shrinks back when started again
    cursor.close()
