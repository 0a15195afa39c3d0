"""What every store module needs of the database in bulk: inserts given column by column (COPY on PostgreSQL,
one multi-row INSERT for a few rows; one executemany statement on SQLite), IN lists in chunks, and instants
read back in UTC."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
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


Columns = Mapping[str, Sequence[Any]]
"""A batch of rows by column: each column's values in row order, every column as long as the others."""


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) inside the connection's transaction; absent columns default.
    For a few rows built one by one; a batch made column by column goes to `insert_columns` as it is."""
    if rows:
        insert_columns(conn, table, {name: [row[name] for row in rows] for name in rows[0]})


def insert_columns(conn: sa.Connection, table: sa.Table, columns: Columns) -> None:
    """Insert a batch given column by column, inside the connection's transaction; absent columns default."""
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of {table.name} differ in length: {sorted(lengths)}")
    if not columns or not lengths or lengths == {0}:
        return
    if conn.dialect.name == "postgresql":
        _postgres(conn, table, columns)
    else:
        _executemany(conn, table, columns)


def _executemany(conn: sa.Connection, table: sa.Table, columns: Columns) -> None:
    """One prepared INSERT through the driver, values converted by each column type's bind processor.

    SQLAlchemy's generic path builds parameters row by row in Python; this converts them column by column (a
    column without a processor is passed as it is) and zips the rows once, in C.
    """
    names = list(columns)
    converted = []
    for name in names:
        kind, values = table.c[name].type, columns[name]
        processor = _processor(kind, conn.dialect)
        if processor is None:
            converted.append(values)
        elif isinstance(getattr(kind, "impl", kind), sa.DateTime):
            converted.append(_each_once(processor, values))
        else:
            converted.append(list(map(processor, values)))
    marks = ", ".join("?" for _ in names)
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    conn.exec_driver_sql(statement, list(zip(*converted, strict=True)))


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


COPY_FROM = 20
"""Rows from which PostgreSQL gets COPY: below, one multi-row INSERT. COPY costs two round trips before its
first row, which for the few rows of one submission took an eighth of the service's time (`bench openloop`);
a multi-row INSERT is parsed in Python by the driver, placeholder by placeholder, and for the 50-parcel slices
the writer commits a bulk request in (a few hundred rows of ten columns) that parsing cost more than the
round trips: from 100 rows down to 20, bulk intake on PostgreSQL went from 1,875 to 2,330 acknowledged a
second (assessed: 1,100 to 1,185), single submissions unchanged (p99 36 ms at 200 a second)."""


def _postgres(conn: sa.Connection, table: sa.Table, columns: Columns) -> None:
    """Rows through the driver in the connection's transaction: one multi-row INSERT, or COPY for many."""
    names = list(columns)
    rows = zip(*(columns[n] for n in names), strict=True)
    count = len(columns[names[0]])
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if count < COPY_FROM:
        one = "(" + ", ".join(["%s"] * len(names)) + ")"
        statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES " + ", ".join([one] * count)
        with dbapi.cursor() as cursor:
            cursor.execute(statement, [value for row in rows for value in row])
        return
    with dbapi.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in rows:
            copy.write_row(row)
