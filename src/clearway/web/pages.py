"""The officers' pages: worklist, consignment, inspection, profiles with dry-run, selectivity, dashboard,
audit. Every action goes through the same clearance and config services as the API (and is audited)."""

from __future__ import annotations

import contextlib
import datetime as dt
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from clearway.errors import ClearwayError, RateLimited, RuleFileError, Unauthenticated
from clearway.ledger import NoteVerifier
from clearway.ledger.bundle import ProofFailed, check_bundle
from clearway.model.vocabulary import FINDING_KINDS, LANES
from clearway.report import charts
from clearway.services import accounts, config, cooperation, manifests
from clearway.services.clearance import Inspection, InspectionFinding
from clearway.services.dryrun import dry_run
from clearway.services.history import gatherer
from clearway.services.limits import SignInThrottle, sign_in
from clearway.store.dashboard import dashboard_data
from clearway.web.common import page, protect, read_form, same_origin
from clearway.web.session import COOKIE, NotAnOfficer, SignInNeeded, officer_of
from clearway.workers.runtime import Runtime, utcnow

HERE = Path(__file__).parent
FINDINGS = FINDING_KINDS
PARTY_ROLES = ("seller", "consignor", "consignee", "delivery_address")


def web_config() -> dict[str, Any]:
    """What the Litestar app needs for the pages: templates, static files, exception handlers."""
    return {
        "template_config": TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine),
        "static": create_static_files_router(path="/ui/static", directories=[HERE / "static"], include_in_schema=False),
        "exception_handlers": {SignInNeeded: _to_sign_in, NotAnOfficer: _refused},
    }


def _to_sign_in(request: Request[Any, Any, Any], exc: SignInNeeded) -> Response[Any]:
    return Redirect(f"/ui/login?next={request.url.path}")


def _refused(_: Request[Any, Any, Any], exc: NotAnOfficer) -> Response[Any]:
    return Template("refused.html", context={"message": exc.message, "user": None}, status_code=403)


class OfficerPages(Controller):
    path = "/ui"
    include_in_schema = False
    before_request = same_origin
    after_request = protect

    # --- sign-in ---

    @get("/login", sync_to_thread=False)
    def login_form(self, next: FromQuery[str] = "/ui/") -> Template:
        return page("login.html", None, next=next if next.startswith("/ui") else "/ui/", error=None)

    @post("/login")
    async def login(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        throttle: NamedDependency[SignInThrottle],
    ) -> Response[Any]:
        form = await read_form(request)
        target = str(form.get("next") or "/ui/")
        client_id, secret = str(form.get("client_id", ""))[:64], str(form.get("client_secret", ""))[:256]
        try:
            address = request.client.host if request.client else "-"
            issued = await anyio.to_thread.run_sync(sign_in, runtime.tokens, throttle, client_id, secret, address)
        except (Unauthenticated, RateLimited) as exc:
            status = 429 if isinstance(exc, RateLimited) else 401
            return Template("login.html", context={"user": None, "next": target, "error": exc.message},
                            status_code=status)  # fmt: skip
        response: Response[Any] = Redirect(target if target.startswith("/ui") else "/ui/")
        response.set_cookie(COOKIE, issued["access_token"], httponly=True, samesite="strict", path="/ui",
                            max_age=issued["expires_in"], secure=runtime.app.settings.cookie_secure)  # fmt: skip
        return response

    @post("/logout", sync_to_thread=True)
    def logout(self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]) -> Response[Any]:
        """Ends the session on the server too: the token of the cookie is refused from now on."""
        token = request.cookies.get(COOKIE)
        if token:
            with contextlib.suppress(Unauthenticated):  # an expired or broken token needs no revoking
                runtime.tokens.revoke(token)
        response: Response[Any] = Redirect("/ui/login")
        response.delete_cookie(COOKIE, path="/ui")
        return response

    # --- worklist ---

    @get("/", sync_to_thread=True)
    def worklist(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        lane: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        channel: FromQuery[str | None] = None,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        officer = officer_of(request, runtime)
        items = runtime.clearance.worklist(lane=lane or None, status=status or None, channel=channel or None, limit=500)
        hours = runtime.app.policy.service_hours
        for item in items:
            limit = hours.get(item["lane"] or "red", 8.0) * 3600
            item["overdue"] = item["age_seconds"] > limit
            item["sla_share"] = min(100, round(100 * item["age_seconds"] / limit))
        counts = Counter(i["lane"] for i in runtime.clearance.worklist(limit=10_000))
        grace = runtime.app.settings.arrival_grace_hours
        found = manifests.reconciliation(runtime.app, utcnow(), dt.timedelta(hours=grace))
        return page("worklist.html", officer, items=items, counts=counts, lane=lane, status=status, channel=channel,
                     notice=notice, hours=hours, reconciliation=found, grace_hours=grace)  # fmt: skip

    @post("/reroute")
    async def bulk_reroute(self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]) -> Response[Any]:
        officer = officer_of(request, runtime)
        form = await read_form(request)
        ids, lane, note = form.getall("id", []), str(form.get("lane", "")), str(form.get("note") or "bulk re-route")
        done, failed = 0, []
        for cid in ids:
            try:
                await anyio.to_thread.run_sync(runtime.clearance.reroute, officer, cid, lane, note)
                done += 1
            except ClearwayError as exc:
                failed.append(exc.message)
        notice = f"{done} re-routed to {lane}" + (f"; {len(failed)} refused: {failed[0]}" if failed else "")
        return Redirect(f"/ui/?notice={notice}")

    # --- one consignment ---

    @get("/consignments/{consignment_id:str}", sync_to_thread=True)
    def consignment(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        consignment_id: FromPath[str],
        notice: FromQuery[str | None] = None,
    ) -> Template:
        officer = officer_of(request, runtime)
        case = runtime.clearance.case_file(officer, consignment_id)
        decision = case.decision
        profiles = runtime.app.profiles.by_id()
        hits = []
        for reason in decision.reasons if decision else []:
            profile = profiles.get(reason["code"])
            hits.append(reason | {"documentation": profile.documentation if profile else None,
                                  "basis": profile.basis if profile else None,
                                  "title": profile.title if profile else None})  # fmt: skip
        return page(
            "consignment.html", officer, meta=case.meta, c=msgspec.to_builtins(case.consignment), decision=decision,
            hits=hits, referrals=case.referrals, inspections=case.inspections, events=case.events,
            proof=_proof(runtime, consignment_id), findings=FINDINGS, notice=notice, failure=case.assessment_failure,
            partners=cooperation.partner_names(runtime.app), parties=PARTY_ROLES, manifests=case.manifests,
            dossier=case.dossier, shared=cooperation.alerts_from(runtime.app, consignment_id),
            payables=accounts.payables_for(runtime.app, officer, consignment_id=consignment_id),
            appeals=[a for a in accounts.appeals(runtime.app, officer) if a["consignment_id"] == consignment_id],
        )  # fmt: skip

    @post("/consignments/{consignment_id:str}/alert")
    async def alert(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], consignment_id: FromPath[str]
    ) -> Response[Any]:
        """Share what was found with partner administrations: a risk alert, audited under the officer."""
        officer = officer_of(request, runtime)
        form = await read_form(request)
        days = str(form.get("days") or "90")
        request_ = cooperation.AlertRequest(
            partners=[str(p) for p in form.getall("partner", [])], consignment_id=consignment_id,
            kind=str(form.get("kind") or "") or None,  # type: ignore[arg-type]
            days=int(days) if days.isdecimal() and len(days) < 4 else 0,
            keywords=[w for w in str(form.get("keywords") or "").replace(",", " ").split() if w],
            parties=[p for p in form.getall("party", []) if p in PARTY_ROLES],
            names_basis=str(form.get("names_basis") or "").strip() or None,
            note=str(form.get("note") or "").strip() or None,
        )  # fmt: skip
        try:
            issued = await anyio.to_thread.run_sync(
                cooperation.issue_alert, runtime.app, request_, cooperation.Actor(officer.name, officer.role), utcnow()
            )
            notice = f"risk alert {issued[0]['alert']} issued to {', '.join(i['partner'] for i in issued)}"
        except ClearwayError as exc:
            notice = f"not issued: {exc.message}"
        return Redirect(f"/ui/consignments/{consignment_id}?notice={notice}")

    @post("/consignments/{consignment_id:str}/inspection")
    async def inspection(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], consignment_id: FromPath[str]
    ) -> Response[Any]:
        officer = officer_of(request, runtime)
        form = await read_form(request)
        kinds = [k for k in form.getall("finding", []) if k in FINDINGS]
        text = {name: str(form.get(name) or "").strip() for name in
                ("note", "corrected_value", "corrected_hs_code", "quantity_seized", "same_order")}  # fmt: skip
        seized = (
            int(text["quantity_seized"])
            if text["quantity_seized"].isdecimal() and len(text["quantity_seized"]) < 10
            else None
        )
        findings = [
            InspectionFinding(
                kind=kind,
                note=text["note"] or None,
                corrected_value=(text["corrected_value"] or None) if kind == "undervaluation" else None,
                corrected_hs_code=(text["corrected_hs_code"] or None) if kind == "wrong_hs_code" else None,
                quantity_seized=seized,
                same_order=text["same_order"].replace(",", " ").split() if kind == "split_consignment" else [],
            )
            for kind in kinds
        ]
        try:
            result = Inspection(
                method=str(form.get("method")),  # type: ignore[arg-type]
                outcome=str(form.get("outcome")),  # type: ignore[arg-type]
                findings=findings,
                scan_reference=str(form.get("scan_reference") or "") or None,
            )
            result = msgspec.convert(msgspec.to_builtins(result), Inspection)
            await anyio.to_thread.run_sync(runtime.clearance.inspect, officer, consignment_id, result)
            notice = "inspection recorded"
        except (ClearwayError, msgspec.ValidationError) as exc:
            notice = f"not recorded: {getattr(exc, 'message', exc)}"
        return Redirect(f"/ui/consignments/{consignment_id}?notice={notice}")

    @post("/consignments/{consignment_id:str}/{action:str}")
    async def act(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        consignment_id: FromPath[str],
        action: FromPath[str],
    ) -> Response[Any]:
        officer = officer_of(request, runtime)
        form = await read_form(request)
        note = str(form.get("note") or "")
        try:
            if action == "reroute":
                await anyio.to_thread.run_sync(
                    runtime.clearance.reroute, officer, consignment_id, str(form.get("lane")), note or "re-routed"
                )
            elif action == "full-declaration":
                await anyio.to_thread.run_sync(
                    runtime.clearance.declare_fully, officer, consignment_id, str(form.get("declaration") or ""), note
                )
                return Redirect(f"/ui/consignments/{consignment_id}?notice=transferred to its full declaration")
            elif action in ("release", "seize", "return", "abandon", "destroy"):
                await anyio.to_thread.run_sync(runtime.clearance.move, officer, consignment_id, action, note)
            else:
                return Redirect(f"/ui/consignments/{consignment_id}?notice=unknown action {action}")
            notice = {"release": "released", "seize": "seized", "return": "returned to sender", "abandon": "abandoned",
                      "destroy": "destroyed"}.get(action, "re-routed")  # fmt: skip
        except ClearwayError as exc:
            notice = f"refused: {exc.message}"
        return Redirect(f"/ui/consignments/{consignment_id}?notice={notice}")

    # --- profiles and selectivity ---

    @get("/profiles", sync_to_thread=True)
    def profiles(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], notice: FromQuery[str | None] = None
    ) -> Template:
        officer = officer_of(request, runtime)
        document = config.current(runtime.app, "profiles")
        return page("profiles.html", officer, document=document, notice=notice, profiles=runtime.app.profiles.profiles,
                     measured=_measured(runtime))  # fmt: skip

    @post("/profiles/check")
    async def check_profiles(self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]) -> Template:
        """Validate (and, with `days`, dry-run) the edited profiles; answers an htmx fragment."""
        officer_of(request, runtime)  # officers only
        form = await read_form(request)
        text, days_text = str(form.get("text", "")), str(form.get("days") or "0").strip()
        without = str(form.get("without") or "").strip()
        if not days_text.isdecimal() or len(days_text) > 4:
            error = f"days {days_text[:20]!r} is not a whole number of days (0 to 365)"
            return Template("fragments/check.html", context={"ok": False, "error": error, "run": None},
                            status_code=400)  # fmt: skip
        days = int(days_text)
        try:
            profiles = config.compile_profiles(config.without_profile(text, without) if without else text)
        except RuleFileError as exc:
            return Template("fragments/check.html", context={"ok": False, "error": exc.message, "run": None})
        run = None
        if days > 0:
            run = await anyio.to_thread.run_sync(
                lambda: dry_run(runtime.app, profiles, days=min(days, 365), now=utcnow())
            )
        return Template("fragments/check.html", context={"ok": True, "count": len(profiles.profiles), "run": run,
                                                         "lanes": LANES, "without": without})  # fmt: skip

    @post("/profiles/activate")
    async def activate_profiles(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[Any]:
        return await _activate(request, runtime, "profiles")

    @get("/selectivity", sync_to_thread=True)
    def selectivity(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], notice: FromQuery[str | None] = None
    ) -> Template:
        officer = officer_of(request, runtime)
        document = config.current(runtime.app, "selectivity")
        return page("selectivity.html", officer, document=document, notice=notice, settings=runtime.app.selectivity)

    @post("/selectivity/activate")
    async def activate_selectivity(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[Any]:
        return await _activate(request, runtime, "selectivity")

    # --- dashboard and audit ---

    @get("/dashboard", sync_to_thread=True)
    def dashboard(self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]) -> Template:
        officer = officer_of(request, runtime)
        return page("dashboard.html", officer, **_dashboard(runtime))

    @get("/audit", sync_to_thread=True)
    def audit(self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]) -> Template:
        officer = officer_of(request, runtime)
        return page("audit.html", officer, entries=runtime.clearance.audit(limit=500))


async def _activate(request: Request[Any, Any, Any], runtime: Runtime, kind: config.Kind) -> Response[Any]:
    officer = officer_of(request, runtime)
    form = await read_form(request)
    try:
        document = await anyio.to_thread.run_sync(
            lambda: config.activate(runtime.app, officer, kind, str(form.get("text", "")), now=utcnow())
        )
        notice = f"{document.source} is in force"
    except RuleFileError as exc:
        notice = f"not activated: {exc.message}"
    return Redirect(f"/ui/{kind}?notice={notice}")


def _proof(runtime: Runtime, consignment_id: str) -> dict[str, Any]:
    """The consignment's ledger entries, checked here against the latest signed checkpoint."""
    ledger = runtime.app.ledger
    try:
        bundle = ledger.proofs(consignment_id, customs=True)
    except ClearwayError as exc:
        return {"state": "none", "message": exc.message, "entries": []}
    if not bundle["checkpoint"]:
        return {"state": "pending", "message": "not yet in a signed checkpoint", "entries": bundle["entries"]}
    try:
        verifier = NoteVerifier.parse(ledger.key.verifier.encode())
        verified = check_bundle(bundle, bundle["checkpoint"], verifier)
    except ProofFailed as exc:
        return {"state": "failed", "message": exc.message, "entries": bundle["entries"]}
    covered = sum(1 for e in bundle["entries"] if e["proof"] is not None)
    return {"state": "verified", "entries": bundle["entries"], "size": bundle["tree_size"],
            "message": f"{len(verified)} of {len(bundle['entries'])} events proven in the checkpoint of size "
                       f"{bundle['tree_size']} ({covered} covered)"}  # fmt: skip


def _measured(runtime: Runtime) -> list[dict[str, Any]]:
    """Each profile in force with its measured record (the hit rates selectivity weighs), and whether it is
    under review: inspected enough, and finding less than the floor."""
    rates = gatherer(runtime.app).compute_hit_rates(utcnow())  # fresh: the page is read rarely
    record = {code: (inspected, found) for code, inspected, found in rates.select("code", "inspected", "found").rows()}
    review = runtime.app.selectivity
    floor, least = (review.review_floor, review.review_minimum) if review else (0.0, 1)
    rows = []
    for profile in runtime.app.profiles.profiles:
        inspected, found = record.get(profile.id, (0, 0))
        rate = found / inspected if inspected else None
        rows.append({"id": profile.id, "domain": profile.domain, "prior": profile.weight / 100, "inspected": inspected,
                     "found": found, "rate": rate,
                     "review": rate is not None and inspected >= least and rate < floor})  # fmt: skip
    return rows


def _dashboard(runtime: Runtime) -> dict[str, Any]:
    data = dashboard_data(runtime.app.store.engine)
    channels, statuses, lanes, reasons = data.channels, data.statuses, data.lanes, data.reasons
    by_day = Counter((channel, at.date().isoformat()) for at, channel in data.received)
    days = sorted({day for _, day in by_day})[-14:]
    per_day = {ch: [by_day[(ch, day)] for day in days] for ch in sorted(channels)}
    hits: Counter[str] = Counter()
    for text in reasons:
        hits.update({r["code"] for r in msgspec.json.decode(text)})
    decided = max(1, len(reasons))
    top = hits.most_common(15)
    minutes = [(b - a).total_seconds() / 60 for a, b in data.released]
    shown = [ln for ln in LANES if ln in lanes]
    figures = {
        "consignments": sum(channels.values()), "held": statuses.get("held", 0) + statuses.get("inspected", 0),
        "released": statuses.get("released", 0), "seized": statuses.get("seized", 0),
        "over_capacity": hits.get("MANDATORY-OVER-CAPACITY", 0),
        "release_p50": statistics.median(minutes) if minutes else None,
        "release_p90": sorted(minutes)[int(0.9 * (len(minutes) - 1))] if minutes else None,
    }  # fmt: skip
    return {
        "figures": figures, "statuses": statuses,
        "volume_chart": charts.stacked("Consignments by day and channel", days, per_day) if days else None,
        "lane_chart": charts.bar("Lanes", shown, [lanes[ln] for ln in shown]),
        "hit_chart": charts.bar("Hit rate per profile and detector (% of decisions)", [k for k, _ in top],
                                [100 * n / decided for _, n in top], horizontal=True) if top else None,
        "release_chart": charts.histogram("Minutes from receipt to release", minutes) if minutes else None,
    }  # fmt: skip
