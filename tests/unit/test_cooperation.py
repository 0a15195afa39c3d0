"""Cooperation's pure core: signed bundles that refuse tampering, other keys and age; partners' alerts as
temporary profiles over parties, goods, route and value; operator status by date; their KPIs."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import polars as pl
import pytest

from clearway.cooperation.aeo import Operator, parse_operators, standing, write_operators
from clearway.cooperation.alerts import AlertFeedback, Goods, PartyHash, RiskAlert, Route, ValuePattern, alert_code
from clearway.cooperation.bundle import BundleRefused, make_bundle, read_bundle
from clearway.errors import RuleFileError
from clearway.kpi import KpiInput, Period
from clearway.kpi.figures import cooperation, partner_findings
from clearway.ledger.note import NoteKey
from clearway.pipeline import Context, History, to_batch
from clearway.pipeline.history import ALERT_PARTIES
from clearway.risk.alerts import AlertDetector, alerts_frame
from tests.unit.test_detectors import RATES, row

DAY = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
KEY = NoteKey("customs-a.test/ledger", bytes(range(32)))


def alert(**changes: object) -> RiskAlert:
    fields: dict[str, object] = {
        "id": "20260301-a1", "kind": "counterfeit", "issued_at": DAY - dt.timedelta(days=1),
        "expires_at": DAY + dt.timedelta(days=30), "goods": Goods(hs_prefixes=["6206"], keywords=["silk"]),
    }  # fmt: skip
    return RiskAlert(**(fields | changes))  # type: ignore[arg-type]


def signed(*alerts: RiskAlert, key: NoteKey = KEY) -> bytes:
    text = make_bundle(key, "alerts", list(alerts), receiver="office-b", agreement="MAA art. 12", made=DAY,
                       valid_for=dt.timedelta(days=7))  # fmt: skip
    return text.encode()


# --- bundles ---


def test_a_bundle_reads_back_what_was_signed() -> None:
    bundle = read_bundle(signed(alert(), alert(id="b2", kind="undervaluation")), KEY.verifier, DAY)
    assert bundle.kind == "alerts" and bundle.sender == KEY.name and bundle.agreement == "MAA art. 12"
    assert [a.id for a in bundle.alerts] == ["20260301-a1", "b2"] and bundle.alerts[0] == alert()
    feedback = make_bundle(KEY, "feedback", [AlertFeedback("b2", 3, 2, 1, ["undervaluation"], DAY.date())],
                           receiver="office-b", agreement="MAA", made=DAY, valid_for=dt.timedelta(days=1))  # fmt: skip
    assert read_bundle(feedback.encode(), KEY.verifier, DAY).feedback[0].found == 1


def test_a_changed_bundle_another_key_and_an_old_one_are_refused() -> None:
    data = signed(alert())
    with pytest.raises(BundleRefused, match="not signed by"):
        read_bundle(data.replace(b'"6206"', b'"6207"'), KEY.verifier, DAY)
    other = NoteKey(KEY.name, os.urandom(32))  # same name, another key: an impostor
    with pytest.raises(BundleRefused, match="not signed by"):
        read_bundle(signed(alert(), key=other), KEY.verifier, DAY)
    with pytest.raises(BundleRefused, match="expired"):
        read_bundle(data, KEY.verifier, DAY + dt.timedelta(days=7))
    with pytest.raises(BundleRefused, match="NUL"):
        read_bundle(data + b"\x00", KEY.verifier, DAY)
    with pytest.raises(BundleRefused, match="UTF-8"):
        read_bundle(b"\xc3" + data, KEY.verifier, DAY)


def test_a_signed_bundle_with_a_bad_alert_is_refused_whole() -> None:
    from clearway.ledger.note import sign_note

    head = f"clearway-exchange/1\nkind alerts\nfrom {KEY.name}\nto b\nagreement x\nmade 2026-03-02T10:00:00Z\n"
    valid = "valid-until 2026-03-09T10:00:00Z\n"
    good = '{"id":"a","kind":"counterfeit","issued_at":"2026-03-01T00:00:00Z","expires_at":"2026-04-01T00:00:00Z",'
    cases = {
        good + '"goods":{"hs_prefixes":["64"]},"names":[{"role":"seller","name":"X"}]}': "legal basis",
        good + '"goods":{"hs_prefixes":[]}}': "names goods",
        good + '"goods":{"hs_prefixes":["64"]},"parties":[{"role":"seller","hash":"zz"}]}': "item 1",
        good + '"goods":{"hs_prefixes":["64"]},"extra":1}': "item 1",
        '{"id":"a"': "item 1 is not JSON",
        good + '"goods":{"hs_prefixes":["' + "1" * 11 + '"]}}': "item 1",
        good + '"goods":{"hs_prefixes":["64"]},"note":"a\\u0000b"}': "NUL character",
        good + '"goods":{"hs_prefixes":["64"]},"note":"\\ud800"}': "item 1",  # a lone surrogate: no JSON
        "[" * 40 + "]" * 40: "nests deeper",
        good.replace("2026-04-01T00:00:00Z", "9999-12-31T23:00:00-14:00")
        + '"goods":{"hs_prefixes":["64"]}}': "times fall in 2000 to 2099",  # fmt: skip
        good.replace("2026-04-01T00:00:00Z", "2026-04-01T00:00:00")
        + '"goods":{"hs_prefixes":["64"]}}': "offset",  # fmt: skip
    }
    for line, message in cases.items():
        with pytest.raises(BundleRefused, match=message):
            read_bundle(sign_note(head + valid + line + "\n", KEY).encode(), KEY.verifier, DAY)
    with pytest.raises(BundleRefused, match="unknown bundle kind"):
        read_bundle(sign_note(head.replace("kind alerts", "kind orders") + valid, KEY).encode(), KEY.verifier, DAY)
    with pytest.raises(BundleRefused, match="header line 'valid-until'"):
        read_bundle(sign_note(head + "valid 2026\n", KEY).encode(), KEY.verifier, DAY)


# --- alerts as temporary profiles ---


def frame(*alerts: RiskAlert, partner: str = "office-a") -> pl.DataFrame:
    return alerts_frame([(partner, a) for a in alerts])


def found(history: History, *rows: object, at: dt.datetime = DAY) -> dict[str, list[str]]:
    hits = AlertDetector(RATES).run(to_batch(list(rows)), Context(as_of=at, history=history)).hits  # type: ignore[arg-type]
    return {k: sorted(v) for k, v in hits.group_by("key").agg("message").rows()}


def test_an_alert_selects_the_goods_route_and_value_it_describes() -> None:
    described = alert(route=Route(dispatch_country="CN"), value=ValuePattern(currency="EUR", declared_at_most="20"))
    history = History(alerts=frame(described))
    hits = found(history, row("silk", "15.00", description="Silk blouse, women"), row("dear", "80.00"),
                 row("wool", "15.00", hs="611011", description="Wool jumper"),
                 row("silky", "15.00", description="Silky-look blouse"))  # fmt: skip
    assert list(hits) == ["silk"]  # dear: over the value; wool: other goods; silky: not the word
    assert hits["silk"] == [
        "risk alert 20260301-a1 from office-a (issued 2026-03-01, expires 2026-04-01): "
        "counterfeit; matched HS 6206; goods silk; dispatch country CN; declared at most 20.0 EUR"
    ]
    usd = found(history, row("usd", "20.00", currency="USD"))  # 20 USD is under 20 EUR
    assert list(usd) == ["usd"]
    assert found(History(alerts=frame(alert(route=Route(dispatch_country="TR")))), row("silk", "15.00")) == {}


def test_an_alert_in_force_only_and_by_party_hash() -> None:
    by_party = alert(goods=Goods(hs_prefixes=[]), parties=[PartyHash("seller", "a" * 64)])
    matched = pl.DataFrame([("p", alert_code("office-a", by_party.id), "seller")], schema=ALERT_PARTIES, orient="row")
    history = History(alerts=frame(by_party), alert_parties=matched)
    assert found(history, row("p", "10.00"), row("q", "10.00")) == {
        "p": ["risk alert 20260301-a1 from office-a (issued 2026-03-01, expires 2026-04-01): counterfeit; "
              "matched the seller it names"]}  # fmt: skip
    assert found(history, row("p", "10.00"), at=DAY + dt.timedelta(days=31)) == {}  # expired
    assert found(history, row("p", "10.00"), at=DAY - dt.timedelta(days=2)) == {}  # not yet issued


def test_an_alerts_domain_follows_its_kind_and_never_asks_do_not_load() -> None:
    kinds = ["counterfeit", "undervaluation", "dangerous_goods", "prohibited"]
    history = History(alerts=frame(*[alert(id=k, kind=k) for k in kinds]))
    batch = to_batch([row("silk", "15.00")])
    hits = AlertDetector(RATES).run(batch, Context(as_of=DAY, history=history)).hits
    by_code = {
        c.split(":")[-1]: (d, lane, r) for c, d, lane, r in hits.select("code", "domain", "lane", "referral").rows()
    }
    assert by_code == {
        "counterfeit": ("ipr", "yellow", "rfi"), "undervaluation": ("fiscal", "yellow", "rfi"),
        "dangerous_goods": ("safety", None, "carrier"), "prohibited": ("prohibitions", "yellow", "rfi"),
    }  # fmt: skip
    assert not hits["mandatory"].any()


# --- authorised operators by date ---

LIST = """operator,name,address,programme,issuing_country,status,effective,valid_to
op-1,One Ltd,Road 1,AEOF,CN,authorised,2025-01-01,2028-12-31
op-1,One Ltd,Road 1,AEOF,CN,suspended,2026-03-05,2028-12-31
op-1,One Ltd,Road 1,AEOF,CN,authorised,2026-04-01,2028-12-31
op-2,Two Ltd,Road 2,AEOS,CN,authorised,2025-01-01,2026-03-01
op-3,Three Ltd,Road 3,AEOC,CN,authorised,2025-01-01,2030-01-01
op-3,Three Ltd,Road 3,AEOC,CN,revoked,2026-03-02,2030-01-01
"""


def test_operator_status_takes_effect_by_date() -> None:
    rows = parse_operators(LIST, "list", origin="office-a")
    assert set(standing(rows, dt.date(2026, 3, 1))) == {"op-1", "op-2", "op-3"}
    assert set(standing(rows, dt.date(2026, 3, 2))) == {"op-1"}  # op-2 ran out, op-3 revoked that day
    assert set(standing(rows, dt.date(2026, 3, 10))) == set()  # op-1 suspended
    assert set(standing(rows, dt.date(2026, 4, 1))) == {"op-1"}  # and reinstated
    assert parse_operators(write_operators(rows), "again", origin="office-a") == rows
    ours = Operator("op-1", "One Ltd", "AEOC", "NL", dt.date(2025, 1, 1), dt.date(2029, 1, 1))
    assert standing([*rows, ours], dt.date(2026, 3, 10))["op-1"] == ours  # CN's suspension is not NL's


def test_a_bad_operator_list_names_each_bad_line() -> None:
    bad = (
        LIST + "op-4,Four,,AEO,China,authorised,2025-01-01,2026-01-01\nop-5,Five,,AEO,CN,paused,2025-01-01,2026-01-01\n"
    )
    with pytest.raises(RuleFileError) as caught:
        parse_operators(bad, "list")
    assert "line 8: issuing_country 'China'" in str(caught.value) and "line 9: status 'paused'" in str(caught.value)
    with pytest.raises(RuleFileError, match="header needs"):
        parse_operators("id,name\nx,y\n", "list")
    older = "operator,name,programme,issuing_country,valid_from,valid_to\nx,X,AEOF,DE,2025-01-01,2027-01-01\n"
    packaged = parse_operators(older, "registry")
    assert packaged == [Operator("x", "X", "AEOF", "DE", dt.date(2025, 1, 1), dt.date(2027, 1, 1))]


# --- measurement ---


def test_the_kpis_count_alerts_and_value_the_findings_partners_led_to() -> None:
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    t = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    data = KpiInput.of(
        period,
        alerts=[("out", "office-b", "o1", t, t + dt.timedelta(days=90), 2), ("out", "office-b", "o2", t, t, 0),
                ("in", "office-a", "i1", t, t + dt.timedelta(days=90), None),
                ("in", "office-a", "i2", t - dt.timedelta(days=60), t, None)],
        reasons=[("c1", "detector", "ALERT:office-a:i1"), ("c2", "detector", "DET-EXPORT-VALUE"),
                 ("c3", "detector", "ALERT:office-a:i2")],
        inspections=[("c1", "infringement"), ("c2", "infringement"), ("c3", "compliant")],
        consignments=[{"id": "c1", "currency": "EUR", "value": Decimal("30")},
                      {"id": "c2", "currency": "EUR", "value": Decimal("45")},
                      {"id": "c3", "currency": "EUR", "value": Decimal("9")}],
        assessments=[{"consignment_id": "c1", "currency": "EUR", "duty": Decimal("3"), "vat": Decimal("6.6"),
                      "other": Decimal("0")}],
    )  # fmt: skip
    assert cooperation(data).rows() == [("issued", "office-b", 2, 1, 1), ("received", "office-a", 1, 1, 1)]
    assert partner_findings(data).select("source", "consignments", "declared_value", "duty_and_tax").rows() == [
        ("partner alert", 1, Decimal("30"), Decimal("9.6")),
        ("partner export record", 1, Decimal("45"), Decimal("0")),  # no assessment held
    ]


def test_parties_are_matched_by_their_hash_under_each_partners_key() -> None:
    from clearway.risk.alerts import parties_named, party_index
    from clearway.risk.party_keys import address_key, party_key

    shared = b"k" * 32
    shenzhen = {"city": "Shenzhen", "country": "CN"}
    seized = row("old", "10.00", seller={"name": "Lucky Star Trading Co., Ltd.", "address": shenzhen})
    named = alert(goods=Goods(hs_prefixes=[]), parties=[
        PartyHash("seller", party_key(shared, seized.consignment.seller)),
        PartyHash("delivery_address", address_key(shared, seized.consignment.consignee)),
    ])  # fmt: skip
    index = party_index([("office-a", named), ("office-z", named)], {"office-a": shared})  # office-z: no key
    same = row("new", "20.00", seller={"name": "LUCKY STAR TRADING CO LTD", "address": shenzhen})
    other = row("other", "20.00", seller={"name": "Lucky Moon Trading", "address": shenzhen})
    found = parties_named([same, other], index).rows()
    code = alert_code("office-a", named.id)
    assert sorted(found) == [("new", code, "delivery_address"), ("new", code, "seller"),
                             ("other", code, "delivery_address")]  # the same buyer's address  # fmt: skip
    assert parties_named([same], party_index([("office-a", named)], {"office-a": b"x" * 32})).is_empty()
