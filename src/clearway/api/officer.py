"""Officers' routes: the worklist, a decision with its reasons, re-routing, inspection results, release,
seizure, return to sender, and the audit log. Every action is audited (who, what, when, before, after)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from clearway.api.consignments import ArrivalReport, Note
from clearway.api.views import ActionDone, AuditEntry, WorklistItem
from clearway.auth.clients import Principal
from clearway.model.vocabulary import Channel
from clearway.pipeline.decision import Lane
from clearway.services.clearance import CaseFile, Inspection
from clearway.workers.runtime import Runtime


class Reroute(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    lane: Lane
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class FullDeclaration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=35)]  # the declaration's, e.g. its MRN
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class OfficerController(Controller):
    path = "/v1/officer"
    tags = ["officers"]

    @get("/worklist", sync_to_thread=True, summary="Consignments waiting for an officer, highest risk first")
    def worklist(
        self,
        runtime: NamedDependency[Runtime],
        officer: NamedDependency[Principal],
        lane: Annotated[Lane | None, QueryParameter()] = None,
        status: Annotated[Literal["held", "inspected", "assessment_failed"] | None, QueryParameter()] = None,
        channel: Annotated[Channel | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=2**62)] = 0,
    ) -> list[WorklistItem]:
        found = runtime.clearance.worklist(lane=lane, status=status, channel=channel, limit=limit, offset=offset)
        return msgspec.convert(found, list[WorklistItem])

    @get("/consignments/{consignment_id:str}", sync_to_thread=True, summary="Declared data, decision, reasons, events")
    def detail(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal], consignment_id: FromPath[str]
    ) -> CaseFile:
        return runtime.clearance.case_file(officer, consignment_id)

    @post("/consignments/{consignment_id:str}/reroute", status_code=200, sync_to_thread=True, summary="Change lane")
    def reroute(
        self,
        runtime: NamedDependency[Runtime],
        officer: NamedDependency[Principal],
        consignment_id: FromPath[str],
        data: JSONBody[Reroute],
    ) -> ActionDone:
        return msgspec.convert(runtime.clearance.reroute(officer, consignment_id, data.lane, data.note), ActionDone)

    @post(
        "/consignments/{consignment_id:str}/inspections",
        status_code=201,
        sync_to_thread=True,
        summary="Record an inspection (physical or non-intrusive) and what it found",
    )
    def inspect(
        self,
        runtime: NamedDependency[Runtime],
        officer: NamedDependency[Principal],
        consignment_id: FromPath[str],
        data: JSONBody[Inspection],
    ) -> ActionDone:
        return msgspec.convert(runtime.clearance.inspect(officer, consignment_id, data), ActionDone)

    @post("/consignments/{consignment_id:str}/arrival", status_code=200, sync_to_thread=True, summary="Record arrival")
    def arrival(
        self,
        runtime: NamedDependency[Runtime],
        officer: NamedDependency[Principal],
        consignment_id: FromPath[str],
        data: JSONBody[ArrivalReport],
    ) -> ActionDone:
        return msgspec.convert(runtime.clearance.arrive(officer, consignment_id, data.office), ActionDone)

    @post("/consignments/{consignment_id:str}/exit", status_code=200, sync_to_thread=True,
          summary="Record a declared return's exit: its refund is recorded")  # fmt: skip
    def exit(
        self,
        runtime: NamedDependency[Runtime],
        officer: NamedDependency[Principal],
        consignment_id: FromPath[str],
        data: JSONBody[ArrivalReport],
    ) -> ActionDone:
        return msgspec.convert(runtime.clearance.exit(officer, consignment_id, data.office), ActionDone)

    @post("/consignments/{consignment_id:str}/full-declaration", status_code=200, sync_to_thread=True,
          summary="Transfer a parcel above the low-value ceiling to the full declaration lodged for it")  # fmt: skip
    def full_declaration(
        self,
        runtime: NamedDependency[Runtime],
        officer: NamedDependency[Principal],
        consignment_id: FromPath[str],
        data: JSONBody[FullDeclaration],
    ) -> ActionDone:
        done = runtime.clearance.declare_fully(officer, consignment_id, data.reference, data.note)
        return msgspec.convert(done, ActionDone)

    @post(
        "/consignments/{consignment_id:str}/{action:str}",
        status_code=200,
        sync_to_thread=True,
        summary="release, seize, return (to sender), abandon or destroy",
    )
    def move(
        self,
        runtime: NamedDependency[Runtime],
        officer: NamedDependency[Principal],
        consignment_id: FromPath[str],
        action: FromPath[Literal["release", "seize", "return", "abandon", "destroy"]],
        data: JSONBody[Note],
    ) -> ActionDone:
        return msgspec.convert(runtime.clearance.move(officer, consignment_id, action, data.note), ActionDone)

    @get("/audit", sync_to_thread=True, summary="The audit log of officer and agency actions, newest first")
    def audit(
        self,
        runtime: NamedDependency[Runtime],
        officer: NamedDependency[Principal],
        consignment_id: Annotated[str | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> list[AuditEntry]:
        return msgspec.convert(runtime.clearance.audit(consignment_id, limit), list[AuditEntry])
