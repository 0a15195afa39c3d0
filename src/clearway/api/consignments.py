"""Submitters' routes: file consignments (1 to 1,000 a call), read them back, amend, invalidate, answer
referrals. A submitter sees its status, open referrals and amounts due, never scores, reasons or rules."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, RawBody

from clearway.api.security import RateLimiter
from clearway.api.views import (
    DmsNotification,
    ReferralAnswered,
    StatusChange,
    SubmitterCase,
    SubmitterEvent,
    submitter_events,
    submitter_view,
)
from clearway.auth.clients import Principal
from clearway.errors import InvalidInput, TooLarge
from clearway.intake import read_bytes
from clearway.intake.submitted import Submitted
from clearway.interop import dms_notifications
from clearway.interop.dms_declaration import submitted
from clearway.interop.dms_schemas import DmsSchemas
from clearway.model.vocabulary import Answerable
from clearway.store.repository import as_utc
from clearway.telemetry.traces import tracer
from clearway.workers.runtime import Runtime
from clearway.workers.submissions import SMALL, request_hash

MAX_BATCH = 1000
JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
XML_TYPES = ("application/xml", "text/xml")  # one WCO DMS 3.6 import declaration


class SubmissionResult(msgspec.Struct, frozen=True):
    index: int
    reference: str | None
    outcome: str
    registration_id: str | None
    version: int | None
    line: int | None
    errors: list[dict[str, str]]
    warnings: list[dict[str, str]]
    ics2: list[dict[str, Any]] | None = None  # for a rejection: the ICS2 error notification (IE3N99)
    dms: str | None = None  # for a WCO DMS filing: the DMS notification (accepted, or rejected with the errors)


class SubmissionAnswer(msgspec.Struct, frozen=True):
    accepted: int
    rejected: int
    results: list[SubmissionResult]


class Note(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class ArrivalReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    office: Annotated[str, msgspec.Meta(max_length=17)] | None = None  # the customs office of arrival


class ReferralAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Information requested (`rfi`) or the screening done (`screening`), in the submitter's words."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    documents: list[Annotated[str, msgspec.Meta(max_length=512)]] = []


def format_of(content_type: str) -> str:
    media = content_type.split(";")[0].strip().lower()
    if media in JSON_TYPES:
        return "json"
    if media in NDJSON_TYPES:
        return "ndjson"
    if media in XML_TYPES:
        return "wco-dms"
    raise InvalidInput(
        f"send application/json (one consignment or a list), application/x-ndjson, or application/xml (one WCO "
        f"DMS import declaration), not {media!r}"
    )


def dms_submission(runtime: Runtime, body: bytes) -> Submitted:
    folder = runtime.app.settings.dms_schemas
    if folder is None:
        raise InvalidInput("this service takes no WCO DMS declarations: its DMS schemas are not configured")
    return submitted(body, DmsSchemas.load(folder))


log = logging.getLogger("clearway.api.consignments")


class ConsignmentController(Controller):
    path = "/v1/consignments"
    tags = ["submitters"]

    @post(
        "",
        sync_to_thread=True,
        summary="File 1 to 1,000 consignments (JSON or NDJSON), or one WCO DMS declaration, under an Idempotency-Key",
        responses=None,
    )
    def submit(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        submitter: NamedDependency[Principal],
        filing_limit: NamedDependency[RateLimiter],
        body: RawBody,
        idempotency_key: Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=255)],
    ) -> Response[SubmissionAnswer]:
        """Answers once every consignment is committed: per consignment, in order, its registration id and
        outcome (registered, unchanged, amended) or its errors. The same key and body again gives the same
        answer; the same key with another body is refused."""
        fmt = format_of(request.headers.get("content-type", "application/json"))
        with (
            tracer.start_as_current_span("validate", attributes={"clearway.format": fmt}) as span,
            runtime.submissions.validating(submitter.tenant),  # one tenant's batches are read one at a time
        ):
            # a bulk body is read in steps, each giving way to short requests in flight (workers/priority.py)
            pace = runtime.submissions.priority.paced
            batch = [dms_submission(runtime, body)] if fmt == "wco-dms" else pace(read_bytes(body, fmt))
            span.set_attribute("clearway.consignments", len(batch))
        if not batch:
            raise InvalidInput("the body holds no consignment")
        if len(batch) > MAX_BATCH:
            raise TooLarge(f"{len(batch)} consignments in one call: at most {MAX_BATCH}")
        filing_limit.take(submitter.tenant, cost=len(batch))  # 429 with Retry-After past the tenant's rate
        digest = request_hash(body, fmt)
        with tracer.start_as_current_span("store", attributes={"clearway.consignments": len(batch)}):
            status, answer = runtime.submissions.submit(submitter.tenant, idempotency_key, digest, batch)
        ids = [r["registration_id"] for r in answer["results"] if r["registration_id"]]
        log.info("filed", extra={"count": len(batch), "registration_ids": ids})
        if len(batch) > SMALL:
            runtime.submissions.priority.yield_point()  # building a bulk answer waits for short requests
        return Response(msgspec.convert(answer, SubmissionAnswer), status_code=status)

    @get("/{consignment_id:str}", sync_to_thread=True, summary="One of your consignments: status, referrals, amounts")
    def read(
        self, runtime: NamedDependency[Runtime], reader: NamedDependency[Principal], consignment_id: FromPath[str]
    ) -> SubmitterCase:
        return submitter_view(runtime.clearance.case_file(reader, consignment_id))

    @get("/{consignment_id:str}/events", sync_to_thread=True, summary="The lifecycle of one of your consignments")
    def events(
        self, runtime: NamedDependency[Runtime], reader: NamedDependency[Principal], consignment_id: FromPath[str]
    ) -> list[SubmitterEvent]:
        runtime.clearance.owned(reader, consignment_id)
        return submitter_events(reader, runtime.clearance.events(consignment_id))

    @get(
        "/{consignment_id:str}/notifications",
        sync_to_thread=True,
        summary="The lifecycle of one of your consignments as WCO DMS 3.6 notifications (XML)",
    )
    def notifications(
        self, runtime: NamedDependency[Runtime], reader: NamedDependency[Principal], consignment_id: FromPath[str]
    ) -> list[DmsNotification]:
        meta = runtime.clearance.owned(reader, consignment_id)
        decision = runtime.clearance.decision(consignment_id)
        events = [e | {"at": as_utc(e["at"])} for e in runtime.app.store.events(consignment_id)]
        found = dms_notifications.for_events(
            consignment_id, meta["reference"], events, decision["assessment"] if decision else None
        )
        return msgspec.convert(found, list[DmsNotification])

    @put("/{consignment_id:str}", sync_to_thread=True, summary="Amend a consignment before release")
    def amend(
        self,
        runtime: NamedDependency[Runtime],
        submitter: NamedDependency[Principal],
        consignment_id: FromPath[str],
        body: RawBody,
    ) -> Response[SubmissionResult]:
        """The amended consignment, whole, with the same reference; it is assessed again. Refused (409)
        once the consignment is released (neither the goods nor the IOSS number change after release), and
        while it is held for a customs control (`amend.control`: an examination, or a referral other than a
        request for information, until it is done)."""
        meta = runtime.clearance.owned(submitter, consignment_id)
        batch = list(read_bytes(body, "json"))
        if len(batch) != 1:
            raise InvalidInput("amend with one consignment object")
        if batch[0].outcome.consignment is not None and batch[0].outcome.reference != meta["reference"]:
            raise InvalidInput(
                f"the reference is {batch[0].outcome.reference!r}, not {meta['reference']!r}: it cannot change"
            )
        digest = request_hash(body, "json")
        # keyed by the version it amends: the same body sent again at a later version is a new amendment
        # (A, B, then A again), while a retry of the same call at the same version gets the first answer
        key = f"PUT {consignment_id} v{meta['version']} {digest}"
        status, answer = runtime.submissions.submit(submitter.tenant, key, digest, batch)
        result = msgspec.convert(answer["results"][0], SubmissionResult)
        if any(e["code"] in ("amend.final", "amend.control") for e in result.errors):
            return Response(result, status_code=409)
        return Response(result, status_code=422 if result.errors else 200)

    @post("/{consignment_id:str}/invalidate", status_code=200, sync_to_thread=True, summary="Withdraw a consignment")
    def invalidate(
        self,
        runtime: NamedDependency[Runtime],
        submitter: NamedDependency[Principal],
        consignment_id: FromPath[str],
        data: JSONBody[Note],
    ) -> StatusChange:
        done = runtime.clearance.invalidate(submitter, consignment_id, data.note)
        return StatusChange(consignment_id, done["after"]["status"])

    @post("/{consignment_id:str}/arrival", status_code=200, sync_to_thread=True, summary="Report arrival")
    def arrival(
        self,
        runtime: NamedDependency[Runtime],
        submitter: NamedDependency[Principal],
        consignment_id: FromPath[str],
        data: JSONBody[ArrivalReport],
    ) -> StatusChange:
        """The carrier reports the parcel arrived; one waiting for arrival (duties collected on delivery) is
        then released."""
        done = runtime.clearance.arrive(submitter, consignment_id, data.office)
        return StatusChange(consignment_id, done["after"]["status"])

    @post("/{consignment_id:str}/exit", status_code=200, sync_to_thread=True,
          summary="Report a declared return's exit: its refund is recorded")  # fmt: skip
    def exit(
        self,
        runtime: NamedDependency[Runtime],
        submitter: NamedDependency[Principal],
        consignment_id: FromPath[str],
        data: JSONBody[ArrivalReport],
    ) -> StatusChange:
        """The carrier or post that carries a declared return (`returned_goods`, naming the consignment it
        sends back) reports that it left the customs territory: the duty and tax of the lines it sends back
        are refunded on the original, once (Union Customs Code art. 118(2))."""
        done = runtime.clearance.exit(submitter, consignment_id, data.office)
        return StatusChange(consignment_id, done["after"]["status"])

    @post(
        "/{consignment_id:str}/referrals/{kind:str}/answer",
        status_code=200,
        sync_to_thread=True,
        summary="Answer an open referral: information requested (rfi) or screening done (screening)",
    )
    def answer(
        self,
        runtime: NamedDependency[Runtime],
        submitter: NamedDependency[Principal],
        consignment_id: FromPath[str],
        kind: FromPath[Answerable],
        data: JSONBody[ReferralAnswer],
    ) -> ReferralAnswered:
        runtime.clearance.answer_referral(submitter, consignment_id, kind, msgspec.structs.asdict(data))
        open_kinds = [r["kind"] for r in runtime.clearance.referrals(consignment_id) if r["state"] == "open"]
        return ReferralAnswered(consignment_id, kind, open_kinds)
