"""The command line, run as a user runs it (a subprocess), on an isolated CLEARWAY_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import polars as pl
import pytest

from tests.conftest import example


def clearway(
    *args: str, home: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")} | {"CLEARWAY_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "clearway", *args], capture_output=True, text=True, env=environment | (env or {}),
        check=False,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


def test_validate_prints_one_line_per_consignment_and_stores_nothing(tmp_path: Path) -> None:
    bad = example(reference="B", currency="EUD")
    lines = [msgspec.json.encode(example(reference="A")), b"{broken", msgspec.json.encode(bad)]
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = clearway("validate", str(path), home=tmp_path / "home", check=False)
    assert result.returncode == 1  # something was rejected
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["reference"], o["accepted"], o["line"]) for o in out] == [
        ("A", True, 1),
        (None, False, 2),
        ("B", False, 3),
    ]
    assert set(out[0]) == {"reference", "accepted", "errors", "warnings", "line"}
    assert out[2]["errors"] == [
        {"path": "/currency", "code": "currency.unknown", "message": "EUD is not an ISO 4217 currency code"}
    ]
    assert out[1]["errors"][0]["code"] == "json.malformed"
    assert not (tmp_path / "home").exists()  # nothing stored, no database created


def test_validate_reads_csv_and_json_and_exits_0_when_all_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps([example(reference="A"), example(reference="B")]))
    result = clearway("validate", str(path), home=tmp_path)
    assert [json.loads(line)["accepted"] for line in result.stdout.splitlines()] == [True, True]


def test_schema_command(tmp_path: Path) -> None:
    schema = json.loads(clearway("schema", home=tmp_path).stdout)
    assert schema["title"] == "Consignment v1"


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "in.xml"
    path.write_text("<x/>")
    result = clearway("validate", str(path), home=tmp_path, check=False)
    assert result.returncode == 2 and "cannot tell the format of in.xml" in result.stderr


def test_simulate_then_ingest_into_the_default_embedded_database(tmp_path: Path) -> None:
    out = tmp_path / "day"
    summary = json.loads(clearway("simulate", "--size", "300", "--seed", "4", "--out", str(out), home=tmp_path).stdout)
    assert summary["consignments"] == 300
    assert (out / "labels.csv").read_text().startswith("submitter,reference,violation,detail")
    assert (out / "watchlist.csv").read_text().startswith("id,name,aliases,country,birth_date,identifiers")
    files = sorted((out / "aed").glob("*.ndjson"))
    assert sum(len(f.read_bytes().splitlines()) for f in files) == 300
    first = files[0]
    result = json.loads(clearway("ingest", str(first), "--submitter", first.stem, home=tmp_path / "home").stdout)
    assert result["submitted"] == len(first.read_bytes().splitlines())
    assert (tmp_path / "home" / "clearway.db").exists()
    again = json.loads(clearway("ingest", str(first), "--submitter", first.stem, home=tmp_path / "home").stdout)
    assert again.get("registered", 0) == 0 and again["unchanged"] == result["registered"]


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = clearway("demo", "--size", "2500", "--out", str(out), home=tmp_path)
    assert "Consignments by channel and lane" in result.stdout
    assert "Rejections by error code" in result.stdout
    assert "consignments/s" in result.stdout
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 4 and "<script" not in html and "http" not in html.split("<svg")[0]
    assert "Hit rates" in html and "Injected violations" in html  # the period's KPIs, then the demo's own
    hits = pl.read_csv(out / "kpi-tables" / "hit_rates.csv")
    inspected = hits.filter(pl.col("group") == "lane")["inspected"].sum()
    assert inspected == 25  # the demo's officers open 1% of the day: 25 of 2,500
    assert (out / "clearway.db").exists() and (out / "labels.csv").exists()


def test_estimate_prints_the_assessment_as_json(tmp_path: Path) -> None:
    path = tmp_path / "parcel.json"
    doc = example(shipping_cost=None, fiscal=None)
    doc["items"] = [
        {
            "description": "Silk blouse",
            "hs_code": "620610",
            "quantity": 1,
            "unit_price": "30.00",
            "origin_country": "CN",
        },
        {
            "description": "Wool blouse",
            "hs_code": "620620",
            "quantity": 2,
            "unit_price": "25.00",
            "origin_country": "CN",
        },
    ]
    path.write_text(json.dumps(doc))
    out = json.loads(clearway("estimate", str(path), "--on", "2026-07-01", "--json", home=tmp_path).stdout)
    assert out["currency"] == "EUR" and out["rules"] == ["EU-2026-07"]
    assert out["totals"] == {"duty": "6.00", "vat": "16.34", "other": "0.00", "total": "22.34"}  # 19% of 80 + 6
    assert out["collection_model"] in ("carrier_or_postal", "buyer_at_border")
    assert len(out["lines"]) == 2
    bad = clearway("estimate", str(path), "--on", "28/11/2026", home=tmp_path, check=False)
    assert bad.returncode == 2 and "is not a date" in bad.stderr


def release_as_an_officer(home: Path, cid: str) -> None:
    from clearway.auth.clients import Principal
    from clearway.bootstrap import bootstrap
    from clearway.services.clearance import Clearance
    from clearway.settings import Settings

    app = bootstrap(Settings.from_env({"CLEARWAY_HOME": str(home)}))
    officer = Principal("officer-1", "officer-1", "officer", None, frozenset({"officer"}))
    status = app.store.consignment(cid)[0]["status"]
    if status == "held":
        Clearance(app).move(officer, cid, "release", "checked")
    elif status == "full_declaration_required":  # above the ceiling: the full declaration releases it
        Clearance(app).declare_fully(officer, cid, "26DE123456789012A1")
    app.store.engine.dispose()


def test_refund_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    doc = example(reference="R-1", fiscal=None)
    doc["items"] = [
        {
            "description": "Silk blouse",
            "hs_code": "620610",
            "quantity": 2,
            "unit_price": "90.00",
            "origin_country": "CN",
        }
    ]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(doc))
    clearway("ingest", str(path), "--submitter", "platform-1", home=home)
    import sqlite3

    with sqlite3.connect(home / "clearway.db") as db:
        cid, status = db.execute("SELECT id, status FROM consignments").fetchone()
    # above the ceiling it waits for a full declaration, unless the random sample drew it (its id is random)
    assert status in ("full_declaration_required", "held")
    today = __import__("datetime").date.today().isoformat()
    early = clearway("refund", cid, "--on", today, home=home, check=False)
    assert early.returncode == 2 and "not released" in early.stderr and status in early.stderr
    release_as_an_officer(home, cid)
    out = json.loads(clearway("refund", cid, "--on", today, "--item", "0:1", home=home).stdout)
    assert out["kind"] == "payment" and out["lines"][0]["quantity"] == 1
    assert out["duty"] == "10.98"  # 12% of one blouse at 90.00 plus its half of the 2.99 shipping (CIF)
    again = clearway("refund", cid, "--on", today, "--item", "0:2", home=home, check=False)
    assert again.returncode == 2 and "only 1 of 2 not refunded yet" in again.stderr


def test_reconcile_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = tmp_path / "one.json"
    path.write_text(json.dumps(example(shipping_cost=None, channel="express")))  # IOSS, to DE, released at once
    clearway("ingest", str(path), "--submitter", "platform-1", home=home)
    import sqlite3

    with sqlite3.connect(home / "clearway.db") as db:
        cid = db.execute("SELECT id FROM consignments").fetchone()[0]
    release_as_an_officer(home, cid)  # should the random sample (its id is random) have drawn it
    month = __import__("datetime").date.today().strftime("%Y-%m")
    vat_return = tmp_path / "return.csv"
    vat_return.write_text(f"scheme_id,period,destination_country,tax_base,tax\nIM2760000012,{month},DE,0,0\n")
    result = clearway(
        "reconcile", "--return", str(vat_return), "--out", str(tmp_path / "out.csv"), home=home, check=False
    )
    assert result.returncode == 1 and result.stdout.splitlines()[-2] == "under_declared: 1"
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rows[0].startswith("scheme_id,period,destination_country,status") and ",under_declared," in rows[1]
    referred = json.loads(clearway("tax", "referrals", home=home).stdout)
    assert [(r["scheme_id"], r["facts"]["status"]) for r in referred] == [("IM2760000012", "under_declared")]
    clearway("tax", "export", "--month", month, "--out", str(tmp_path / "tax"), home=home)
    ioss = (tmp_path / "tax" / month / "ioss.csv").read_text().splitlines()
    assert ioss[0] == "ioss_number,member_state,currency,consignments,intrinsic_value"
    assert ioss[1] == "IM2760000012,DE,EUR,1,18.20"  # 2 x 7.50 + 3.20


def test_screen_command(tmp_path: Path) -> None:
    listed = tmp_path / "list.csv"
    listed.write_text(
        "id,name,aliases,country,birth_date,identifiers\nWL-1,Viktor Sergeyevich Orlov,Виктор Орлов,RU,,\n"
    )
    queries = tmp_path / "q.csv"
    queries.write_text("query_id,name,country\nq1,VIKTOR ORLOV,RU\nq2,Anna Schmidt,DE\n")
    out = tmp_path / "r.csv"
    clearway("screen", "--list", str(listed), "--queries", str(queries), "--out", str(out), home=tmp_path)
    import csv

    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [(r["query_id"], r["entity_id"], r["score"], r["outcome"]) for r in rows] == [
        ("q1", "WL-1", "100.0", "match"),  # the Cyrillic alias, written in Latin letters
        ("q2", "", "0", "none"),
    ]
    assert "viktor orlov" in rows[0]["explanation"] and rows[0]["list_version"] == rows[1]["list_version"]
