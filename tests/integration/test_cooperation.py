"""Two clearway installations against each other, as two administrations would run them: office A issues
a risk alert from a seizure, office B pulls it from A's running server, the alert selects B's parcels, B's
finding goes back to A as feedback; operator lists and export records travel both ways, and every exchange
is in both audit logs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from clearway.auth.clients import add_client
from clearway.cooperation.bundle import BundleRefused
from clearway.errors import InvalidInput, NotFound
from clearway.kpi import Period
from clearway.report.kpi_report import build_page
from clearway.services.cooperation import (
    Actor,
    AlertRequest,
    bundle_for,
    issue_alert,
    load_bundle,
    load_operators,
    our_verifier,
    pull,
    register_partner,
)
from clearway.services.exports import issue_exports, parse_csv, store_exports
from clearway.services.measurement import measure
from clearway.services.retention import erase_expired
from clearway.store import tables as t
from clearway.store.cooperation import alerts as held_alerts
from tests.conftest import example
from tests.integration.server import serving
from tests.integration.test_api import Service, registration, service_for

AGREEMENT = "Agreement on customs cooperation and mutual administrative assistance, art. 12"
OPERATOR = Actor("operator-lee", "operator")
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def office_a(tmp_path: Path) -> Iterator[Service]:
    """The exporting side: its parcels are dispatched from CN, its territory."""
    home = tmp_path / "a"
    yield from service_for(f"sqlite:///{home / 'clearway.db'}", home, ledger_origin="customs-a.test/ledger",
                           territory=("CN",))  # fmt: skip


@pytest.fixture
def office_b(tmp_path: Path) -> Iterator[Service]:
    home = tmp_path / "b"
    yield from service_for(f"sqlite:///{home / 'clearway.db'}", home, ledger_origin="customs-b.test/ledger")


def parcel(reference: str, seller: str, description: str, hs: str, price: str, **changes: Any) -> dict[str, Any]:
    doc = example(reference=reference, fiscal=None, **changes)
    doc["seller"] = {"name": seller, "address": {"city": "Shenzhen", "country": "CN"}}
    doc["consignee"] = doc["consignee"] | {"name": f"Buyer {reference}"}
    doc["items"] = [{"description": description, "hs_code": hs, "quantity": 1, "unit_price": price,
                     "origin_country": "CN"}]  # fmt: skip
    return doc


def reasons(service: Service, cid: str) -> dict[str, str]:
    detail = service.client.get(f"/v1/officer/consignments/{cid}", headers=service.officer).json()
    return {r["code"]: r["message"] for r in detail["decision"]["reasons"]}


def inspect(service: Service, cid: str, kind: str) -> None:
    """An officer stops the parcel (if it was not) and finds an infringement of `kind`."""
    lane = service.client.get(f"/v1/officer/consignments/{cid}", headers=service.officer).json()["decision"]["lane"]
    if lane not in ("red", "yellow"):
        moved = service.client.post(f"/v1/officer/consignments/{cid}/reroute", headers=service.officer,
                                    json={"lane": "red", "note": "tip-off"})  # fmt: skip
        assert moved.status_code == 200, moved.text
    found = service.client.post(f"/v1/officer/consignments/{cid}/inspections", headers=service.officer,
                                json={"method": "physical", "outcome": "infringement",
                                      "findings": [{"kind": kind}]})  # fmt: skip
    assert found.status_code == 201, found.text


def partners(a: Service, b: Service) -> str:
    """Each registers the other; A makes the shared key for party hashes and hands it over."""
    made = register_partner(a.app, "office-b", our_verifier(b.app), AGREEMENT, OPERATOR, NOW)
    register_partner(b.app, "office-a", our_verifier(a.app), AGREEMENT, OPERATOR, NOW, shared_key=made["shared_key"],
                     country="CN")  # fmt: skip
    return str(made["shared_key"])


def audit(service: Service) -> list[tuple[str, dict[str, Any]]]:
    import json

    a = t.audit_log.c
    with service.app.store.engine.connect() as conn:
        rows = conn.execute(sa.select(a.action, a.after).order_by(a.seq)).all()
    return [(action, json.loads(after)) for action, after in rows]


def test_an_alert_from_a_seizure_selects_the_partners_parcels_and_its_finding_comes_back(
    office_a: Service, office_b: Service, tmp_path: Path
) -> None:
    a, b = office_a, office_b
    partners(a, b)
    seized = registration(a.submit([parcel("A1", "Lucky Star Trading Co., Ltd.", "Sport shoes", "640411",
                                           "12.00")], key="a1"))  # fmt: skip
    inspect(a, seized, "counterfeit")
    issued = issue_alert(a.app, AlertRequest(partners=["office-b"], consignment_id=seized, parties=["seller"],
                                             keywords=["shoes"], days=30), OPERATOR, NOW)  # fmt: skip
    assert issued[0]["kind"] == "counterfeit"  # taken from the inspection's finding

    # B pulls from A's running server with the credentials A gave it
    a.app.store.engine.dispose()
    credentials = add_client(a.app.store.engine, "office-b", "partner")
    with serving(Path(a.app.settings.database_url.removeprefix("sqlite:///")).parent) as server:
        register_partner(b.app, "office-a", our_verifier(a.app), AGREEMENT, OPERATOR, NOW,
                         shared_key=_shared(a, "office-b"), url=server.url, client_id=credentials["client_id"],
                         client_secret=credentials["client_secret"])  # fmt: skip
        loaded = pull(b.app, "office-a", OPERATOR, NOW)
    assert loaded[0] == {"partner": "office-a", "kind": "alerts", "items": 1, "added": 1, "updated": 0, "expired": 0}

    # the same seller (its name written another way) and other goods: the party's hash matches
    by_seller = registration(b.submit([parcel("B1", "LUCKY STAR TRADING CO LTD", "Handbag", "420221", "30.00")],
                                      key="b1"))  # fmt: skip
    code = f"ALERT:office-a:{issued[0]['alert']}"
    message = reasons(b, by_seller)[code]
    assert message.startswith(f"risk alert {issued[0]['alert']} from office-a (issued {NOW:%Y-%m-%d}")
    assert "counterfeit; matched the seller it names" in message
    # another seller, the alert's goods (HS 640411, "shoes", from CN): the goods pattern matches
    by_goods = registration(b.submit([parcel("B2", "Other Shoes Ltd", "Running shoes", "640411", "15.00")], key="b2"))
    assert "matched HS 640411; goods shoes; dispatch country CN" in reasons(b, by_goods)[code]
    innocent = registration(b.submit([parcel("B3", "Other Shoes Ltd", "Wool socks", "611595", "15.00")], key="b3"))
    assert code not in reasons(b, innocent)
    submitter_view = b.client.get(f"/v1/consignments/{by_seller}", headers=b.alpha).text
    assert "ALERT" not in submitter_view and "office-a" not in submitter_view  # the filer never learns why

    inspect(b, by_seller, "counterfeit")

    # the feedback loop: B tells A, in counts only
    feedback = bundle_for(b.app, "office-a", "feedback", OPERATOR, NOW)
    assert "LUCKY" not in feedback.upper() and "Buyer" not in feedback and by_seller not in feedback
    assert '"selected":2,"inspected":1,"found":1,"kinds":["counterfeit"]' in feedback
    assert load_bundle(a.app, feedback.encode(), "office-b", OPERATOR, NOW)["updated"] == 1
    with a.app.store.engine.connect() as conn:
        [(_, _, book)] = held_alerts(conn, "out")
    assert (book["selected"], book["inspected"], book["found"]) == (2, 1, 1)

    period = Period(NOW.date(), NOW.date())
    assert measure(a.app, period)["cooperation"].rows() == [("issued", "office-b", 1, 1, 0)]
    assert measure(b.app, period)["cooperation"].rows() == [("received", "office-a", 1, 1, 0)]
    figures = measure(b.app, period)
    findings = figures["partner_findings"].to_dicts()
    assert [(f["source"], f["consignments"], str(f["declared_value"])) for f in findings] == [
        ("partner alert", 1, "30.0000")
    ]
    html = build_page(period, figures).render()
    assert "Cooperation between administrations" in html and "Received alerts: 1, of which 1 led to a finding" in html

    actions_a = [action for action, _ in audit(a)]
    assert {"partner_registered", "alert_issued", "alerts_sent", "feedback_received"} <= set(actions_a)
    received = [after for action, after in audit(b) if action == "alerts_received"]
    assert received[0]["agreement"] == AGREEMENT and len(received[0]["sha256"]) == 64


def _shared(service: Service, partner: str) -> str:
    with service.app.store.engine.connect() as conn:
        return str(conn.execute(sa.select(t.partners.c.shared_key).where(t.partners.c.name == partner)).scalar())


def test_tampered_expired_and_foreign_bundles_are_refused_and_audited(office_a: Service, office_b: Service) -> None:
    a, b = office_a, office_b
    partners(a, b)
    issue_alert(a.app, AlertRequest(partners=["office-b"], kind="undervaluation", hs_prefixes=["8517"],
                                    value_at_most="5.00", currency="EUR"), OPERATOR, NOW)  # fmt: skip
    bundle = bundle_for(a.app, "office-b", "alerts", OPERATOR, NOW)
    tampered = bundle.replace('"declared_at_most":"5.00"', '"declared_at_most":"500.00"')
    assert tampered != bundle
    with pytest.raises(BundleRefused, match="not signed by customs-a.test/ledger"):
        load_bundle(b.app, tampered.encode(), "office-a", OPERATOR, NOW)
    with pytest.raises(BundleRefused, match="expired: the bundle was valid until"):
        load_bundle(b.app, bundle.encode(), "office-a", OPERATOR, NOW + dt.timedelta(days=8))
    register_partner(b.app, "office-c", our_verifier(b.app), AGREEMENT, OPERATOR, NOW)  # another key
    with pytest.raises(BundleRefused, match="not signed by"):
        load_bundle(b.app, bundle.encode(), "office-c", OPERATOR, NOW)
    with pytest.raises(BundleRefused, match="UTF-8"):
        load_bundle(b.app, b"\xff\xfe" + bundle.encode(), "office-a", OPERATOR, NOW)
    with pytest.raises(NotFound, match="no partner 'office-z'"):
        load_bundle(b.app, bundle.encode(), "office-z", OPERATOR, NOW)
    refused = [after for action, after in audit(b) if action == "bundle_refused"]
    assert len(refused) == 4 and all(r["sha256"] and r["why"] for r in refused)
    with b.app.store.engine.connect() as conn:
        assert held_alerts(conn, "in") == []  # nothing of a refused bundle is kept
    assert load_bundle(b.app, bundle.encode(), "office-a", OPERATOR, NOW)["added"] == 1
    assert load_bundle(b.app, bundle.encode(), "office-a", OPERATOR, NOW)["added"] == 0  # a replay adds nothing


def test_names_travel_in_clear_only_with_a_legal_basis(office_a: Service, office_b: Service) -> None:
    a, b = office_a, office_b
    partners(a, b)
    cid = registration(a.submit([parcel("A1", "Lucky Star Trading", "Sport shoes", "640411", "12.00")], key="a"))
    request = AlertRequest(partners=["office-b"], kind="counterfeit", consignment_id=cid, parties=["seller"])
    issue_alert(a.app, request, OPERATOR, NOW)
    assert "Lucky Star" not in bundle_for(a.app, "office-b", "alerts", OPERATOR, NOW)
    basis = "Regulation (EC) No 515/97 art. 4"
    issue_alert(a.app, dataclasses.replace(request, names_basis=basis), OPERATOR, NOW)
    text = bundle_for(a.app, "office-b", "alerts", OPERATOR, NOW)
    assert "Lucky Star Trading" in text and basis in text
    report = erase_expired(a.app.store.engine, a.app.secret, days=90, now=NOW + dt.timedelta(days=91))
    assert report.alert_names == 1  # once expired, the names go; the hashes stay
    kept = [alert for _, alert, _ in held_alerts_all(a)]
    assert [(len(x.parties), x.names, x.legal_basis) for x in kept] == [(1, [], None), (1, [], None)]
    with pytest.raises(InvalidInput, match="one of counterfeit"):
        issue_alert(a.app, AlertRequest(partners=["office-b"], hs_prefixes=["64"]), OPERATOR, NOW)
    with pytest.raises(InvalidInput, match="goods .* or parties"):
        issue_alert(a.app, AlertRequest(partners=["office-b"], kind="other"), OPERATOR, NOW)


def held_alerts_all(service: Service) -> list[Any]:
    with service.app.store.engine.connect() as conn:
        return held_alerts(conn, "out")


def test_a_partners_operator_list_grants_mutual_recognition_until_a_suspension_takes_effect(
    office_a: Service, office_b: Service
) -> None:
    a, b = office_a, office_b
    partners(a, b)
    today = NOW.date()
    own = (
        "operator,name,address,programme,issuing_country,status,effective,valid_to\n"
        f"alpha-market,Alpha Market,1 Road Shenzhen,AEOS,CN,authorised,{today - dt.timedelta(days=400)},2030-12-31\n"
        f"alpha-market,Alpha Market,1 Road Shenzhen,AEOS,CN,suspended,{today + dt.timedelta(days=3)},2030-12-31\n"
    )
    assert load_operators(a.app, own.encode(), "own", OPERATOR, NOW)["added"] == 2
    listed = a.client.get("/v1/aeo", headers=_partner_token(a, "office-b")).text
    assert listed.count("alpha-market") == 2 and "suspended" in listed
    result = load_operators(b.app, listed.encode(), "office-a", OPERATOR, NOW)
    assert result["added"] >= 2 and result["suspended_or_revoked"] == 1
    assert load_operators(b.app, listed.encode(), "office-a", OPERATOR, NOW)["added"] == 0
    claims_ours = "operator,name,address,programme,issuing_country,status,effective,valid_to\n" \
        "bazaario,Bazaario,,AEOC,NL,revoked,2026-01-01,2030-01-01\n"  # fmt: skip
    with pytest.raises(InvalidInput, match="issued by NL: a partner's list carries only its own"):
        load_operators(b.app, claims_ours.encode(), "office-a", OPERATOR, NOW)  # it cannot revoke the EU's

    now_trusted = registration(b.submit([parcel("M1", "Seller One", "Cotton shirt", "620520", "20.00")], key="m1"))
    assert reasons(b, now_trusted)["AEO"] == "trusted operator: Alpha Market (AEOS, CN)"  # EU-China recognition
    assert _aeo_reasons(b, now_trusted, NOW + dt.timedelta(days=2)) == ["trusted operator: Alpha Market (AEOS, CN)"]
    assert _aeo_reasons(b, now_trusted, NOW + dt.timedelta(days=4)) == []  # suspended from its date


def _partner_token(service: Service, name: str) -> dict[str, str]:
    from tests.integration.clients import bearer

    return bearer(service.app, name, "partner")


def _aeo_reasons(service: Service, cid: str, at: dt.datetime) -> list[str]:
    """The AEO reasons the pipeline gives the consignment if it were assessed at `at`."""
    from clearway.pipeline import BatchRow, Context, to_batch
    from clearway.services.history import gather

    meta, consignment = service.app.store.consignment(cid)
    rows = [BatchRow(cid, meta["submitter"], meta["received_at"], consignment)]
    decided = service.app.pipeline(to_batch(rows), Context(as_of=at, history=gather(service.app, rows, at)))
    return [r["message"] for r in decided["reasons"][0] if r["source"] == "aeo"]


def test_a_partner_sees_only_what_is_shared_with_it(office_a: Service, office_b: Service) -> None:
    a, b = office_a, office_b
    partners(a, b)
    register_partner(a.app, "office-c", our_verifier(b.app), AGREEMENT, OPERATOR, NOW)
    issue_alert(a.app, AlertRequest(partners=["office-c"], kind="prohibited", hs_prefixes=["9304"]), OPERATOR, NOW)
    as_b = _partner_token(a, "office-b")
    to_b = a.client.get("/v1/alerts", headers=as_b)
    assert to_b.status_code == 200 and "9304" not in to_b.text  # office-c's alert is not office-b's
    assert a.client.get("/v1/alerts", headers=a.alpha).status_code == 403  # a platform is no partner
    assert a.client.get("/v1/alerts", headers=a.officer).status_code == 403
    assert a.client.get("/v1/alerts").status_code == 401
    stranger = a.client.get("/v1/alerts", headers=_partner_token(a, "office-x"))
    assert stranger.status_code == 404  # a partner client with no registered partner gets nothing
    assert a.client.get("/v1/exports?since=2026-01-01&until=2025-01-01", headers=as_b).status_code == 422
    assert a.client.get("/v1/exports?since=x&until=2025-01-01", headers=as_b).status_code == 400
    edge = a.client.get("/v1/exports?since=9999-12-01&until=9999-12-31", headers=as_b)
    assert edge.status_code == 422 and "between 2000-01-01 and 2099-12-31" in edge.text  # no overflow, no 500


def test_export_records_travel_between_the_two_installations(office_a: Service, office_b: Service) -> None:
    a, b = office_a, office_b
    partners(a, b)
    left = parcel("X1", "Seller X", "Bluetooth headphones", "851830", "45.00",
                  transport_document={"type": "s10", "id": "RR900000019CN"})  # fmt: skip
    registration(a.submit([left], key="x"))
    files = a.client.get(f"/v1/exports?since={NOW.date()}&until={NOW.date()}", headers=_partner_token(a, "office-b"))
    assert files.status_code == 200 and "RR900000019CN,CN,EUR,851830,Bluetooth headphones,1,45.00" in files.text
    kept = store_exports(b.app, parse_csv(files.content, "office-a"), partner="office-a", source="csv", at=NOW)
    assert kept == 1
    arrived = dict(left, items=[dict(left["items"][0], unit_price="9.00")])  # declared lower at import
    cid = registration(b.submit([arrived], key="x"))
    assert "45.0 EUR at export from CN (office-a)" in reasons(b, cid)["DET-EXPORT-VALUE"]
    sent = [after for action, after in audit(a) if action == "exports_sent"]
    assert sent and sent[0]["partner"] == "office-b" and sent[0]["consignments"] == 1
    received = [after for action, after in audit(b) if action == "exports_received"]
    assert received[0]["agreement"] == AGREEMENT and received[0]["records"] == 1
    with pytest.raises(InvalidInput, match="territory"):
        issue_exports(b.app, "office-a", (NOW - dt.timedelta(days=1), NOW), (), "csv", OPERATOR, NOW)


def test_export_declarations_in_dms_load_at_the_partner(office_a: Service, office_b: Service) -> None:
    from clearway.interop.dms_schemas import DmsSchemas
    from clearway.services.exports import parse_dms

    folder = Path(__file__).parents[3] / "shared" / "data" / "wco-dms" / "schemas"
    if not folder.is_dir():
        pytest.skip(f"the WCO DMS schemas are not at {folder} (see ../shared/data/wco-dms/SOURCE.md)")
    a, b = office_a, office_b
    partners(a, b)
    two = parcel("X2", "Seller X", "Bluetooth headphones", "851830", "45.00",
                 transport_document={"type": "s10", "id": "RR900000019CN"})  # fmt: skip
    two["items"].append({"description": "USB cable", "hs_code": "854442", "quantity": 3, "unit_price": "2.50",
                         "origin_country": "CN"})  # fmt: skip
    registration(a.submit([two], key="x"))
    files = issue_exports(a.app, "office-b", (NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1)),
                          a.app.settings.territory, "dms", OPERATOR, NOW)  # fmt: skip
    assert list(files) == ["RR900000019CN.xml"] and b"<TypeCode>EXA</TypeCode>" in files["RR900000019CN.xml"]
    record = parse_dms(files["RR900000019CN.xml"], DmsSchemas.load(folder), "office-a")
    assert (record.transport_document_id, record.exporting_country, record.currency) == ("RR900000019CN", "CN", "EUR")
    assert record.value == Decimal("52.50")  # 45 + 3 x 2.50: the same total as the CSV carries
    assert store_exports(b.app, [record], partner="office-a", source="wco-dms", at=NOW) == 1


def test_two_offices_exchange_from_the_command_line(tmp_path: Path) -> None:
    """What operators type: keys swapped, partners registered, an alert, an operator list and export
    records written by one office and loaded by the other, each a file."""
    import json

    from tests.integration.test_cli import clearway

    a, b = tmp_path / "a", tmp_path / "b"
    env_a = {"CLEARWAY_LEDGER_ORIGIN": "customs-a.test/ledger", "CLEARWAY_TERRITORY": "CN"}
    env_b = {"CLEARWAY_LEDGER_ORIGIN": "customs-b.test/ledger"}
    key_a = clearway("partners", "key", home=a, env=env_a).stdout.strip()
    key_b = clearway("partners", "key", home=b, env=env_b).stdout.strip()
    made = json.loads(clearway("partners", "add", "office-b", "--verifier", key_b, "--agreement", AGREEMENT,
                               home=a, env=env_a).stdout)  # fmt: skip
    clearway("partners", "add", "office-a", "--verifier", key_a, "--agreement", AGREEMENT, "--shared-key",
             made["shared_key"], "--country", "CN", home=b, env=env_b)  # fmt: skip
    docs = tmp_path / "day.json"
    # three parcels: the random control sample (a hash of each new consignment id) holds any one parcel once
    # in two hundred runs, and a held parcel has not left; the export counts those that left
    docs.write_text(json.dumps([parcel(f"C{i}", f"Seller {i}", "Sport shoes", "640411", "12.00") for i in range(3)]))
    clearway("ingest", str(docs), "--submitter", "alpha-market", home=a, env=env_a)
    issued = json.loads(clearway("alerts", "issue", "--partner", "office-b", "--kind", "counterfeit", "--hs", "6404",
                                 "--keyword", "shoes", "--days", "10", home=a, env=env_a).stdout)  # fmt: skip
    bundle = tmp_path / "alerts.note"
    clearway("alerts", "export", "--partner", "office-b", "--out", str(bundle), home=a, env=env_a)
    loaded = json.loads(clearway("alerts", "load", str(bundle), "--partner", "office-a", home=b, env=env_b).stdout)
    assert (loaded["kind"], loaded["added"]) == ("alerts", 1)
    listed = clearway("alerts", "list", "--active", home=b, env=env_b).stdout
    assert issued[0]["alert"] in listed and "counterfeit" in listed
    refused = clearway("alerts", "load", str(bundle), "--partner", "office-b", home=a, env=env_a, check=False)
    assert refused.returncode == 2 and "not signed by" in refused.stderr  # its own bundle is no partner's

    operators = tmp_path / "aeo.csv"
    operators.write_text("operator,name,address,programme,issuing_country,status,effective,valid_to\n"
                         "alpha-market,Alpha Market,,AEOS,CN,authorised,2025-01-01,2030-12-31\n")  # fmt: skip
    clearway("aeo", "load", str(operators), home=a, env=env_a)
    sent = tmp_path / "aeo-out.csv"
    clearway("aeo", "export", "--partner", "office-b", "--out", str(sent), home=a, env=env_a)
    received = clearway("aeo", "load", str(sent), "--partner", "office-a", home=b, env=env_b).stdout
    assert json.loads(received)["added"] == 1

    today = dt.datetime.now(dt.UTC).date().isoformat()
    records = tmp_path / "exports.csv"
    written = clearway("exports", "issue", "--partner", "office-b", "--since", today, "--until", today, "--out",
                       str(records), home=a, env=env_a).stdout  # fmt: skip
    engine = sa.create_engine(f"sqlite:///{a / 'clearway.db'}")
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM consignments WHERE status IN ('assessed', 'released')"))
        departed = left.scalar_one()
    engine.dispose()
    assert departed >= 1 and f"{departed} goods lines for office-b" in written
    assert "RR123456785CN,CN,EUR,640411,Sport shoes" in records.read_text()
    assert "1 export records of office-a kept" in clearway("exports", "load", str(records), "--partner", "office-a",
                                                           home=b, env=env_b).stdout  # fmt: skip  # one document
    listed = clearway("partners", "list", home=a, env=env_a | {"COLUMNS": "250"}).stdout
    assert "office-b" in listed and AGREEMENT in listed
