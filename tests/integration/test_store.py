"""The store on SQLite and on a real PostgreSQL server: nothing sent is lost, registration is idempotent."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clearway.bootstrap import build_pipeline, load_profiles
from clearway.intake import read_bytes
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.store import Store
from clearway.store import tables as t
from tests.conftest import NOON, example, tracked


def ndjson(*docs: object) -> bytes:
    return b"\n".join(d if isinstance(d, bytes) else msgspec.json.encode(d) for d in docs)


def test_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []


def test_every_submission_is_kept_accepted_or_rejected(store: Store) -> None:
    broken = b'{"reference": "B", "channel": '
    bad = example(reference="C", currency="EUD")
    batch = list(read_bytes(ndjson(example(reference="A"), broken, bad), "ndjson"))
    registrations = store.record_batch("platform-1", NOON, batch)
    assert [r.outcome for r in registrations] == ["registered", "rejected", "rejected"]
    kept = {s["reference"]: s for s in store.submissions("platform-1")}
    assert kept["B"]["raw"] == broken and not kept["B"]["accepted"]
    assert json.loads(kept["C"]["errors"]) == [
        {"path": "/currency", "code": "currency.unknown", "message": "EUD is not an ISO 4217 currency code"}
    ]
    assert kept["A"]["outcome"] == "registered" and kept["A"]["consignment_id"] == registrations[0].consignment_id
    assert json.loads(kept["A"]["warnings"])  # data-quality warnings are kept too
    assert store.count(t.consignments) == 1


def test_same_content_again_is_a_no_op(store: Store) -> None:
    [first] = store.record_batch("p", NOON, list(read_bytes(ndjson(example()), "ndjson")))
    [again] = store.record_batch("p", NOON + dt.timedelta(hours=1), list(read_bytes(ndjson(example()), "ndjson")))
    assert again.outcome == "unchanged"
    assert again.consignment_id == first.consignment_id and again.version == 1
    assert store.count(t.consignments) == 1 and store.count(t.consignment_versions) == 1
    assert store.count(t.submissions) == 2  # the resubmission itself is still on record


def test_other_content_is_an_amendment_that_keeps_history(store: Store) -> None:
    [first] = store.record_batch("p", NOON, list(read_bytes(ndjson(example()), "ndjson")))
    amended = example(shipping_cost="4.99")
    [second] = store.record_batch("p", NOON + dt.timedelta(hours=1), list(read_bytes(ndjson(amended), "ndjson")))
    assert second.outcome == "amended" and second.version == 2
    assert second.consignment_id == first.consignment_id
    assert first.consignment_id is not None
    meta, current = store.consignment(first.consignment_id)
    assert str(current.shipping_cost) == "4.99" and meta["version"] == 2
    versions = store.versions(first.consignment_id)
    assert [v["version"] for v in versions] == [1, 2]
    assert json.loads(versions[0]["body"])["shipping_cost"] == "2.99"
    assert [e["type"] for e in store.events(first.consignment_id)] == ["registered", "amended"]


def test_the_same_reference_from_another_submitter_is_another_consignment(store: Store) -> None:
    [a] = store.record_batch("p1", NOON, list(read_bytes(ndjson(example()), "ndjson")))
    [b] = store.record_batch("p2", NOON, list(read_bytes(ndjson(example()), "ndjson")))
    assert a.outcome == b.outcome == "registered" and a.consignment_id != b.consignment_id


def test_duplicates_within_one_batch(store: Store) -> None:
    docs = ndjson(example(), example(), example(shipping_cost="1.00"))
    outcomes = [r.outcome for r in store.record_batch("p", NOON, list(read_bytes(docs, "ndjson")))]
    assert outcomes == ["registered", "unchanged", "amended"]
    assert store.count(t.consignment_versions) == 2


def test_decisions_are_stored_red_held_and_green_released_at_once(store: Store) -> None:
    doc = example()
    doc["items"][0]["description"] = "Replica watch AAA quality"  # counterfeit markers: the red lane
    batch = list(read_bytes(ndjson(doc, example(reference="B")), "ndjson"))
    registrations = store.record_batch("p", NOON, batch)
    rows = [
        BatchRow(r.consignment_id, "p", NOON, s.outcome.consignment)
        for r, s in zip(registrations, batch, strict=True)
        if r.consignment_id and s.outcome.consignment
    ]
    decisions = build_pipeline(load_profiles(None))(to_batch(rows), Context(as_of=NOON))
    store.record_decisions(decisions, {r.consignment_id: 1 for r in registrations if r.consignment_id}, NOON)
    assert store.lanes() == {"red": 1, "green": 1}
    first = registrations[0].consignment_id
    assert first is not None
    meta, _ = store.consignment(first)
    assert (meta["status"], meta["lane"], meta["released_at"]) == ("held", "red", None)
    assert [e["type"] for e in store.events(first)] == ["registered", "assessed", "held"]
    second = store.consignment(registrations[1].consignment_id or "")[0]
    assert (second["status"], second["lane"], second["released_at"]) == ("released", "green", NOON)
    with store.engine.connect() as conn:
        reasons = conn.execute(
            sa.select(t.decisions.c.reasons).where(t.decisions.c.consignment_id == first)
        ).scalar_one()
    assert json.loads(reasons)[0]["code"] == "CF-MARKERS"


def test_bulk_batches(store: Store) -> None:
    docs = [example(reference=f"R{i:05d}") for i in range(1200)]
    registrations = store.record_batch("bulk", NOON, list(read_bytes(ndjson(*docs), "ndjson")))
    assert {r.outcome for r in registrations} == {"registered"}
    assert store.count(t.consignments) == 1200
    again = store.record_batch("bulk", NOON, list(read_bytes(ndjson(*docs), "ndjson")))
    assert {r.outcome for r in again} == {"unchanged"}


def test_writers_in_parallel_keep_the_ledger_dense(database_url: str) -> None:
    """Writers that do not share a process's write turn (another replica, the assessor's process) append to
    the ledger at the same time: every event gets its leaf, and the leaves' indexes run 0..n-1 with no gap
    and no repeat (on PostgreSQL they take turns under an advisory lock, which autovacuum does not hold up)."""
    import threading

    from clearway.store import make_engine, upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        store = Store(engine)  # a write turn of its own, as another process has
        try:
            for batch in range(4):
                docs = [example(reference=f"P-{writer}-{batch}-{n}") for n in range(8)]
                store.record_batch(f"tenant-{writer}", NOON, list(read_bytes(ndjson(*docs), "ndjson")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        indexes = sorted(conn.execute(sa.select(t.ledger_leaves.c.leaf_index)).scalars())
        events = conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar_one()
    engine.dispose()
    assert indexes == list(range(len(indexes))) and len(indexes) == events == 4 * 4 * 8


def sqlite_plan(conn: sa.Connection, query: sa.Select[Any], params: dict[str, Any]) -> str:
    """SQLite's plan of `query` as it runs with `params` (its IN lists expanded as at execution)."""
    state = query.compile(conn).construct_expanded_state(params)
    plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {state.statement}", state.positional_parameters)
    return " ".join(str(row[-1]) for row in plan)


def test_a_batchs_dossier_leads_are_looked_up_by_transport_document_not_by_every_filing_alone(store: Store) -> None:
    """Nearly every filing has no dossier: the dossier index holds only those that joined one, so looking up
    the leads of a batch's transport documents searches those documents, at any size of the store."""
    from clearway.store.dossiers import LEADS

    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = sqlite_plan(conn, LEADS, {"documents": ["D1", "D2"]})
            assert "ix_consignments_transport_document" in plan, plan
            assert "ix_consignments_dossier" not in plan, plan
            definition = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_consignments_dossier'").scalar_one()  # fmt: skip
        else:
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_consignments_dossier'").scalar_one()  # fmt: skip
    assert "dossier_id IS NOT NULL" in definition.replace("(", "").replace(")", "")


def test_a_filers_own_filings_of_a_batchs_documents_are_searched_by_document_not_among_all_it_filed(
    store: Store,
) -> None:
    """Each batch stored first reads the filer's own filings of its transport documents (a parcel held under a
    control may not be filed afresh): through the document's index, the filer second, so that a platform's
    batch costs the same on its first day and after a million parcels, whatever the planner guesses."""
    from clearway.store.dossiers import FILINGS_OF

    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            for documents in (1, 10, 500):
                wanted = [f"D{n}" for n in range(documents)]
                # the held-parcel check before storing, and the filings withdrawn before, read at assessment
                for filers in (["platform"], ["platform", "post"]):
                    plan = sqlite_plan(conn, FILINGS_OF, {"filers": filers, "documents": wanted})
                    assert plan == "SEARCH consignments USING INDEX ix_consignments_transport_document " \
                                   "(transport_document_id=? AND submitter=?)", plan  # fmt: skip
            return
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_consignments_transport_document'"
        definition = conn.exec_driver_sql(query).scalar_one()
    assert "(transport_document_id, submitter)" in definition, definition


def test_a_batchs_parties_record_is_read_from_their_offences_not_from_every_parcel_they_sent(store: Store) -> None:
    """Every batch, a single filing too, reads its parties' record of seizures and infringements: among the
    parcels marked when they were seized or found infringing, each checked against its own inspections, so that
    the cost follows the offences and not every parcel a seller ever sent or every inspection ever recorded."""
    from clearway.store.offences import OFFENCES

    with store.engine.connect() as conn:
        if conn.dialect.name != "sqlite":  # PostgreSQL plans by statistics: the indexes it needs are there
            indexes = " ".join(row[0] for row in conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE tablename IN ('inspections', 'party_offences')"))  # fmt: skip
            assert "inspections USING btree (consignment_id)" in indexes, indexes
            assert "party_offences USING btree (key)" in indexes, indexes
            return
        plan = sqlite_plan(conn, OFFENCES, {"keys": ["k1", "k2"]})
    assert plan.startswith("SEARCH party_offences USING INDEX ix_party_offences_key"), plan
    assert "SEARCH inspections USING INDEX ix_inspections_consignment (consignment_id=?)" in plan, plan
    assert "party_keys" not in plan and "SCAN" not in plan, plan


def test_postgresql_sessions_run_statements_without_compiling_them(store: Store) -> None:
    """PostgreSQL compiles a statement whose estimated cost is high, as estimates without statistics are on a
    table just loaded: a single filing's 0.4 ms lookup of its parties' record took 88 ms. Every session of the
    store runs without JIT."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            pytest.skip("SQLite compiles nothing")
        assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"


def test_reads_by_receipt_time_search_their_window_not_every_consignment_stored(store: Store) -> None:
    """The unit-value reference and the day's count of stops are read on the write path: by receipt time,
    through its index, so that their cost follows the window and not the size of the store."""
    from clearway.store.risk_history import accepted_bodies, decided_and_stopped

    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", keep)
    try:
        accepted_bodies(store.engine, NOON - dt.timedelta(days=90), NOON, 100)
        decided_and_stopped(store.engine, NOON - dt.timedelta(hours=12), NOON)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", keep)
    assert len(statements) == 2
    with store.engine.connect() as conn:
        if conn.dialect.name != "sqlite":  # PostgreSQL plans by statistics: an empty table is read whole
            indexes = conn.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'consignments'")
            assert any("(received_at)" in row[0] for row in indexes)
            return
        for statement, parameters in statements:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "ix_consignments_received" in plan and "SCAN consignments" not in plan, (statement, plan)


def test_the_kpis_read_platform_category_currency_and_value_of_each_body_and_an_odd_body_spoils_only_itself() -> None:
    from decimal import Decimal

    from clearway.store.period import _body_facts

    good = {"category": "gift", "currency": "EUR", "order": {"platform": "P1"}, "parties": {"x": 1},
            "items": [{"quantity": 2, "unit_price": "1.50", "hs_code": "610910"},
                      {"quantity": 1, "unit_price": "0.25"}]}  # fmt: skip
    empty = {"category": "sale_of_goods", "currency": "USD", "items": []}
    odd = ['{"items": [{"quantity": "x"}]}', '{"items": []}, {"items": []}']  # bad field; two values in one
    facts = _body_facts(["a", "b", "c", "d"], [json.dumps(good), json.dumps(empty), *odd])
    rows = {r["id"]: r for r in facts.iter_rows(named=True)}
    assert rows["a"] == {"id": "a", "platform": "P1", "category": "gift", "currency": "EUR", "value": Decimal("3.25")}
    assert rows["b"]["platform"] is None and rows["b"]["value"] == Decimal(0)
    assert rows["c"]["category"] is None and rows["c"]["value"] == Decimal(0)  # unreadable: counted as nothing
    assert rows["d"]["category"] is None and facts.height == 4
    alone = _body_facts(["x", "y"], [json.dumps(empty), odd[1]])  # the only odd body: decodes as two values
    assert alone["id"].to_list() == ["x", "y"] and alone["category"].to_list() == ["sale_of_goods", None]


def test_the_kpis_read_what_each_assessment_owes_and_an_odd_one_spoils_only_itself() -> None:
    from decimal import Decimal

    from clearway.store.period import _assessments

    full = {"jurisdiction": "EU", "currency": "EUR", "collection_model": "ioss", "threshold_value": "150",
            "threshold_currency": "EUR", "totals": {"duty": "0.00", "vat": "4.20", "other": "3", "total": "7.20"},
            "rules": ["EU-2026-07", "EU-2021-07"], "lines": [{"item": 0, "duty": "0.00"}],
            "vendor_liability": {"scheme": "ioss", "id": "IM2500000001", "tax": "4.20"}}  # fmt: skip
    bare = {"jurisdiction": "US", "currency": "USD", "collection_model": "buyer_at_border",
            "totals": {"duty": "12.50", "vat": "0", "other": "0"}, "rules": []}  # fmt: skip
    odd = '{"totals": {"vat": 4}}'  # an amount as a number: not what an assessment stores
    latest = {"a": json.dumps(full), "b": json.dumps(bare), "c": odd, "d": None}
    rows = {r["consignment_id"]: r for r in _assessments(latest).iter_rows(named=True)}
    assert set(rows) == {"a", "b", "c"}  # d: not assessed
    assert (rows["a"]["vat"], rows["a"]["other"], rows["a"]["vendor_tax"], rows["a"]["rule"]) == (
        Decimal("4.20"), Decimal(3), Decimal("4.20"), "EU-2026-07")  # fmt: skip
    assert rows["a"]["threshold_value"] == Decimal(150) and rows["a"]["collection_model"] == "ioss"
    assert rows["b"]["duty"] == Decimal("12.50") and rows["b"]["vendor_tax"] == Decimal(0)  # none: nothing owed
    assert rows["b"]["rule"] is None and rows["b"]["threshold_value"] is None
    assert rows["c"]["jurisdiction"] is None and rows["c"]["vat"] is None  # unreadable: counted as nothing


def test_a_time_given_with_an_offset_is_kept_as_the_same_instant(store: Store) -> None:
    """SQLite keeps no offset: an expected arrival at 10:34 +02:00 must be kept as 08:34 UTC, not as 10:34."""
    from clearway.store.bulk import as_utc

    doc = example(reference="TZ1")
    doc["arrival"] = {**doc.get("arrival", {}), "expected_at": "2026-11-17T10:34:16+02:00"}
    store.record_batch("platform-1", NOON, list(read_bytes(ndjson(doc), "ndjson")))
    with store.engine.connect() as conn:
        kept = conn.execute(sa.select(t.consignments.c.expected_arrival, t.consignments.c.received_at)).one()
    assert as_utc(kept[0]) == dt.datetime(2026, 11, 17, 8, 34, 16, tzinfo=dt.UTC)
    assert as_utc(kept[1]) == NOON


def test_a_bulk_insert_writes_each_instant_as_the_same_instant_in_utc_however_many_rows_share_it() -> None:
    """The bulk insert formats each distinct instant once for the rows that share it: equal instants given
    with other offsets, and a missing one, still come back as given."""
    from clearway.store.bulk import as_utc, insert_rows

    table = sa.Table("instants", sa.MetaData(), sa.Column("n", sa.Integer), sa.Column("at", t.UtcDateTime()))
    engine = sa.create_engine("sqlite://")
    table.metadata.create_all(engine)
    noon = dt.datetime(2026, 11, 17, 12, tzinfo=dt.UTC)
    given = [noon, noon.astimezone(dt.timezone(dt.timedelta(hours=2))), None, noon + dt.timedelta(microseconds=1)]
    with engine.begin() as conn:
        insert_rows(conn, table, [{"n": i, "at": at} for i, at in enumerate(given * 3)])
        kept = conn.execute(sa.select(table.c.at).order_by(table.c.n)).scalars().all()
    assert [None if at is None else as_utc(at) for at in kept] == [noon, noon, None, given[3]] * 3


def test_a_tenant_filing_one_tracking_number_again_and_again_adds_only_its_latest_to_anothers_history(
    store: Store,
) -> None:
    """Any tenant may file any tracking number. One that files it thousands of times must not make every other
    tenant's filing of it read all of them: a batch's history holds each filer's latest few filings of the
    parcel, and every filer's (the carrier's too)."""
    from clearway.store.risk_history import FILINGS_PER_FILER, filings

    parcel = tracked("FLOOD-1")
    for n in range(FILINGS_PER_FILER + 3):
        doc = example(reference=f"A-{n}") | {"transport_document": parcel}
        store.record_batch("tenant-a", NOON - dt.timedelta(minutes=60 - n), list(read_bytes(ndjson(doc), "ndjson")))
    carried = example(reference="C-1") | {"transport_document": parcel}
    store.record_batch("carrier-c", NOON - dt.timedelta(hours=2), list(read_bytes(ndjson(carried), "ndjson")))
    mine = list(read_bytes(ndjson(example(reference="B-1") | {"transport_document": parcel}), "ndjson"))
    row = BatchRow("b" * 32, "tenant-b", NOON, mine[0].outcome.consignment)
    with store.engine.connect() as conn:
        found = filings(conn, [row], {row.key})
        references = dict(conn.execute(sa.select(t.consignments.c.id, t.consignments.c.reference)).all())
    kept = sorted(references[cid] for cid in found["other"])
    assert kept == sorted(["C-1", *(f"A-{n}" for n in range(3, FILINGS_PER_FILER + 3))]), kept
