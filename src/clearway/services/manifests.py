"""Manifests as use cases: a carrier or post files its masters (JSON, a JSON array or NDJSON), amends them,
and arrives them, whole or in part, in one transaction; customs reconciles what arrived with the advance
data: houses with no filing, filings with no arrival."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.errors import Forbidden, InvalidInput, NotFound
from clearway.model.findings import Finding
from clearway.model.manifest import ManifestOutcome, validate_manifest
from clearway.store import manifests as repo

FILERS = frozenset({"carrier", "postal"})
Listener = Callable[[str, str, dict[str, Any]], None]


def read_manifests(data: bytes, content_type: str) -> list[ManifestOutcome]:
    """Each manifest of a body: one JSON object, a JSON array of them, or NDJSON (one a line); a line that
    is not JSON is rejected alone, with its line number."""
    if "ndjson" in content_type or "jsonl" in content_type:
        outcomes = []
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                outcomes.append(validate_manifest(msgspec.json.decode(line)))
            except msgspec.DecodeError as exc:
                outcomes.append(ManifestOutcome(None, None, [Finding("", "json.invalid", f"line {number}: {exc}")]))
        return outcomes
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the body is not JSON: {exc}") from exc
    return [validate_manifest(d) for d in (doc if isinstance(doc, list) else [doc])]


def file_manifests(app: App, filer: Principal, data: bytes, content_type: str, now: dt.datetime,
                   *, on_behalf_of: str | None = None) -> dict[str, Any]:  # fmt: skip
    """File (or amend) each manifest of the body under the carrier or post that sends it (an officer keys
    one in `on_behalf_of` a carrier). Every manifest is answered: registered, amended, unchanged or
    rejected with all its errors; a rejected one changes nothing."""
    tenant = _filer(filer, on_behalf_of)
    outcomes = read_manifests(data, content_type)
    if not outcomes:
        raise InvalidInput("no manifest in the body")
    results = []
    with app.store.engine.begin() as conn:
        for index, outcome in enumerate(outcomes):
            if outcome.manifest is None:
                results.append({"index": index, "reference": outcome.reference, "outcome": "rejected",
                                "errors": [msgspec.structs.asdict(f) for f in outcome.errors]})  # fmt: skip
                continue
            manifest_id, version, what = repo.save_manifest(conn, tenant, outcome.manifest, now)
            results.append({"index": index, "reference": outcome.reference, "outcome": what,
                            "manifest_id": manifest_id, "version": version,
                            "houses": len(outcome.manifest.houses)})  # fmt: skip
    return {"accepted": sum(r["outcome"] != "rejected" for r in results),
            "rejected": sum(r["outcome"] == "rejected" for r in results), "results": results}  # fmt: skip


def _filer(principal: Principal, on_behalf_of: str | None) -> str:
    if principal.role in FILERS:
        if on_behalf_of not in (None, principal.tenant):
            raise Forbidden("a carrier or post files its own manifests")
        return principal.tenant
    if principal.role == "officer":
        if not on_behalf_of:
            raise InvalidInput("an officer keys a manifest in on behalf of a carrier or post: name it")
        return on_behalf_of
    raise Forbidden("manifests are filed by the carrier or post that carries the goods (or an officer)")


def require_reader(principal: Principal) -> None:
    if principal.role not in FILERS | {"officer"}:
        raise Forbidden("manifests are the carriers', the posts' and customs'")


def listed(app: App, principal: Principal) -> list[dict[str, Any]]:
    """The manifests `principal` may see, newest first: a filer's own, or all for an officer."""
    require_reader(principal)
    with app.store.engine.connect() as conn:
        return repo.manifests(conn, None if principal.role == "officer" else principal.tenant)


def owned(app: App, principal: Principal, manifest_id: str) -> dict[str, Any]:
    """The manifest, if `principal` may see it: its filer, or an officer. Another tenant's is not found."""
    with app.store.engine.connect() as conn:
        found = repo.manifest(conn, manifest_id)
    if principal.role != "officer" and found["submitter"] != principal.tenant:
        raise NotFound(f"no manifest {manifest_id}", reference=manifest_id)
    if principal.role != "officer":  # a filer sees its houses, not other filers' parcels behind them
        for house in found["houses"]:
            house["consignments"] = [c for c in house["consignments"] if c["submitter"] == principal.tenant]
            for c in house["consignments"]:
                c.pop("lane", None)
    return found


def arrive(
    app: App, principal: Principal, manifest_id: str, documents: Sequence[str] | None, now: dt.datetime, *,
    office: str | None = None, listeners: Sequence[Listener] = (),
) -> dict[str, Any]:  # fmt: skip
    """Arrival of a manifest (or of the houses named: a partial arrival), by its carrier or post or an
    officer, in one transaction: each parcel only waiting for arrival is released, the others stay and are
    listed; houses without a filing are listed as arrived without data (held where they are)."""
    if principal.role not in FILERS | {"officer"}:
        raise Forbidden("arrival is reported by the carrier or post that carries the goods, or by an officer")
    officer = principal.role == "officer"
    with app.store.engine.begin() as conn:
        filed_by = repo.filer(conn, manifest_id)  # not found, for anyone, when there is none
        if not officer and filed_by != principal.tenant:  # another filer's manifest is not found either
            raise NotFound(f"no manifest {manifest_id}", reference=manifest_id)
        done = repo.arrive(conn, manifest_id, documents, now, actor=principal.name,
                           audit_role=principal.role if officer else None, office=office,
                           carrier=None if officer else principal.tenant)  # fmt: skip
    for consignment_id, status in done.events:
        for listener in listeners:
            listener(consignment_id, "arrived", {"status": status})
    answer: dict[str, Any] = {
        "manifest_id": manifest_id, "state": done.state, "arrived_at": now, "released": len(done.released),
        "released_consignments": done.released, "released_before_arrival": done.released_before,
        "stayed": done.stayed, "arrived_without_data": done.without_data, "not_arrived_now": done.skipped,
    }  # fmt: skip
    if not officer:  # a carrier learns which of its houses stayed, not the lane customs chose
        answer["stayed"] = [{k: v for k, v in s.items() if k != "lane"} for s in done.stayed]
    return answer


def reconciliation(app: App, now: dt.datetime, grace: dt.timedelta, submitter: str | None = None) -> dict[str, Any]:
    """Houses that arrived without data, and filings not arrived `grace` after their declared arrival."""
    with app.store.engine.connect() as conn:
        without = repo.arrived_without_data(conn, submitter)
        late = repo.not_arrived(conn, now - grace) if submitter is None else []
    return {"arrived_without_data": without, "not_arrived": late}
