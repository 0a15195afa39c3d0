"""Bulk inserts (COPY on PostgreSQL, executemany in one statement elsewhere), IN lists in chunks, and times
read back in UTC: what every store module needs of the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")
IN_LIST = 900  # values per IN (...) list: under SQLite's default limit on bound parameters


def as_utc(value: dt.datetime) -> dt.datetime:
    """Datetimes come back naive from SQLite (they were stored in UTC) and in the session's zone from
    PostgreSQL: either way, the same instant in UTC."""
    return value.astimezone(dt.UTC) if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def chunked(values: Sequence[T], size: int = IN_LIST) -> Iterator[list[T]]:
    """`values` in lists of at most `size`, for IN (...) queries."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) inside the connection's transaction; absent columns default."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, rows)
    else:
        _executemany(conn, table, rows)


def _executemany(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """One prepared INSERT through the driver, values converted by each column type's bind processor.

    SQLAlchemy's generic path builds parameters row by row in Python; this costs a third of it.
    """
    names = list(rows[0])
    processors = [table.c[n].type.bind_processor(conn.dialect) for n in names]
    columns = ", ".join(names)
    marks = ", ".join("?" for _ in names)
    params = [tuple(p(r[n]) if p else r[n] for n, p in zip(names, processors, strict=True)) for r in rows]
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", params)


def _copy(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    names = list(rows[0])
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    with dbapi.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in rows:
            copy.write_row([row[n] for n in names])
