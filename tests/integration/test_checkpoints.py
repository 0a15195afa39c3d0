"""SQLite's write-ahead log under back-to-back commits: the background checkpoints keep it bounded."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from clearway.store import make_engine, sqlite_url
from clearway.store.engine import background_checkpoints
from clearway.workers.checkpoints import keep_checkpointing

LIMIT = 1 << 20


def test_back_to_back_commits_do_not_grow_the_log_without_end(tmp_path: Path) -> None:
    """One commit after another (as the demo's arrivals make them, one a manifest) never leaves the log fully
    copied when the next begins, which a log needs to start again from its beginning: a checkpoint past the
    limit waits for that moment, and the log's file stays near the limit instead of holding all that was
    written."""
    engine = make_engine(sqlite_url(tmp_path / "wal.db"))
    background_checkpoints(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE pages (body BLOB)")
    stop = threading.Event()
    checkpoints = threading.Thread(target=keep_checkpointing, args=(engine, stop, LIMIT))
    checkpoints.start()
    log, largest, written = tmp_path / "wal.db-wal", 0, 0
    try:
        while written < 12 * LIMIT:  # about 1.5 MiB between two checkpoints here, paced as arrivals are
            body = os.urandom(16 * 1024)
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO pages VALUES (:body)"), {"body": body})
            written += len(body)
            largest = max(largest, log.stat().st_size)
            time.sleep(0.002)
    finally:
        stop.set()
        checkpoints.join()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM pages").scalar_one() == written // (16 * 1024)
    engine.dispose()
    assert largest < 6 * LIMIT, f"the log reached {largest / LIMIT:.1f} MiB for {written / LIMIT:.0f} MiB written"
