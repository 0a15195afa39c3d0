"""SQLite's write-ahead log checkpointed by a thread, not by commits.

By default, the commit that takes the log past a thousand pages copies it into the database and syncs it:
tens of milliseconds that one request, or one batch of a long run, pays. Here a thread checkpoints it every
CHECKPOINT_EVERY seconds, without waiting for readers or writers, and commits only append to the log. The
service's assessor process runs one for good; a long command (the demo, `clearway ingest`) runs one while
it works (`checkpointing`), and so does a process that shares its database (`quiet_commits`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from clearway.store.engine import Engine, background_checkpoints, checkpoint, foreground_checkpoints

log = logging.getLogger("clearway.checkpoints")
CHECKPOINT_EVERY = 0.25
"""Seconds between checkpoints of the SQLite write-ahead log."""


def keep_checkpointing(engine: Engine, stop: threading.Event | None = None) -> None:
    """Checkpoint every CHECKPOINT_EVERY seconds until `stop` is set (for good without one)."""
    stop = stop or threading.Event()
    while not stop.wait(CHECKPOINT_EVERY):
        try:
            checkpoint(engine)
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
