"""Issue 17: each finding of the attack on clearway, reproduced as it was found, on SQLite and PostgreSQL.

Each test names its finding; each failed on the main branch before the hardening.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
import sqlalchemy as sa

from clearway.auth.clients import add_client, revoke_client
from clearway.errors import Unauthenticated
from clearway.intake import read_bytes
from clearway.pipeline import Context
from clearway.store import tables as t
from tests.conftest import example
from tests.integration.clients import bearer
from tests.integration.server import serving
from tests.integration.test_api import Service, registration, service_for

PROBLEM = "application/problem+json"


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path, cookie_secure=False)


def status_of(s: Service, cid: str) -> str:
    return str(s.app.store.consignment(cid)[0]["status"])


# --- finding 1: one parcel stopped other tenants' decisions, for good ---


def test_values_past_the_contracts_bounds_are_rejected_alone_and_others_are_assessed(service: Service) -> None:
    s = service
    huge_price = example(reference="H1")
    huge_price["items"][0]["unit_price"] = "100000000000000"  # 15 digits: broke the history gather
    huge_quantity = example(reference="H2")
    huge_quantity["items"][0]["quantity"] = 9223372036854775808  # overflowed the batch frame's Int64
    answer = s.submit([huge_price, huge_quantity, example(reference="H3")])
    results = answer.json()["results"]
    assert [(e["path"], e["code"]) for e in results[0]["errors"]] == [("/items/0/unit_price", "decimal.range")]
    assert [(e["path"], e["code"]) for e in results[1]["errors"]] == [("/items/0/quantity", "schema.range")]
    assert results[2]["outcome"] == "registered"
    same_consignee = example(reference="B1")  # another tenant's parcel to the same consignee, the same day
    theirs = registration(s.submit([same_consignee], who=s.beta, key="b1"))
    assert status_of(s, registration(answer, 2)) != "registered"
    assert status_of(s, theirs) != "registered"
    raw = s.app.store.submissions("alpha-market")
    assert any(b"100000000000000" in bytes(r["raw"]) for r in raw)  # what was sent is kept


def test_a_consignment_whose_assessment_fails_is_set_aside_alone_and_retried(service: Service) -> None:
    s = service
    real = s.app.pipeline

    def poisoned(frame: pl.DataFrame, context: Context) -> pl.DataFrame:
        if "POISON" in frame["reference"].to_list():
            raise ArithmeticError("a stage could not hold this consignment")
        return real(frame, context)

    s.app.pipeline = poisoned
    answer = s.submit([example(reference="OK-1"), example(reference="POISON"), example(reference="OK-2")])
    ok1, poison, ok2 = (registration(answer, i) for i in range(3))
    theirs = registration(s.submit([example(reference="OK-B")], who=s.beta, key="b"))
    assert {status_of(s, c) for c in (ok1, ok2, theirs)} <= {"assessed", "held", "released"}
    assert status_of(s, poison) == "assessment_failed"
    seen = s.client.get(f"/v1/officer/consignments/{poison}", headers=s.officer).json()
    assert "ArithmeticError" in seen["assessment_failure"]["error"] and seen["assessment_failure"]["attempts"] == 1
    listed = s.client.get("/v1/officer/worklist", params={"status": "assessment_failed"}, headers=s.officer).json()
    assert [i["id"] for i in listed] == [poison]
    mine = s.client.get(f"/v1/consignments/{poison}", headers=s.alpha).json()
    assert mine["status"] == "assessment_failed" and "error" not in json.dumps(mine)  # not the submitter's to read
    failure = s.app.store.assessment_failure(poison)
    assert failure is not None
    assert failure["next_attempt_at"] - failure["last_failed_at"] == dt.timedelta(seconds=30)  # back-off
    assert s.runtime.submissions.assess_pending() == 0  # not due yet: nothing is tried
    s.app.pipeline = real
    s.runtime.submissions.now = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert s.runtime.submissions.assess_pending() == 1  # due: tried again, and assessed
    assert status_of(s, poison) in ("assessed", "held", "released")
    assert s.app.store.assessment_failure(poison) is None
    assert s.app.ledger.audit() == []  # set aside and retried, every step is in the ledger


def test_the_clock_retries_what_was_set_aside_and_leaves_the_queued_backlog_to_the_assessor(service: Service) -> None:
    # under a flood thousands of consignments are registered and queued for the assessor; the clock's retry
    # once decoded and assessed them all a second time, on its own thread, stalling every other request
    s = service
    waiting = s.app.store.record_batch("alpha-market", dt.datetime.now(dt.UTC), list(read_bytes(
        json.dumps(example(reference="QUEUED")).encode(), "json")))  # fmt: skip
    [queued] = [r.consignment_id for r in waiting]
    assert queued is not None and status_of(s, queued) == "registered"
    assert s.runtime.submissions.assess_pending(registered=False) == 0  # the clock's retry: not the backlog
    assert status_of(s, queued) == "registered"
    assert s.runtime.submissions.assess_pending() == 1  # at start: the backlog too
    assert status_of(s, queued) != "registered"


def test_a_version_assessed_twice_is_decided_once(service: Service) -> None:
    # the assessor's process, started while consignments were queued for it, may assess one twice
    from clearway.services.ingest import assess_isolated, pending_rows

    s = service
    s.app.store.record_batch("alpha-market", dt.datetime.now(dt.UTC), list(read_bytes(
        json.dumps(example(reference="TWICE")).encode(), "json")))  # fmt: skip
    rows, versions = pending_rows(s.app)
    for _ in range(2):
        assess_isolated(s.app, rows, versions, as_of=dt.datetime.now(dt.UTC), decided_at=dt.datetime.now(dt.UTC))
    [row] = rows
    with s.app.store.engine.connect() as conn:
        decided = conn.execute(sa.select(sa.func.count()).where(t.decisions.c.consignment_id == row.key)).scalar()
        events = conn.execute(sa.select(t.events.c.type).where(t.events.c.consignment_id == row.key)).scalars().all()
    assert decided == 1 and events.count("assessed") == 1
    assert s.app.ledger.audit() == []


def test_an_assessor_out_of_time_ends_its_batch_at_a_step_and_leaves_the_rest_registered(service: Service) -> None:
    # a stopping assessor checked its grace only between rounds, so a long round under load outlasted it
    # and the process was killed; it now ends the batch under way at its next step, storing no more
    from clearway.services.ingest import OutOfTime, assess_isolated, pending_rows

    s = service
    body = "\n".join(json.dumps(example(reference=f"LATE-{n}")) for n in range(6)).encode()
    s.app.store.record_batch("alpha-market", dt.datetime.now(dt.UTC), list(read_bytes(body, "ndjson")))
    rows, versions = pending_rows(s.app)

    def stopping() -> None:  # the grace runs out once the first chunk of decisions is stored
        if any(status_of(s, row.key) != "registered" for row in rows):
            raise OutOfTime("the shutdown grace ran out")

    with pytest.raises(OutOfTime):
        assess_isolated(s.app, rows, versions, as_of=dt.datetime.now(dt.UTC), decided_at=dt.datetime.now(dt.UTC),
                        record_chunk=2, pause=stopping)  # fmt: skip
    states = [status_of(s, row.key) for row in rows]
    assert states.count("registered") == 4, states  # not set aside as failures, left for the next start
    assert "assessment_failed" not in states
    assert s.app.ledger.audit() == []
    left, _ = pending_rows(s.app)
    assert sorted(r.key for r in left) == sorted(r.key for r in rows[2:])


def test_a_write_group_of_single_filings_is_stored_as_if_one_after_another(service: Service) -> None:
    # the writer stores consecutive single filings of one tenant in one call (PostgreSQL fell behind at 200
    # a second, a round of statements each); what each request is answered must not change
    from clearway.workers.submissions import _Request, _Slice

    s = service
    writer = s.runtime.submissions

    def request(tenant: str, key: str, reference: str, price: str) -> _Request:
        doc = example(reference=reference)
        doc["items"][0]["unit_price"] = price
        return _Request(tenant, key, f"digest-{reference}-{price}", list(read_bytes(json.dumps(doc).encode(), "json")))

    first = request("alpha-market", "w1", "GROUP-1", "10.00")
    amended = request("alpha-market", "w2", "GROUP-1", "12.00")  # the same parcel, amended in the same group
    other = request("beta-express", "w3", "GROUP-B", "10.00")
    twin = request("alpha-market", "w1", "GROUP-1", "10.00")  # a retry of the first, before it was answered
    changed = request("alpha-market", "w1", "GROUP-9", "10.00")  # its key, with another body
    last = request("alpha-market", "w5", "GROUP-2", "10.00")
    group = [first, amended, other, twin, changed, last]
    done = writer._commit([_Slice(r, 0, 1) for r in group])
    answers = {id(r): a for r, a, _ in done}
    outcomes = {id(r): [x["outcome"] for x in a[1]["results"]] for r, a, _ in done if isinstance(a, tuple)}
    assert outcomes[id(first)] == ["registered"] and outcomes[id(amended)] == ["amended"]
    assert outcomes[id(other)] == ["registered"] and outcomes[id(last)] == ["registered"]
    assert answers[id(twin)] == answers[id(first)]  # the retry gets the first try's very answer
    assert isinstance(answers[id(changed)], Exception) and "another body" in str(answers[id(changed)])
    cid = answers[id(first)][1]["results"][0]["registration_id"]  # type: ignore[index]
    assert answers[id(amended)][1]["results"][0]["registration_id"] == cid  # type: ignore[index]
    assert s.app.store.consignment(cid)[0]["version"] == 2
    assert s.app.ledger.audit() == []


def test_one_batch_that_files_a_parcel_and_then_amends_it_keeps_both_versions_and_assesses_the_latest_once(
    service: Service,
) -> None:
    # the parcel's party keys were written twice in the batch's one insert, which failed the whole batch; then
    # each version was assessed and both decisions recorded as the latest: two decisions, its duty owed twice,
    # one of them on content the filer had already replaced
    s = service
    doc = example(reference="TWICE-IN-ONE")
    changed = example(reference="TWICE-IN-ONE")
    changed["items"][0]["unit_price"] = "99.00"
    answer = s.submit([doc, changed], key="twice")
    assert answer.status_code == 201, answer.text
    results = answer.json()["results"]
    assert [r["outcome"] for r in results] == ["registered", "amended"]
    cid = results[0]["registration_id"]
    assert results[1]["registration_id"] == cid
    assert s.app.store.consignment(cid)[0]["version"] == 2
    s.runtime.submissions.drain()
    with s.app.store.engine.connect() as conn:
        decided = conn.execute(sa.select(t.decisions.c.version, t.decisions.c.assessment)
                               .where(t.decisions.c.consignment_id == cid)).all()  # fmt: skip
        events = conn.execute(sa.select(t.events.c.type).where(t.events.c.consignment_id == cid)).scalars().all()
        owed = conn.execute(sa.select(sa.func.count()).where(t.payables.c.consignment_id == cid)).scalar_one()
    assert [version for version, _ in decided] == [2]
    assert events.count("assessed") == 1 and events.count("duty_assessed") == 1
    [(_, assessment)] = decided
    alone, owed_alone = _assessed_alone(s, changed)
    assert json.loads(assessment)["threshold_value"] == json.loads(alone)["threshold_value"]  # the 99.00 version
    assert owed == owed_alone == 1  # what the assessment makes owed, once
    assert s.app.ledger.audit() == []


def _assessed_alone(s: Service, doc: dict[str, Any]) -> tuple[str, int]:
    """The assessment the latest version gets when it is filed on its own, and the payables it makes."""
    alone = dict(doc, reference="ALONE-" + doc["reference"])
    answer = s.submit([alone], key="alone-" + doc["reference"])
    s.runtime.submissions.drain()
    cid = answer.json()["results"][0]["registration_id"]
    with s.app.store.engine.connect() as conn:
        assessment = conn.execute(sa.select(t.decisions.c.assessment).where(t.decisions.c.consignment_id == cid))
        owed = conn.execute(sa.select(sa.func.count()).where(t.payables.c.consignment_id == cid))
        return str(assessment.scalar_one()), int(owed.scalar_one())


# --- finding 2: unbounded memory without a token ---


def test_huge_client_ids_are_refused_and_leave_nothing_behind(service: Service) -> None:
    s = service
    throttle = s.client.app.dependencies["throttle"].dependency()  # type: ignore[attr-defined]
    for n in range(20):
        form = {"grant_type": "client_credentials", "client_id": f"{n}" + "x" * 1_000_000, "client_secret": "y"}
        refused = s.client.post("/v1/oauth/token", data=form)
        assert refused.status_code in (400, 401, 422) and refused.headers["content-type"].startswith(PROBLEM)
    assert len(throttle.per_client) == 0 and len(throttle.per_pair) == 0


# --- finding 4: tokens could not be revoked ---


def test_a_revoked_clients_tokens_are_refused_within_seconds(service: Service) -> None:
    s = service
    token = s.beta
    assert s.submit([example(reference="RV1")], who=token, key="r1").status_code == 201
    revoke_client(s.app.store.engine, "beta-express")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = s.client.get("/v1/quality", headers=token)
        if answer.status_code == 401:
            break
        time.sleep(0.2)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    refused = s.client.post(
        "/v1/consignments", content=json.dumps(example(reference="RV2")),
        headers=token | {"Idempotency-Key": "r2", "Content-Type": "application/json"},
    )  # fmt: skip
    assert refused.status_code == 401


def test_signing_out_ends_the_session_on_the_server(service: Service) -> None:
    s = service
    s.client.get("/ui/login")
    s.client.headers["x-csrftoken"] = s.client.cookies["csrftoken"]
    officer = add_client(s.app.store.engine, "officer-out", "officer")
    form = {"client_id": officer["client_id"], "client_secret": officer["client_secret"]}
    assert s.client.post("/ui/login", data=form, follow_redirects=False).status_code in (302, 303)
    session = s.client.cookies["clearway_session"]
    assert s.client.get("/ui/", follow_redirects=False).status_code == 200
    s.client.post("/ui/logout", follow_redirects=False)
    s.client.cookies.set("clearway_session", session, path="/ui")  # the old cookie, kept by an attacker
    again = s.client.get("/ui/", follow_redirects=False)
    assert again.status_code in (302, 303) and again.headers["location"].startswith("/ui/login")


# --- finding 5: a repeated amendment was silently ignored ---


def test_a_repeated_amendment_is_applied_not_answered_from_an_old_key(service: Service) -> None:
    s = service
    cid = registration(s.submit([example(reference="AMX")], key="a0"))
    body_b, body_a = example(reference="AMX", shipping_cost="3.99"), example(reference="AMX", shipping_cost="4.99")
    for body, version in ((body_b, 2), (body_a, 3), (body_b, 4)):
        answer = s.client.put(f"/v1/consignments/{cid}", json=body, headers=s.alpha)
        s.runtime.submissions.drain()
        assert answer.status_code == 200 and answer.json()["outcome"] == "amended"
        assert answer.json()["version"] == version
    meta, stored = s.app.store.consignment(cid)
    assert meta["version"] == 4 and str(stored.shipping_cost) == "3.99"
    retry = s.client.put(f"/v1/consignments/{cid}", json=body_b, headers=s.alpha)  # a network retry of the last
    assert retry.json()["outcome"] == "unchanged" and retry.json()["version"] == 4


# --- finding 9: 500s where a 4xx belongs ---


def post_raw(s: Service, body: bytes, content_type: str = "application/json", key: str = "raw") -> httpx.Response:
    headers = s.alpha | {"Idempotency-Key": key, "Content-Type": content_type}
    answer = s.client.post("/v1/consignments", content=body, headers=headers)
    s.runtime.submissions.drain()
    return answer


def test_deep_nesting_rejects_only_its_own_line(service: Service) -> None:
    s = service
    deep = b"[" * 50_000 + b"]" * 50_000
    alone = post_raw(s, deep, key="d1")
    assert alone.status_code == 200 and alone.json()["results"][0]["errors"][0]["code"] == "json.depth"
    nested = example(reference="N2")
    nested["seller"]["note"] = json.loads("[" * 40 + "]" * 40)
    lines = b"\n".join([json.dumps(example(reference="N1")).encode(), deep, json.dumps(nested).encode()])
    answer = post_raw(s, lines, "application/x-ndjson", key="d2").json()
    assert [r["outcome"] for r in answer["results"]] == ["registered", "rejected", "rejected"]
    assert [r["errors"][0]["code"] for r in answer["results"][1:]] == ["json.depth", "json.depth"]


def test_bytes_that_are_not_utf8_are_a_rejection(service: Service) -> None:
    s = service
    body = json.dumps(example(reference="U1")).encode().replace(b"Anna", b"\xff\xfeAnna")
    answer = post_raw(s, body, key="u1")
    assert answer.status_code == 200 and answer.json()["results"][0]["errors"][0]["code"] == "json.encoding"
    note = s.client.post(
        "/v1/officer/consignments/x/release", content=b'{"note": "\xff"}',
        headers=s.officer | {"Content-Type": "application/json"},
    )  # fmt: skip
    assert 400 <= note.status_code < 500


@pytest.mark.parametrize(
    ("where", "value", "code"),
    [
        (("items", 0, "unit_price"), "NaN", "decimal.format"),
        (("items", 0, "unit_price"), "Infinity", "decimal.format"),
        (("arrival",), {"expected_at": "0001-01-01T00:00:00Z"}, "date.range"),
        (("arrival",), {"expected_at": "9999-12-31T23:59:59+14:00"}, "date.range"),
        (("declared_at",), "9999-12-31T23:59:59-12:00", "date.range"),
        (("reference",), "NUL\x00REF", "text.nul"),
        (("transport_document", "id"), "TR\x00123", "text.nul"),
        (("seller", "name"), "a\ud800b", "json.malformed"),  # msgspec refuses a lone surrogate escape
    ],
)
def test_hostile_values_are_a_clear_rejection(service: Service, where: tuple[Any, ...], value: Any, code: str) -> None:
    s = service
    doc = example(reference="HV1")
    target: Any = doc
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    body = json.dumps(doc, ensure_ascii=True).encode()  # \u0000 and a lone \ud800 escaped, as JSON allows
    answer = post_raw(s, body, key=f"hv-{code}-{where[-1]}")
    assert answer.status_code == 200
    assert code in [e["code"] for e in answer.json()["results"][0]["errors"]]
    assert s.client.get("/v1/quality", headers=s.officer).status_code == 200  # and the quality page still answers


def test_nul_in_paths_queries_and_forms_is_a_bad_request(service: Service) -> None:
    s = service
    for path in ("/v1/consignments/a%00b", "/v1/public/status/RR%00123", "/v1/officer/consignments/%00"):
        answer = s.client.get(path, headers=s.officer if "officer" in path else s.alpha)
        assert answer.status_code == 400 and answer.headers["content-type"].startswith(PROBLEM), path
    assert s.client.get("/v1/officer/audit", params={"consignment_id": "x\x00"}, headers=s.officer).status_code == 400
    form = {"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "b"}
    assert s.client.post("/v1/oauth/token", data=form).status_code == 400
    note = s.client.post(
        "/v1/officer/consignments/x/release", json={"note": "a\x00b"}, headers=s.officer
    )  # fmt: skip
    assert note.status_code == 400
    assert s.client.get("/v1/quality", params={"from": "\xff"}, headers=s.officer).status_code < 500


def test_public_estimate_of_an_unknown_currency_or_day_is_422(service: Service) -> None:
    s = service
    request = {"dispatch_country": "CN", "destination_country": "DE", "currency": "XYZ",
               "items": [{"hs_code": "610910", "unit_price": "10.00"}]}  # fmt: skip
    assert s.client.post("/v1/public/estimate", json=request).status_code == 422
    far = request | {"currency": "EUR", "on": "0001-01-01"}
    assert s.client.post("/v1/public/estimate", json=far).status_code == 422
    assert s.client.post("/v1/public/estimate", json=request | {"currency": "EUR"}).status_code == 200


def test_profile_dry_run_days_that_are_not_a_number_are_a_400(service: Service) -> None:
    s = service
    s.client.get("/ui/login")
    s.client.headers["x-csrftoken"] = s.client.cookies["csrftoken"]
    officer = add_client(s.app.store.engine, "officer-days", "officer")
    s.client.post("/ui/login", data={"client_id": officer["client_id"], "client_secret": officer["client_secret"]})
    answer = s.client.post("/ui/profiles/check", data={"text": "profiles: []", "days": "abc"})
    assert answer.status_code == 400 and "not a whole number" in answer.text


# --- finding 10: another tenant changed what the public saw ---


def test_another_tenant_cannot_change_the_public_status_of_a_tracking_number(service: Service) -> None:
    s = service
    s.submit([example(reference="PS1")], key="p1")
    tracking = example()["transport_document"]["id"]
    before = s.client.get(f"/v1/public/status/{tracking}").json()
    squatter = bearer(s.app, "squat-market", "platform")
    theirs = registration(s.submit([example(reference="SQ1")], who=squatter, key="sq1"))
    s.client.post(f"/v1/consignments/{theirs}/invalidate", json={"note": "x"}, headers=squatter)
    after = s.client.get(f"/v1/public/status/{tracking}").json()
    assert after["status"] == before["status"] != "invalidated"


# --- finding 11: the officers' pages ---


def test_the_pages_guard_against_cross_site_requests_and_framing(database_url: str, tmp_path: Path) -> None:
    for s in service_for(database_url, tmp_path):  # the defaults: Secure cookies
        page = s.client.get("/ui/login")
        assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
        assert "_csrf_token" in page.text
        officer = add_client(s.app.store.engine, "officer-x", "officer")
        form = {"client_id": officer["client_id"], "client_secret": officer["client_secret"]}
        assert s.client.post("/ui/login", data=form).status_code == 403  # no CSRF token
        token = page.cookies.get("csrftoken")
        assert token and "secure" in page.headers["set-cookie"].lower()  # the CSRF cookie is Secure too
        s.client.cookies.set("csrftoken", token)  # as a browser on https would send it back
        foreign = s.client.post(
            "/ui/login", data=form | {"_csrf_token": token}, headers={"Origin": "https://evil.example"},
            follow_redirects=False,
        )  # fmt: skip
        assert foreign.status_code == 403
        same_site = {"Origin": "https://testserver.local"}  # https at the browser, http here behind the proxy
        signed = s.client.post("/ui/login", data=form | {"_csrf_token": token}, headers=same_site,
                               follow_redirects=False)  # fmt: skip
        assert signed.status_code in (302, 303)
        cookie = signed.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie.replace("strict", "Strict")


# --- finding 8: sign-in ---


def test_sign_in_does_the_same_work_for_unknown_and_known_clients(service: Service) -> None:
    s = service
    known = add_client(s.app.store.engine, "timed-officer", "officer")["client_id"]

    def median_ms(client_id: str) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            with pytest.raises(Unauthenticated):  # refused either way; only the time matters here
                s.runtime.tokens.issue(client_id, "wrong secret")
            times.append(1000 * (time.perf_counter() - started))
        return statistics.median(times)

    unknown = median_ms("0" * 32)
    assert unknown > 0.5 * median_ms(known)  # was 3.6 ms against 107 ms: an oracle of client ids


def test_wrong_secrets_are_throttled_per_address(service: Service) -> None:
    s = service
    known = add_client(s.app.store.engine, "guessed", "platform")
    statuses = []
    for _ in range(7):
        form = {"grant_type": "client_credentials", "client_id": known["client_id"], "client_secret": "guess"}
        statuses.append(s.client.post("/v1/oauth/token", data=form).status_code)
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429


# --- finding 7: one tenant slowed every other (the figures are in `python -m bench fairness`) ---


def test_a_tenants_consignments_count_against_its_limit(database_url: str, tmp_path: Path) -> None:
    for s in service_for(database_url, tmp_path, consignment_rate=0.1):  # bursts of 1,000 consignments
        big = [example(reference=f"F{i}") for i in range(1000)]
        assert s.submit(big, key="f1").status_code == 201
        refused = s.submit([example(reference="F-more")], key="f2")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        other = s.submit([example(reference="G1")], who=s.beta, key="g1")
        assert other.status_code == 201  # another tenant's limit is its own


def test_bulk_filing_gives_way_to_a_short_request_in_flight_and_still_completes(service: Service) -> None:
    s = service
    priority = s.runtime.submissions.priority
    bulk = [example(reference=f"BULK-{i}") for i in range(60)]  # a body well past a short request's size
    with priority.interactive():  # another tenant's single filing, being read
        answer = s.submit(bulk, key="bulk")
    assert answer.status_code == 201 and answer.json()["accepted"] == 60
    assert priority.yielded >= 0.1  # its reading, its slices and its assessment stages waited their turn
    statuses = {status_of(s, r["registration_id"]) for r in answer.json()["results"]}
    assert "registered" not in statuses  # and it was stored and assessed in full all the same


# --- finding 13: forwarded headers from anyone ---


@pytest.mark.slow
def test_forwarded_headers_do_not_buy_a_fresh_address(tmp_path: Path) -> None:
    with serving(tmp_path / "home", {"CLEARWAY_RATE": "5"}) as server:
        statuses = []
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for n in range(30):
                answer = http.get("/v1/public/status/RR000000000CN", headers={"X-Forwarded-For": f"203.0.113.{n}"})
                statuses.append(answer.status_code)
        assert 429 in statuses  # the spoofed addresses were not believed: one bucket for this peer


def test_the_database_keeps_nothing_it_cannot_hold(service: Service) -> None:
    """A control: after all of the above kinds of input, the stores' own invariants hold."""
    s = service
    post_raw(s, b'{"reference": "\\u0000"}', key="n1")
    with s.app.store.engine.connect() as conn:
        rejected = conn.execute(sa.select(t.submissions.c.accepted, t.submissions.c.errors)).all()
    assert rejected and not rejected[-1][0] and "text.nul" in rejected[-1][1]
