"""Manifests: a carrier or post files its masters with their houses, and reports their arrival in one call;
each sees only its own manifests, and of the parcels behind them only its own filings. Officers see all."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, RawBody

from clearway.auth.clients import Principal
from clearway.model.manifest import Manifest
from clearway.services import manifests
from clearway.workers.runtime import Runtime

Document = Annotated[str, msgspec.Meta(min_length=1, max_length=35)]


class Problem(msgspec.Struct, frozen=True):
    path: str
    code: str
    message: str


class ManifestResult(msgspec.Struct, frozen=True, omit_defaults=True):
    index: int
    outcome: str  # registered, amended, unchanged, rejected
    reference: str | None = None
    manifest_id: str | None = None
    version: int | None = None
    houses: int | None = None
    errors: list[Problem] = []


class ManifestsFiled(msgspec.Struct, frozen=True):
    accepted: int
    rejected: int
    results: list[ManifestResult]


class ArrivalRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    houses: Annotated[list[Document], msgspec.Meta(min_length=1, max_length=20_000)] | None = None  # part only
    office: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}[A-Z0-9]{6}$")] | None = None


class Stayed(msgspec.Struct, frozen=True, omit_defaults=True):
    consignment_id: str
    status: str
    transport_document_id: str
    lane: str | None = None  # officers only


class ArrivalAnswer(msgspec.Struct, frozen=True):
    manifest_id: str
    state: str  # partly_arrived, arrived
    arrived_at: dt.datetime
    released: int
    released_consignments: list[str]
    released_before_arrival: int  # parcels of these houses released before they arrived: nothing to hold
    stayed: list[Stayed]
    arrived_without_data: list[str]
    not_arrived_now: list[str]  # named but arrived before


class Filed(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    submitter: str
    status: str
    lane: str | None = None  # officers only


class HouseView(msgspec.Struct, frozen=True, omit_defaults=True):
    transport_document_id: str
    document_type: str
    state: str  # expected, arrived, arrived_without_data
    consignments: list[Filed]
    receptacle: str | None = None
    arrived_at: dt.datetime | None = None


class ManifestView(msgspec.Struct, frozen=True):
    id: str
    submitter: str
    reference: str
    version: int
    state: str
    received_at: dt.datetime
    manifest: Manifest
    houses: list[HouseView]
    expected_at: dt.datetime | None = None
    arrived_at: dt.datetime | None = None


class ManifestSummary(msgspec.Struct, frozen=True):
    id: str
    submitter: str
    reference: str
    version: int
    master_type: str
    master_id: str
    state: str
    received_at: dt.datetime
    houses: dict[str, int]  # by state
    expected_at: dt.datetime | None = None
    arrived_at: dt.datetime | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ManifestController(Controller):
    path = "/v1/manifests"
    tags = ["manifests"]

    @post("", status_code=201, sync_to_thread=True,
          summary="File or amend manifests (a JSON object or array, or NDJSON): MAWB, CMR, CIM or UPU S8")  # fmt: skip
    def file(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], caller: NamedDependency[Principal],
        body: RawBody, on_behalf_of: FromQuery[str | None] = None,
    ) -> ManifestsFiled:  # fmt: skip
        """A manifest filed again under its reference amends it (houses added; houses dropped that had not
        arrived are forgotten). Each manifest is answered alone: a rejected one carries all its errors."""
        kind = request.headers.get("content-type", "application/json")
        answer = manifests.file_manifests(runtime.app, caller, body, kind, _now(), on_behalf_of=on_behalf_of)
        return msgspec.convert(answer, ManifestsFiled)

    @get("", sync_to_thread=True, summary="Your manifests, newest first (an officer's: all)")
    def list(self, runtime: NamedDependency[Runtime], caller: NamedDependency[Principal]) -> list[ManifestSummary]:
        return msgspec.convert(manifests.listed(runtime.app, caller), list[ManifestSummary])

    @get("/{manifest_id:str}", sync_to_thread=True, summary="A manifest, its houses and the parcels filed for them")
    def show(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[Principal], manifest_id: FromPath[str]
    ) -> ManifestView:
        manifests.require_reader(caller)
        return msgspec.convert(manifests.owned(runtime.app, caller, manifest_id), ManifestView, from_attributes=True)

    @post("/{manifest_id:str}/arrival", status_code=200, sync_to_thread=True,
          summary="The manifest arrived (or the houses named did): one transaction for all its parcels")  # fmt: skip
    def arrival(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[Principal], manifest_id: FromPath[str],
        data: JSONBody[ArrivalRequest],
    ) -> ArrivalAnswer:  # fmt: skip
        done = manifests.arrive(runtime.app, caller, manifest_id, data.houses, _now(), office=data.office,
                                listeners=runtime.clearance.listeners)  # fmt: skip
        return msgspec.convert(done, ArrivalAnswer)
