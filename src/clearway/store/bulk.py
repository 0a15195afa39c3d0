"""Bulk inserts (COPY on PostgreSQL, or one multi-row INSERT for a few rows; executemany in one statement
read back in UTC: what every store module needs of the database."""

from __future__ import annotations

import datetime as dt
import operator
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
        _postgres(conn, table, rows)
    else:
        _executemany(conn, table, rows)


def _executemany(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """One prepared INSERT through the driver, values converted by each column type's bind processor.

    SQLAlchemy's generic path builds parameters row by row in Python; this builds them column by column
    (a column without a processor is copied as it is), in C loops wherever no processor runs.
    """
    names = list(rows[0])
    processors = [_processor(table.c[n].type, conn.dialect) for n in names]
    instants = [isinstance(getattr(table.c[n].type, "impl", table.c[n].type), sa.DateTime) for n in names]
    columns = ", ".join(names)
    marks = ", ".join("?" for _ in names)
    get = operator.itemgetter(*names)
    params: list[Any] = list(map(get, rows)) if len(names) > 1 else [(get(r),) for r in rows]
    if any(processors):
        transposed = zip(*params, strict=True)
        by_column = [
            (_each_once(p, values) if instant else list(map(p, values))) if p else values
            for p, instant, values in zip(processors, instants, transposed, strict=True)
        ]
        params = list(zip(*by_column, strict=True))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", params)


def _each_once(processor: Any, values: Sequence[Any]) -> list[Any]:
    """`processor` over `values`, run once per distinct value: the rows of a batch share a few instants (when
    it was decided, received), and formatting a datetime is most of what inserting one costs. Equal instants
    are the same instant in UTC, which is what is written, whatever their offsets."""
    done = {value: processor(value) for value in set(values)}
    return list(map(done.__getitem__, values))


def _processor(kind: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> Any:
    """The bind processor SQLAlchemy's own statements use for the column (the dialect's type: on SQLite a
    datetime is written as the text every other statement writes and compares with), but none for bytes:
    the driver takes them as they are (SQLAlchemy would wrap each in the driver's Binary, a memoryview, a
    twentieth of an insert's time)."""
    return None if isinstance(kind, sa.LargeBinary) else kind.dialect_impl(dialect).bind_processor(dialect)


COPY_FROM = 100
"""Rows from which PostgreSQL gets COPY: below, one multi-row INSERT. COPY costs two round trips before its
first row, which for the few rows of one submission took an eighth of the service's time (`bench openloop`)."""


def _postgres(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Rows through the driver in the connection's transaction: one multi-row INSERT, or COPY for many."""
    names = list(rows[0])
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if len(rows) < COPY_FROM:
        one = "(" + ", ".join(["%s"] * len(names)) + ")"
        statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES " + ", ".join([one] * len(rows))
        with dbapi.cursor() as cursor:
            cursor.execute(statement, [row[n] for row in rows for n in names])
        return
    with dbapi.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in rows:
            copy.write_row([row[n] for n in names])
