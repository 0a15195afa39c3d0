"""Whose turn it is to write: the write path's transactions queue here, in this process and across the
processes sharing an SQLite file (the API and its assessor), and start the moment the other ends.

Left to SQLite, a transaction that finds the database locked polls it, sleeping longer each try (up to
100 ms a try): a short request's commit waited behind that sleep, not behind the other transaction (issue
17). A thread lock orders this process's threads; an advisory lock on a file beside the database orders the
processes (the kernel wakes the next waiter when it is released). PostgreSQL needs neither beyond the thread
lock, which keeps the ledger's order in one process.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

import sqlalchemy as sa

try:
    import fcntl
except ImportError:  # not on POSIX: the thread lock alone, and SQLite's own polling between processes
    fcntl = None  # type: ignore[assignment]


class WriteTurn:
    """Re-entrant in a thread; one writer at a time across threads and, for an SQLite file, processes."""

    def __init__(self, engine: sa.Engine) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._path = _lock_file(engine)
        self._file: IO[bytes] | None = None

    def __enter__(self) -> None:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1:
            self._take()

    def __exit__(self, *_: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._give()
        self._lock.release()

    def _take(self) -> None:
        if self._path is None or fcntl is None:
            return
        self._file = self._path.open("ab")  # opened for each turn: nothing is left open between them
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)  # blocks without the interpreter lock

    def _give(self) -> None:
        if self._file is not None:
            self._file.close()  # closing it gives the lock back
            self._file = None


def _lock_file(engine: sa.Engine) -> Path | None:
    """`<database>.write-lock` beside an SQLite file; none for PostgreSQL or an in-memory database."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).with_name(Path(database).name + ".write-lock")
