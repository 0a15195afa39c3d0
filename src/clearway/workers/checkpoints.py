"""SQLite's write-ahead log checkpointed by a thread, not by commits.

By default, the commit that takes the log past a thousand pages copies it into the database and syncs it:
tens of milliseconds that one request, or one batch of a long run, pays. Here a thread checkpoints it every
CHECKPOINT_EVERY seconds, without waiting for readers or writers, and commits only append to the log. Once
the log is past `WAL_LIMIT`, a checkpoint also starts it again from its beginning, which holds new writers
while it finishes (on the demo's arrivals, the longest call waited 105-130 ms, against 43-161 ms without;
the log peaked at 290-310 MB instead of 894 MB). The service's assessor process runs one for good; a long
command (the demo, `clearway ingest`) runs one while it works (`checkpointing`), and so does a process that
shares its database (`quiet_commits`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

from clearway.store.engine import WAL_LIMIT, Engine, background_checkpoints, checkpoint, foreground_checkpoints

log = logging.getLogger("clearway.checkpoints")
CHECKPOINT_EVERY = 0.25
"""Seconds between checkpoints of the SQLite write-ahead log."""
RESTART_AGAIN_AFTER = 5.0
"""Seconds before the log is tried to be started again, after a reader held it past RESTART_WAIT_MS."""


def keep_checkpointing(engine: Engine, stop: threading.Event | None = None, wal_limit: int = WAL_LIMIT) -> None:
    """Checkpoint every CHECKPOINT_EVERY seconds until `stop` is set (for good without one), starting the log
    again once it is past `wal_limit` bytes; a start that a long reader prevented is tried again only
    RESTART_AGAIN_AFTER seconds later (each try holds new writers up to RESTART_WAIT_MS)."""
    stop = stop or threading.Event()
    restart_at = 0.0
    while not stop.wait(CHECKPOINT_EVERY):
        try:
            if not checkpoint(engine, wal_limit if time.monotonic() >= restart_at else None):
                restart_at = time.monotonic() + RESTART_AGAIN_AFTER
        except Exception:  # a busy moment: the next one catches up
            log.debug("checkpoint skipped", exc_info=True)


@contextlib.contextmanager
def checkpointing(engine: Engine) -> Iterator[bool]:
    """While the block runs, a thread checkpoints `engine`'s log and its commits do not (after it, they do
    again); yields whether that applies (an SQLite file), so that other processes on the database can leave
    it to this one too."""
    if not background_checkpoints(engine):
        yield False
        return
    stop = threading.Event()
    thread = threading.Thread(target=keep_checkpointing, args=(engine, stop), name="clearway-checkpoints",
                              daemon=True)  # fmt: skip
    thread.start()
    try:
        yield True
    finally:
        stop.set()
        thread.join()
        foreground_checkpoints(engine)
        checkpoint(engine)  # what the last commits logged is in the database before the block ends
