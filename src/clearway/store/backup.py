"""Online backup and restore of the embedded SQLite store, with SQLite's backup API.

The backup API copies the database page by page inside SQLite, so the copy is consistent (one point in
time) while the service goes on writing, and the write-ahead log is folded in. PostgreSQL is backed up with
its own tools (pg_dump, or a base backup with WAL archiving): `docs/operations.md`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from clearway.errors import ConfigurationError, InvalidInput

Progress = Callable[[int, int], None]  # (pages left, pages in all)


def sqlite_path(database_url: str) -> Path:
    """The file of an SQLite URL; anything else is refused with where to look instead."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ConfigurationError(
            f"backup and restore here are for the embedded SQLite store, not {url.get_backend_name()}: "
            "back PostgreSQL up with pg_dump or a base backup with WAL archiving (docs/operations.md)"
        )
    return Path(url.database)


def backup(database_url: str, out: Path, progress: Progress | None = None) -> int:
    """A consistent copy of the live database at `out` (replaced if it exists); returns its size in bytes."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise ConfigurationError(f"there is no database at {source_path} to back up")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(source_path, timeout=30) as source, sqlite3.connect(partial) as target:
        source.backup(target, pages=1024, progress=_each(progress))
    partial.replace(out)
    return out.stat().st_size


def restore(backup_file: Path, database_url: str, *, force: bool = False, progress: Progress | None = None) -> None:
    """Put a backup in place of the database; a database already there is replaced only with `force`."""
    target_path = sqlite_path(database_url)
    check_backup(backup_file)
    if target_path.exists() and target_path.stat().st_size > 0 and not force:
        raise InvalidInput(f"{target_path} exists: stop the service, then restore with --force to replace it")
    target_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(backup_file) as source, sqlite3.connect(target_path, timeout=30) as target:
        source.backup(target, pages=1024, progress=_each(progress))


def check_backup(path: Path) -> None:
    """A readable SQLite file that passes its integrity check and holds a clearway schema."""
    if not path.is_file():
        raise InvalidInput(f"no backup file at {path}")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path} is not an SQLite database: {exc}") from exc
    if verdict != "ok":
        raise InvalidInput(f"{path} fails SQLite's integrity check: {verdict}")
    if not {"alembic_version", "consignments", "ledger_leaves"} <= tables:
        raise InvalidInput(f"{path} is not a clearway database (no consignments, ledger or schema version)")


def _each(progress: Progress | None) -> Callable[[int, int, int], None] | None:
    if progress is None:
        return None
    return lambda _status, remaining, total: progress(remaining, total)
