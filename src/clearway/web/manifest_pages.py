"""The officers' manifest pages: the day's masters with their houses, arrival recorded by an officer (whole
or in part), manifests keyed in for a carrier, and the reconciliation of what arrived with the advance data."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from clearway.errors import ClearwayError
from clearway.services import manifests
from clearway.web.common import page, protect, read_form, same_origin
from clearway.web.session import officer_of
from clearway.workers.runtime import Runtime, utcnow


class ManifestPages(Controller):
    path = "/ui/manifests"
    include_in_schema = False
    before_request = same_origin
    after_request = protect

    @get("", sync_to_thread=True)
    def index(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], notice: FromQuery[str | None] = None
    ) -> Template:
        officer = officer_of(request, runtime)
        grace = runtime.app.settings.arrival_grace_hours
        listed = manifests.listed(runtime.app, officer)
        found = manifests.reconciliation(runtime.app, utcnow(), dt.timedelta(hours=grace))
        return page("manifests.html", officer, manifests=listed, reconciliation=found, grace_hours=grace,
                     notice=notice)  # fmt: skip

    @post("")
    async def key_in(self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]) -> Response[Any]:
        """A manifest keyed in (or pasted) by an officer for a carrier or post, filed as if it had sent it."""
        officer = officer_of(request, runtime)
        form = await read_form(request)
        text, carrier = str(form.get("manifest") or ""), str(form.get("carrier") or "").strip()
        try:
            answer = await anyio.to_thread.run_sync(lambda: manifests.file_manifests(
                runtime.app, officer, text.encode(), "application/json", utcnow(),
                on_behalf_of=carrier or None))  # fmt: skip
            result = answer["results"][0]
            if result["outcome"] == "rejected":
                notice = "not filed: " + "; ".join(f"{e['path'] or '/'}: {e['message']}" for e in result["errors"][:5])
            else:
                notice = f"manifest {result['outcome']} with {result['houses']} houses"
                return Redirect(f"/ui/manifests/{result['manifest_id']}?notice={quote(notice)}")
        except ClearwayError as exc:
            notice = f"not filed: {exc.message}"
        return Redirect(f"/ui/manifests?notice={quote(notice)}")

    @get("/{manifest_id:str}", sync_to_thread=True)
    def show(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], manifest_id: FromPath[str],
        notice: FromQuery[str | None] = None,
    ) -> Template:  # fmt: skip
        officer = officer_of(request, runtime)
        return page("manifest.html", officer, m=manifests.owned(runtime.app, officer, manifest_id), notice=notice)

    @post("/{manifest_id:str}/arrival")
    async def arrival(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], manifest_id: FromPath[str]
    ) -> Response[Any]:
        """The officer records the arrival: of the houses ticked, or of all still expected."""
        officer = officer_of(request, runtime)
        form = await read_form(request)
        houses = [str(h) for h in form.getall("house", [])] or None
        office = str(form.get("office") or "").strip().upper() or None
        try:
            done = await anyio.to_thread.run_sync(lambda: manifests.arrive(
                runtime.app, officer, manifest_id, houses, utcnow(), office=office,
                listeners=runtime.clearance.listeners))  # fmt: skip
            notice = (f"arrived: {done['released']} released, {done['released_before_arrival']} released before, "
                      f"{len(done['stayed'])} stay, {len(done['arrived_without_data'])} without data")  # fmt: skip
        except ClearwayError as exc:
            notice = f"not recorded: {exc.message}"
        return Redirect(f"/ui/manifests/{manifest_id}?notice={quote(notice)}")
