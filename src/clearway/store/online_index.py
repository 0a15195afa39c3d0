"""Index changes in a migration that leave the service writing while they run.

On PostgreSQL a plain `CREATE INDEX` holds a lock that stops every insert and update of the table until the
index is built, and `DROP INDEX` one that stops reads too while it waits for them: on a store of a country's
traffic (tens of millions of consignments) an upgrade would stop intake for as long as the build takes. These
helpers build and drop indexes `CONCURRENTLY` instead, which PostgreSQL runs outside a transaction: each in
an autocommit block of its own (the migrations run a transaction per revision, `migrations/env.py`). A
concurrent build that fails leaves an invalid index behind; a rerun drops it and builds again, and skips one
already built. SQLite takes its write lock for any schema change whatever the statement: it runs them as
before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_VALID = sa.text(
    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname = :name AND pg_catalog.pg_table_is_visible(c.oid)"
)


def _online() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_index(name: str, table: str, columns: list[str], where: sa.TextClause | None = None) -> None:
    """The index `name` on `table`'s `columns` (partial where `where` is given)."""
    if not _online():
        op.create_index(name, table, columns, sqlite_where=where)
        return
    with op.get_context().autocommit_block():
        valid = op.get_bind().execute(_VALID, {"name": name}).scalar_one_or_none()
        if valid is True:
            return  # built by an earlier run of this revision that failed after it
        if valid is False:
            op.execute(sa.text(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'))
        op.create_index(name, table, columns, postgresql_where=where, postgresql_concurrently=True)


def drop_index(name: str, table: str) -> None:
    """Drop the index `name` of `table`."""
    if not _online():
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.execute(sa.text(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'))


def replace_index(name: str, table: str, columns: list[str], where: sa.TextClause | None = None) -> None:
    """The index `name` of `table` rebuilt on `columns` (partial where `where` is given): on PostgreSQL the new
    one is built beside the old, which serves lookups until it is dropped, and takes its name."""
    if not _online():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, sqlite_where=where)
        return
    building = f"{name[: 63 - len('_rebuilt')]}_rebuilt"  # PostgreSQL names are at most 63 bytes
    create_index(building, table, columns, where)
    drop_index(name, table)
    with op.get_context().autocommit_block():
        op.execute(sa.text(f'ALTER INDEX "{building}" RENAME TO "{name}"'))
