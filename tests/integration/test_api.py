"""The service API as its users call it: submitters, officers, agencies and the public, on both databases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from clearway.api import create_app
from clearway.auth.clients import add_client
from clearway.bootstrap import App, bootstrap
from clearway.settings import Settings
from clearway.store import tables as t
from clearway.workers.runtime import Runtime
from tests.conftest import example, tracked
from tests.integration.clients import bearer
from tests.integration.conftest import without_random_selection

PROBLEM = "application/problem+json"


@dataclasses.dataclass
class Service:
    app: App
    runtime: Runtime
    client: TestClient  # type: ignore[type-arg]
    alpha: dict[str, str]
    beta: dict[str, str]
    officer: dict[str, str]
    health: dict[str, str]

    def submit(self, docs: Any, who: dict[str, str] | None = None, key: str = "k1") -> Any:
        headers = (who or self.alpha) | {"Idempotency-Key": key, "Content-Type": "application/json"}
        response = self.client.post("/v1/consignments", content=json.dumps(docs), headers=headers)
        self.runtime.submissions.drain()
        return response


def service_for(database_url: str, tmp_path: Path, **changes: Any) -> Iterator[Service]:
    settings = dataclasses.replace(
        Settings.from_env({"CLEARWAY_HOME": str(tmp_path)}), database_url=database_url, **changes
    )
    app = without_random_selection(bootstrap(settings))
    runtime = Runtime.build(app)
    with TestClient(create_app(app, runtime=runtime)) as client:
        yield Service(
            app, runtime, client,
            alpha=bearer(app, "alpha-market", "platform"), beta=bearer(app, "beta-express", "carrier"),
            officer=bearer(app, "officer-jones", "officer"),
            health=bearer(app, "health-agency", "agency", agency="health"),
        )  # fmt: skip
    app.store.engine.dispose()


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path)


def medicine(reference: str) -> dict[str, Any]:
    doc = example(reference=reference)
    doc["items"][0] |= {"description": "Sildenafil tablets 100mg", "hs_code": "300490"}
    return doc


def vague(reference: str) -> dict[str, Any]:
    doc = example(reference=reference)
    doc["items"][1]["description"] = "accessories"
    return doc


def registration(answer: Any, index: int = 0) -> str:
    rid = answer.json()["results"][index]["registration_id"]
    assert rid, answer.json()
    return str(rid)


# --- authentication ---


def test_tokens_come_from_client_credentials_and_bad_ones_are_refused(service: Service) -> None:
    made = add_client(service.app.store.engine, "gamma-post", "postal")
    form = {"grant_type": "client_credentials", "client_id": made["client_id"], "client_secret": made["client_secret"]}
    issued = service.client.post("/v1/oauth/token", data=form)
    assert issued.status_code == 200 and issued.json()["token_type"] == "Bearer"
    assert "consignments:write" in issued.json()["scope"] and issued.json()["expires_in"] == 15 * 60
    wrong = service.client.post("/v1/oauth/token", data=form | {"client_secret": "guess"})
    assert wrong.status_code == 401 and wrong.headers["content-type"].startswith(PROBLEM)
    grant = service.client.post("/v1/oauth/token", data=form | {"grant_type": "password"})
    assert grant.status_code == 422 and "client_credentials" in grant.json()["detail"]
    assert service.client.get("/v1/officer/worklist").status_code == 401
    assert service.client.get("/v1/officer/worklist", headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    expired = service.runtime.tokens.issue(
        made["client_id"], made["client_secret"], now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    late = service.client.get("/v1/quality", headers={"Authorization": f"Bearer {expired['access_token']}"})
    assert late.status_code == 401 and "expired" in late.json()["detail"]


def test_roles_are_kept_apart(service: Service) -> None:
    for who in (service.alpha, service.health):
        refused = service.client.get("/v1/officer/worklist", headers=who)
        assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)
    assert service.client.get("/v1/agency/referrals", headers=service.alpha).status_code == 403
    officer_submits = service.submit(example(), service.officer)
    assert officer_submits.status_code == 403


# --- submitting ---


def test_a_batch_gets_an_answer_per_consignment_and_every_submission_is_kept(service: Service) -> None:
    broken = example(reference="BROKEN")
    broken["items"][0]["hs_code"] = "999999"
    answer = service.submit([example(reference="A1"), broken, example(reference="A2")])
    assert answer.status_code == 201
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert [r["outcome"] for r in body["results"]] == ["registered", "rejected", "registered"]
    assert body["results"][1]["registration_id"] is None
    assert body["results"][1]["errors"][0]["path"] == "/items/0/hs_code"
    with service.app.store.engine.connect() as conn:
        kept = conn.execute(sa.select(t.submissions.c.raw).where(t.submissions.c.reference == "BROKEN")).scalar_one()
    assert b"999999" in kept  # what was sent is kept, errors and all


def test_ndjson_and_limits(service: Service) -> None:
    lines = b"\n".join(msgspec.json.encode(example(reference=f"N{i}")) for i in range(3))
    headers = service.alpha | {"Idempotency-Key": "nd", "Content-Type": "application/x-ndjson"}
    ndjson = service.client.post("/v1/consignments", content=lines, headers=headers)
    assert ndjson.status_code == 201 and ndjson.json()["accepted"] == 3
    missing_key = service.client.post("/v1/consignments", content=json.dumps(example()), headers=service.alpha)
    assert missing_key.status_code == 400 and missing_key.headers["content-type"].startswith(PROBLEM)
    too_many = service.submit([example(reference=f"M{i}") for i in range(1001)], key="many")
    assert too_many.status_code == 413 and "at most 1000" in too_many.json()["detail"]
    pdf = service.client.post(
        "/v1/consignments",
        content=b"%PDF",
        headers=service.alpha | {"Idempotency-Key": "x", "Content-Type": "application/pdf"},
    )
    assert pdf.status_code == 422 and "application/json" in pdf.json()["detail"]
    garbage = service.submit("not a consignment", key="g")
    assert garbage.status_code == 200 and garbage.json()["rejected"] == 1


def test_an_idempotency_key_gives_the_same_answer_and_nothing_twice(service: Service) -> None:
    docs = [example(reference="I1"), example(reference="I2")]
    first = service.submit(docs, key="same")
    again = service.submit(docs, key="same")
    assert again.status_code == first.status_code == 201 and again.json() == first.json()
    assert service.app.store.count(t.consignments) == 2
    other = service.submit([example(reference="I3")], key="same")
    assert other.status_code == 422 and "another body" in other.json()["detail"]
    assert service.app.store.count(t.consignments) == 2
    fresh_key = service.submit(docs, key="other")  # the reference makes it idempotent too
    assert [r["outcome"] for r in fresh_key.json()["results"]] == ["unchanged", "unchanged"]


def test_a_submitter_reads_status_events_and_amounts_but_never_scores_or_reasons(service: Service) -> None:
    cid = registration(service.submit([medicine("R1")]))
    read = service.client.get(f"/v1/consignments/{cid}", headers=service.alpha)
    assert read.status_code == 200
    body = read.json()
    assert body["status"] == "held" and body["reference"] == "R1"
    assert body["assessment"]["totals"]["total"] and body["assessment"]["currency"] == "EUR"
    assert [r["kind"] for r in body["referrals"]] == ["oga"]
    events = service.client.get(f"/v1/consignments/{cid}/events", headers=service.alpha).json()
    assert [e["type"] for e in events][:2] == ["registered", "assessed"] and events[-1]["type"] == "held"
    text = read.text + json.dumps(events)
    for secret in ('"score"', '"reasons"', '"lane"', "NARC-MED", '"red"', "health"):
        assert secret not in text, secret


def test_another_tenants_consignment_is_not_found_on_every_route(service: Service) -> None:
    cid = registration(service.submit([vague("T1")]))
    routes = [
        ("GET", f"/v1/consignments/{cid}", None),
        ("GET", f"/v1/consignments/{cid}/events", None),
        ("PUT", f"/v1/consignments/{cid}", example(reference="T1")),
        ("POST", f"/v1/consignments/{cid}/invalidate", {"note": "x"}),
        ("POST", f"/v1/consignments/{cid}/referrals/rfi/answer", {"text": "a printed cotton T-shirt"}),
        ("POST", f"/v1/consignments/{cid}/arrival", {}),
        ("GET", f"/v1/ledger/consignments/{cid}/proof", None),
    ]
    for method, path, body in routes:
        theirs = service.client.request(method, path, json=body, headers=service.beta)
        assert theirs.status_code == 404, (method, path, theirs.text)
        assert theirs.headers["content-type"].startswith(PROBLEM)
    mine = service.client.get(f"/v1/consignments/{cid}", headers=service.alpha)
    assert mine.status_code == 200
    assert service.client.get(f"/v1/agency/consignments/{cid}", headers=service.health).status_code == 404
    assert service.client.delete("/v1/webhooks/nope", headers=service.beta).status_code == 404


def test_amend_before_release_is_assessed_again_and_refused_after(service: Service) -> None:
    cid = registration(service.submit([vague("AM1")]))
    assert service.client.get(f"/v1/consignments/{cid}", headers=service.alpha).json()["status"] == "held"
    fixed = example(reference="AM1")
    amended = service.client.put(f"/v1/consignments/{cid}", json=fixed, headers=service.alpha)
    service.runtime.submissions.drain()
    assert amended.status_code == 200 and amended.json()["outcome"] == "amended"
    now = service.client.get(f"/v1/consignments/{cid}", headers=service.alpha).json()
    assert now["version"] == 2 and now["status"] == "assessed"  # dutiable by post: released on arrival
    service.client.post(f"/v1/officer/consignments/{cid}/arrival", json={}, headers=service.officer)
    other_ioss = example(reference="AM1", fiscal={"scheme": "ioss", "id": "IM2760000023"})
    late = service.client.put(f"/v1/consignments/{cid}", json=other_ioss, headers=service.alpha)
    assert late.status_code == 409 and late.json()["errors"][0]["code"] == "amend.final"
    renamed = service.client.put(f"/v1/consignments/{cid}", json=example(reference="OTHER"), headers=service.alpha)
    assert renamed.status_code == 422


def test_referrals_are_answered_by_the_submitter_and_decided_by_the_agency(service: Service) -> None:
    rfi = registration(service.submit([vague("RF1")]))
    answer = {"text": "item 2 is a silicone phone case", "documents": ["invoice-991.pdf"]}
    done = service.client.post(f"/v1/consignments/{rfi}/referrals/rfi/answer", json=answer, headers=service.alpha)
    assert done.status_code == 200 and done.json()["open_referrals"] == []
    again = service.client.post(f"/v1/consignments/{rfi}/referrals/rfi/answer", json=answer, headers=service.alpha)
    assert again.status_code == 409
    med = registration(service.submit([medicine("RF2")], key="k2"))
    police = bearer(service.app, "police-unit", "agency", agency="police")
    assert service.client.get("/v1/agency/referrals", headers=police).json() == []
    mine = service.client.get("/v1/agency/referrals", headers=service.health).json()
    assert [(r["consignment_id"], r["kind"], r["state"]) for r in mine] == [(med, "oga", "open")]
    goods = service.client.get(f"/v1/agency/consignments/{med}", headers=service.health).json()
    assert goods["items"][0]["hs_code"] == "300490" and "consignee" not in goods
    decided = service.client.post(
        f"/v1/agency/referrals/{mine[0]['id']}/decision", json={"decision": "refused", "note": "no licence"},
        headers=service.health,
    )  # fmt: skip
    assert decided.status_code == 200
    assert (
        service.client.post(
            f"/v1/agency/referrals/{mine[0]['id']}/decision", json={"decision": "cleared"}, headers=police
        ).status_code
        == 404
    )
    audit = service.client.get("/v1/officer/audit", params={"consignment_id": med}, headers=service.officer).json()
    assert audit[0]["actor"] == "health-agency" and audit[0]["action"] == "referral_closed"


def test_an_officer_works_a_held_parcel_and_every_step_is_audited(service: Service) -> None:
    cid = registration(service.submit([medicine("OF1"), example(reference="OF2")]))
    worklist = service.client.get("/v1/officer/worklist", headers=service.officer).json()
    assert [w["id"] for w in worklist] == [cid] and worklist[0]["age_seconds"] >= 0
    assert service.client.get("/v1/officer/worklist", params={"lane": "green"}, headers=service.officer).json() == []
    detail = service.client.get(f"/v1/officer/consignments/{cid}", headers=service.officer).json()
    assert detail["decision"]["lane"] == "red" and detail["decision"]["reasons"][0]["code"] == "NARC-MED"
    assert detail["consignment"]["consignee"]["name"] == "Anna Schmidt"
    o = service.officer
    path = f"/v1/officer/consignments/{cid}"
    premature = service.client.post(f"{path}/seize", json={"note": "x"}, headers=o)
    assert premature.status_code == 200  # held parcels may be seized at once
    cid = registration(service.submit([medicine("OF3") | {"transport_document": tracked("OF3")}], key="k3"))
    path = f"/v1/officer/consignments/{cid}"
    assert service.client.post(f"{path}/reroute", json={"lane": "yellow", "note": "documents first"},
                               headers=o).status_code == 200  # fmt: skip
    bad = service.client.post(
        f"{path}/inspections", json={"method": "non_intrusive", "outcome": "compliant"}, headers=o
    )
    assert bad.status_code == 422 and "scan reference" in bad.json()["detail"]
    inspected = service.client.post(
        f"{path}/inspections",
        json={"method": "physical", "outcome": "infringement",
              "findings": [{"kind": "undervaluation", "corrected_value": "48.00"}]},
        headers=o,
    )  # fmt: skip
    assert inspected.status_code == 201 and inspected.json()["after"]["status"] == "inspected"
    released = service.client.post(f"{path}/release", json={"note": "duty corrected"}, headers=o)
    assert released.status_code == 200 and released.json()["after"]["status"] == "released"
    twice = service.client.post(f"{path}/seize", json={"note": "x"}, headers=o)
    assert twice.status_code == 409 and "released" in twice.json()["detail"]
    audit = service.client.get("/v1/officer/audit", params={"consignment_id": cid}, headers=o).json()
    assert [a["action"] for a in reversed(audit)] == ["rerouted", "inspected", "reassessed", "released"]
    assert all(a["actor"] == "officer-jones" for a in audit)
    assert audit[-1]["before"] == {"status": "held", "lane": "red"} and audit[-1]["after"]["lane"] == "yellow"
    assert audit[0]["before"]["status"] == "inspected" and audit[0]["after"]["status"] == "released"
    with service.app.store.engine.connect() as conn:
        finding = conn.execute(sa.select(t.inspections.c.findings).where(t.inspections.c.consignment_id == cid))
        assert json.loads(finding.scalar_one())[0]["kind"] == "undervaluation"


def test_the_public_estimates_and_sees_status_without_personal_data(service: Service) -> None:
    service.submit([example(reference="P1")])
    estimate = service.client.post(
        "/v1/public/estimate",
        json={"dispatch_country": "CN", "destination_country": "DE", "currency": "EUR", "on": "2026-11-28",
              "items": [{"hs_code": "610910", "unit_price": "40.00", "quantity": 2}], "shipping_cost": "5.00"},
    )  # fmt: skip
    assert estimate.status_code == 200, estimate.text
    totals = estimate.json()["totals"]
    assert totals["vat"] and float(totals["total"]) > 0 and estimate.json()["currency"] == "EUR"
    bad = service.client.post("/v1/public/estimate", json={"destination_country": "DE"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(PROBLEM)
    status = service.client.get("/v1/public/status/rr123456785cn")
    assert status.status_code == 200 and status.json()["status"] in ("released", "held", "assessed")
    for personal in ("Anna", "Schmidt", "Köln", "Hauptstr", "50667", "Shenzhen", "P1"):
        assert personal not in status.text
    assert service.client.get("/v1/public/status/XX000000000XX").status_code == 404


def test_data_quality_feedback_per_submitter(service: Service) -> None:
    broken = example(reference="Q2")
    broken["currency"] = "EURO"
    late = example(reference="Q3", arrival={"expected_at": "2020-01-01T00:00:00Z"})
    early = example(reference="Q4", arrival={"expected_at": "2099-01-01T00:00:00Z"})
    service.submit([vague("Q1"), broken, late, early])
    service.submit([example(reference="B1")], service.beta)
    mine = service.client.get("/v1/quality", headers=service.alpha).json()
    assert [m["submitter"] for m in mine] == ["alpha-market"]
    q = mine[0]
    assert (q["submitted"], q["rejected"], q["rejection_rate"]) == (4, 1, 0.25)
    assert q["errors"] == {"schema.pattern": 1} and q["error_rates"] == {"schema.pattern": 0.25}  # "EURO"
    assert q["vague_descriptions"] == 1
    assert q["timeliness"]["with_expected_arrival"] == 2 and q["timeliness"]["received_before_arrival"] == 0.5
    everyone = service.client.get("/v1/quality", headers=service.officer).json()
    assert [m["submitter"] for m in everyone] == ["alpha-market", "beta-express"]
    assert service.client.get("/v1/quality", headers=service.health).status_code == 403


def test_rate_and_body_limits(database_url: str, tmp_path: Path) -> None:
    for service in service_for(database_url, tmp_path, rate_per_second=1.0, max_body_bytes=20_000):
        codes = [service.client.get("/v1/quality", headers=service.alpha).status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and codes[-1] == 429
        limited = service.client.get("/v1/quality", headers=service.alpha)
        assert int(limited.headers["Retry-After"]) >= 1 and limited.headers["content-type"].startswith(PROBLEM)
        big = service.client.post(
            "/v1/consignments", content=b"[" + b" " * 30_000 + b"]",
            headers=service.beta | {"Idempotency-Key": "big", "Content-Type": "application/json"},
        )  # fmt: skip
        assert big.status_code == 413


def test_the_openapi_document_is_committed_and_current(service: Service) -> None:
    served = service.client.get("/schema/openapi.json").json()
    committed = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert served["openapi"].startswith("3.1")
    assert served == committed, "docs/openapi.json is stale: run `clearway openapi > docs/openapi.json`"
    assert all(path.startswith("/v1/") or path in ("/healthz", "/readyz") for path in served["paths"])


def without_ioss(reference: str, **changes: Any) -> dict[str, Any]:
    doc = example(reference=reference, **changes)
    del doc["fiscal"]
    return doc


def test_release_follows_the_channel_policy_and_arrival(service: Service) -> None:
    answer = service.submit([without_ioss("AR1"), without_ioss("AR2", channel="express")])
    post, express = registration(answer, 0), registration(answer, 1)
    read = service.client.get(f"/v1/consignments/{post}", headers=service.alpha).json()
    assert read["status"] == "assessed" and float(read["assessment"]["totals"]["total"]) > 0  # dutiable, by post
    events = service.client.get(f"/v1/consignments/{post}/events", headers=service.alpha).json()
    assert events[-1]["type"] == "awaiting_arrival"
    assert service.client.get(f"/v1/consignments/{express}", headers=service.alpha).json()["status"] == "released"
    assert service.client.post(f"/v1/consignments/{post}/arrival", json={}, headers=service.beta).status_code == 404
    # issue 17, finding 6: the platform that filed it may not declare its own parcel arrived (it would release it)
    own = service.client.post(f"/v1/consignments/{post}/arrival", json={}, headers=service.alpha)
    assert own.status_code == 403 and "carrier or post" in own.json()["detail"]
    assert service.client.get(f"/v1/consignments/{post}", headers=service.alpha).json()["status"] == "assessed"
    # the express carrier that carries it files the same transport document, and reports the arrival
    carried = without_ioss("BX-AR1")
    service.submit([carried], who=service.beta, key="beta-1")
    arrived = service.client.post(f"/v1/consignments/{post}/arrival", json={"office": "DE004700"}, headers=service.beta)
    assert arrived.status_code == 200 and arrived.json()["status"] == "released"
    kinds = [e["type"] for e in service.client.get(f"/v1/consignments/{post}/events", headers=service.alpha).json()]
    assert kinds[-1] == "arrived"
    again = service.client.post(f"/v1/officer/consignments/{post}/arrival", json={}, headers=service.officer)
    assert again.status_code == 409  # a released parcel has arrived already


def test_a_referral_left_unanswered_times_out_and_the_parcel_stays_held(service: Service) -> None:
    cid = registration(service.submit([vague("TO1")]))
    clearance = service.runtime.clearance
    assert clearance.expire_referrals() == 0
    clearance.now = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=73)
    assert clearance.expire_referrals() == 1
    referrals = service.client.get(f"/v1/consignments/{cid}", headers=service.alpha).json()["referrals"]
    assert [(r["kind"], r["state"]) for r in referrals] == [("rfi", "timed_out")]
    late = service.client.post(f"/v1/consignments/{cid}/referrals/rfi/answer", json={"text": "too late"},
                               headers=service.alpha)  # fmt: skip
    assert late.status_code == 409
    status = service.client.get(f"/v1/consignments/{cid}", headers=service.alpha).json()["status"]
    assert status == "held" and clearance.expire_referrals() == 0


TYPED_ANSWERS = {
    ("/v1/consignments/{consignment_id}", "get"): "SubmitterCase",
    ("/v1/consignments/{consignment_id}/invalidate", "post"): "StatusChange",
    ("/v1/consignments/{consignment_id}/arrival", "post"): "StatusChange",
    ("/v1/consignments/{consignment_id}/referrals/{kind}/answer", "post"): "ReferralAnswered",
    ("/v1/public/status/{tracking}", "get"): "PublicStatus",
    ("/v1/officer/consignments/{consignment_id}", "get"): "CaseFile",
    ("/v1/officer/consignments/{consignment_id}/reroute", "post"): "ActionDone",
    ("/v1/officer/consignments/{consignment_id}/inspections", "post"): "ActionDone",
    ("/v1/officer/consignments/{consignment_id}/arrival", "post"): "ActionDone",
    ("/v1/officer/consignments/{consignment_id}/{action}", "post"): "ActionDone",
    ("/v1/webhooks", "post"): "WebhookCreated",
    ("/healthz", "get"): "Alive",
    ("/readyz", "get"): "Readiness",
    ("/v1/agency/consignments/{consignment_id}", "get"): "ReferredGoods",
    ("/v1/agency/referrals/{referral_id}/decision", "post"): "ActionDone",
    ("/v1/ledger/consistency", "get"): "ConsistencyProof",
    ("/v1/ledger/consignments/{consignment_id}/proof", "get"): "LedgerProofs",
    ("/v1/public/estimate", "post"): "Assessment",
}
"""Issue 18, point 3: what a submitter's integrator, the public and an officer read (the one case file the
submitter's view is also built from), each a schema with its fields."""


def test_what_submitters_officers_and_the_public_read_is_a_documented_schema(service: Service) -> None:
    document = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    for (path, method), name in TYPED_ANSWERS.items():
        answer = document["paths"][path][method]["responses"]
        success = next(r for code, r in answer.items() if code.startswith("2"))
        assert success["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{name}"}, path
        assert schemas[name]["properties"] and schemas[name]["required"], name
    lists = (
        ("/v1/officer/worklist", "WorklistItem"),
        ("/v1/officer/audit", "AuditEntry"),
        ("/v1/webhooks", "Webhook"),
        ("/v1/agency/referrals", "AgencyReferral"),
        ("/v1/consignments/{consignment_id}/events", "SubmitterEvent"),
        ("/v1/consignments/{consignment_id}/notifications", "DmsNotification"),
        ("/v1/quality", "QualityFigures"),
    )
    for path, name in lists:
        listed = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert listed == {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}, path
    nested = schemas["CaseFile"]["properties"]
    for field, record in (
        ("decision", "DecisionRecord"),
        ("referrals", "ReferralRecord"),
        ("inspections", "InspectionRecord"),
    ):
        assert f"#/components/schemas/{record}" in json.dumps(nested[field]), field  # records, not bare objects
    case = schemas["SubmitterCase"]["properties"]
    assert not {"lane", "score", "reasons"} & set(case), "a submitter never reads lanes, scores or reasons"
    cid = registration(service.submit([example(reference="TYPED-1")], who=service.beta, key="typed"))
    read = service.client.get(f"/v1/consignments/{cid}", headers=service.beta).json()
    assert set(read) == set(case)  # the answer holds exactly the documented fields
    whole = service.client.get(f"/v1/officer/consignments/{cid}", headers=service.officer).json()
    assert set(whole) == set(schemas["CaseFile"]["properties"]) and whole["meta"]["id"] == read["registration_id"]
    events = service.client.get(f"/v1/consignments/{cid}/events", headers=service.beta).json()
    assert [e["type"] for e in whole["events"]] == [e["type"] for e in events]  # one lifecycle, two audiences
    assert any("lane" in e["data"] for e in whole["events"]) and not any("lane" in e for e in events)
    status = service.client.get("/v1/public/status/RR123456785CN").json()
    assert set(status) == set(schemas["PublicStatus"]["properties"])
    assert {k for e in events for k in e} <= set(schemas["SubmitterEvent"]["properties"])
    quality = service.client.get("/v1/quality", headers=service.beta).json()
    assert [set(q) for q in quality] == [set(schemas["QualityFigures"]["properties"])]
    proofs = service.client.get(f"/v1/ledger/consignments/{cid}/proof", headers=service.beta).json()
    assert set(proofs) <= set(schemas["LedgerProofs"]["properties"]) and "seal_salt" not in proofs


def test_every_json_answer_is_a_named_schema() -> None:
    """No route answers a bare object (issue 18, point 3): each 2xx JSON answer in the OpenAPI document is a
    named schema or a list of one, so an integrator sees every field it will read."""
    document = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text(encoding="utf-8"))
    bare = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation.get("responses", {}).items():
                json_answer = (answer.get("content") or {}).get("application/json")
                if not code.startswith("2") or json_answer is None:
                    continue
                schema = json_answer["schema"]
                if "$ref" not in schema and "$ref" not in schema.get("items", {}):
                    bare.append(f"{method.upper()} {path}")
    assert bare == []
