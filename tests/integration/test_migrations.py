"""Upgrades of a store in service: indexes built and replaced without stopping its writers (PostgreSQL), and
revisions that undo and redo to the declared schema on both databases."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clearway.store import Store, make_engine
from clearway.store import tables as t
from clearway.store.migrate import alembic_config
from tests.integration.conftest import _fresh_postgres

INDEXES = ("ix_consignments_dossier", "ix_consignments_received", "ix_consignments_transport_document")
"""The indexes on consignments that revisions 0011 to 0015 add or rebuild."""


def _invalid_indexes(conn: sa.Connection) -> list[str]:
    query = "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid"
    return list(conn.exec_driver_sql(query).scalars())


def test_revisions_that_change_indexes_undo_and_redo_to_the_declared_schema(store: Store) -> None:
    config = alembic_config(store.engine)
    command.downgrade(config, "0010")
    with store.engine.connect() as conn:
        assert not {i["name"] for i in sa.inspect(conn).get_indexes("consignments")} & set(INDEXES[:1])
    command.upgrade(config, "head")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
        names = [i["name"] for i in sa.inspect(conn).get_indexes("consignments")]
        assert all(names.count(name) == 1 for name in INDEXES), names
        if conn.dialect.name == "postgresql":
            assert _invalid_indexes(conn) == []


@pytest.mark.postgres
def test_an_index_built_by_an_upgrade_leaves_writers_writing(postgres_url: str) -> None:
    """A writer mid-transaction when the upgrade starts, and one that comes while the index is built: the second
    writes at once (a plain CREATE INDEX would queue it behind its lock until the build ends), and the index is
    built once both are done."""
    engine = make_engine(_fresh_postgres(postgres_url))
    command.upgrade(alembic_config(engine), "0013")
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            command.upgrade(alembic_config(engine), "0014")
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    with engine.connect() as before, engine.connect() as during, engine.connect() as watch:
        before.exec_driver_sql("LOCK TABLE consignments IN ROW EXCLUSIVE MODE")  # as an INSERT holds it
        thread = threading.Thread(target=upgrade)
        thread.start()
        waiting = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE :building AND wait_event_type = 'Lock'"
        )
        deadline = time.monotonic() + 30
        while not watch.execute(waiting, {"building": "CREATE INDEX%"}).scalar_one() and time.monotonic() < deadline:
            watch.rollback()
            time.sleep(0.05)
        assert watch.execute(waiting, {"building": "CREATE INDEX%"}).scalar_one() == 1, "the upgrade never reached it"
        during.exec_driver_sql("SET lock_timeout = '3s'")
        during.exec_driver_sql("LOCK TABLE consignments IN ROW EXCLUSIVE MODE")  # raises if it has to wait
        for conn in (during, before, watch):  # a concurrent build waits for every transaction older than it
            conn.rollback()
        thread.join(timeout=60)
    assert errors == [] and not thread.is_alive()
    with engine.connect() as conn:
        assert "ix_consignments_received" in {i["name"] for i in sa.inspect(conn).get_indexes("consignments")}
        assert _invalid_indexes(conn) == []
    engine.dispose()


@pytest.mark.postgres
def test_an_upgrade_run_again_after_a_failed_build_builds_the_index_anew(postgres_url: str) -> None:
    """A concurrent build that fails (a cancelled upgrade, a lost connection) leaves an invalid index that
    PostgreSQL keeps updating and never reads: the next run drops it and builds a valid one."""
    engine = make_engine(_fresh_postgres(postgres_url))
    command.upgrade(alembic_config(engine), "0013")
    with engine.begin() as conn:  # what a failed build leaves
        conn.exec_driver_sql("CREATE INDEX ix_consignments_received ON consignments (received_at)")
        conn.exec_driver_sql(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'ix_consignments_received'::regclass"
        )
    with engine.connect() as conn:
        assert _invalid_indexes(conn) == ["ix_consignments_received"]
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as conn:
        assert _invalid_indexes(conn) == []
        assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
    engine.dispose()


@pytest.mark.postgres
def test_a_rebuild_run_again_after_it_stopped_midway_ends_with_one_index_of_the_new_shape(postgres_url: str) -> None:
    """A rebuild that stopped after building its new index (before the old one was dropped and the new one
    renamed) takes up from there: the new index serves under the old name, and nothing is left beside it."""
    engine = make_engine(_fresh_postgres(postgres_url))
    command.upgrade(alembic_config(engine), "0014")
    with engine.begin() as conn:  # what the stopped run of 0015 left
        conn.exec_driver_sql("CREATE INDEX ix_consignments_transport_document_rebuilt "
                             "ON consignments (transport_document_id, submitter)")  # fmt: skip
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as conn:
        names = sorted(i["name"] for i in sa.inspect(conn).get_indexes("consignments"))
        assert "ix_consignments_transport_document_rebuilt" not in names
        assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
        assert _invalid_indexes(conn) == []
    engine.dispose()
