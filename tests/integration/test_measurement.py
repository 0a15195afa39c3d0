"""KPIs read from a real store (SQLite and PostgreSQL) after parcels went through the service, and the
`clearway report` command's HTML and exports."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from clearway.kpi import Period
from clearway.services.measurement import measure
from tests.conftest import example
from tests.integration.test_api import Service, medicine, registration, service_for, without_ioss
from tests.integration.test_cli import clearway


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path)


def around_today() -> Period:
    today = dt.datetime.now(dt.UTC).date()
    return Period(today - dt.timedelta(days=1), today + dt.timedelta(days=1))


def test_kpis_over_the_store_follow_what_happened_to_each_parcel(service: Service) -> None:
    answer = service.submit([without_ioss("M1", channel="express"), without_ioss("M2"), medicine("M3")])
    post, held = registration(answer, 1), registration(answer, 2)
    broken = example(reference="M4")
    broken["items"][0]["hs_code"] = "9999"
    assert service.submit([broken], key="k2").json()["results"][0]["errors"]
    arrived = service.client.post(f"/v1/officer/consignments/{post}/arrival", json={}, headers=service.officer)
    assert arrived.json()["after"]["status"] == "released"
    inspection = {"method": "physical", "outcome": "infringement", "findings": [{"kind": "prohibited"}]}
    path = f"/v1/officer/consignments/{held}/inspections"
    assert service.client.post(path, json=inspection, headers=service.officer).status_code == 201

    figures = measure(service.app, around_today())

    volumes = {(d, v): n for d, v, n, _ in figures["volumes"].rows()}
    assert volumes[("channel", "express")] == 1 and volumes[("channel", "post")] == 2
    times = {row[0]: row[1] for row in figures["release_times"].rows()}
    # all three decided; the express parcel released at once, the post one on arrival; the held one not yet
    assert times == {"receipt to decision": 3, "arrival to release": 1, "receipt to release": 2}
    hits = {(g, k): (s, i, n) for g, k, s, i, n, _ in figures["hit_rates"].rows()}
    assert hits[("lane", "red")] == (1, 1, 1)  # the medicine: inspected, infringing
    assert hits[("profile", "NARC-MED")] == (1, 1, 1)
    assert hits[("lane", "green")][1:] == (0, 0)
    # the likelihood selectivity stated for the medicine is stored with its decision and set beside the finding
    stated = figures["calibration"].filter(pl.col("inspected") > 0)
    assert stated.select("inspected", "infringements", "rate").rows() == [(1, 1, 1.0)]
    assert 0 < stated["stated"][0] <= 1
    quality = figures["data_quality"].row(0, named=True)
    assert (quality["submitter"], quality["submissions"], quality["rejected"]) == ("alpha-market", 4, 1)
    assert figures["rejections"].rows() == [("schema.pattern", 1)]  # an HS code is 6 to 10 digits
    revenue = figures["revenue"]
    duty = revenue.filter((pl.col("tax_type") == "duty") & (pl.col("assessed") > 0))
    assert duty.height > 0 and all(r["released"] <= r["assessed"] for r in duty.iter_rows(named=True))
    elsewhere = measure(service.app, Period(dt.date(2020, 1, 1), dt.date(2020, 1, 31)))
    assert elsewhere["volumes"].is_empty()  # another period: nothing of today


def test_report_command_writes_html_and_the_tables(tmp_path: Path) -> None:
    home = tmp_path / "home"
    doc = example(reference="R-1")
    path = tmp_path / "one.json"
    path.write_text(json.dumps(doc))
    clearway("ingest", str(path), "--submitter", "alpha", home=home)
    period = around_today()
    out = tmp_path / "kpi.html"
    result = clearway("report", "--from", str(period.start), "--to", str(period.end), "--out", str(out),
                      "--format", "parquet", home=home)  # fmt: skip
    assert "1 consignments received" in result.stdout
    html = out.read_text()
    assert "<svg" in html and "Hit rates" in html and "<script" not in html
    tables = {p.stem: pl.read_parquet(p) for p in (tmp_path / "kpi-tables").glob("*.parquet")}
    assert set(tables) >= {"volumes", "values", "thresholds", "revenue", "refunds", "release_times", "hit_rates",
                           "random_selection", "data_quality", "rejections"}  # fmt: skip
    assert isinstance(tables["values"]["total"].dtype, pl.Decimal)  # exact in the export too
    assert tables["values"].row(0)[:2] == ("EUR", 1)
    backwards = clearway("report", "--from", "2026-11-02", "--to", "2026-11-01", home=home, check=False)
    assert backwards.returncode == 2 and "ends" in backwards.stderr


def test_an_amended_parcel_counts_once_with_its_latest_assessment_and_lane(service: Service) -> None:
    from decimal import Decimal

    import sqlalchemy as sa

    from clearway.store import tables as t
    from clearway.store.period import read_period

    first = without_ioss("AM1")
    cid = registration(service.submit([first], key="a"))
    amended = without_ioss("AM1")
    amended["items"][0]["unit_price"] = str(4 * float(first["items"][0]["unit_price"]))
    assert service.submit([amended], key="b").json()["results"][0]["outcome"] == "amended"
    d = t.decisions.c
    with service.app.store.engine.connect() as conn:
        decided = conn.execute(sa.select(d.lane, d.assessment).where(d.consignment_id == cid)
                               .order_by(d.decided_at, d.id)).all()  # fmt: skip
    assert len(decided) == 2 and decided[0].assessment != decided[1].assessment
    frames = read_period(service.app.store.engine, around_today())
    [row] = frames["assessments"].filter(pl.col("consignment_id") == cid).iter_rows(named=True)
    latest = json.loads(decided[-1].assessment)["totals"]
    assert (row["duty"], row["vat"]) == (Decimal(latest["duty"]), Decimal(latest["vat"]))
    [lane] = frames["consignments"].filter(pl.col("id") == cid)["lane"].to_list()
    assert lane == decided[-1].lane
