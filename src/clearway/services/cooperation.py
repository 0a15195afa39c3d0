"""Cooperation with partner administrations as use cases: register a partner, issue risk alerts from what
an inspection found, send and load signed bundles (alerts, and feedback on them), pull them from a partner's
clearway, and exchange authorised-operator lists. Every exchange leaves an audit row: who sent or received
what (its SHA-256), when, under which agreement."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import polars as pl

from clearway.bootstrap import App, packaged_text
from clearway.cooperation.aeo import Operator, parse_operators, write_operators
from clearway.cooperation.alerts import (
    ClearName,
    Goods,
    PartyHash,
    PartyRole,
    RiskAlert,
    Route,
    ValuePattern,
)
from clearway.cooperation.bundle import Bundle, BundleKind, BundleRefused, make_bundle, read_bundle
from clearway.errors import InvalidInput
from clearway.ledger.note import NoteError, NoteVerifier
from clearway.model.bounds import decoded_text
from clearway.model.codelists import territory_countries
from clearway.model.consignment import Consignment
from clearway.model.vocabulary import FINDING_KINDS, FindingKind
from clearway.pipeline import BatchRow
from clearway.risk.alerts import PartyIndex, alerts_frame, parties_named, party_index
from clearway.risk.party_keys import consignment_party_keys
from clearway.store import cooperation as repo
from clearway.store.events import record_audit

BUNDLE_DAYS = 7
"""How long a bundle made here stays valid: long enough to travel, short enough that an old one is refused."""
MAX_PULL_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Actor:
    name: str
    role: str  # officer, operator, partner


def register_partner(
    app: App, name: str, verifier: str, agreement: str, actor: Actor, now: dt.datetime, *,
    shared_key: str | None = None, url: str | None = None, client_id: str | None = None,
    client_secret: str | None = None, feedback: bool = True, country: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Register (or update) a partner: its signing key, the agreement, the key parties are hashed under
    (given by the partner, or made here to hand over once), and how to reach its clearway."""
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
        raise InvalidInput("a partner's name is 1 to 64 letters, digits, dots, dashes or underscores")
    try:
        NoteVerifier.parse(verifier)
    except NoteError as exc:
        raise InvalidInput(f"the partner's verifier key: {exc}") from exc
    if not agreement.strip() or "\n" in agreement or len(agreement) > 300:
        raise InvalidInput("the agreement is one line of 1 to 300 characters: the legal basis of the exchange")
    made = shared_key is None
    key = shared_key if shared_key is not None else base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        if len(base64.b64decode(key, validate=True)) < 16:
            raise ValueError("shorter than 16 bytes")
    except ValueError as exc:
        raise InvalidInput(f"the shared key is base64 of at least 16 bytes ({exc})") from exc
    if url is not None and not url.startswith(("https://", "http://")):
        raise InvalidInput("the partner's url is its clearway's base URL (https://...)")
    if country is not None and not (len(country) == 2 and country.isalpha()):
        raise InvalidInput("the partner's country is a 2-letter code (EU for the Union)")
    partner = repo.Partner(name, verifier.strip(), key, agreement.strip(), url, client_id, client_secret, feedback,
                           now, country.upper() if country else None)  # fmt: skip
    with app.store.engine.begin() as conn:
        new = repo.save_partner(conn, partner)
        record_audit(conn, now, actor.name, actor.role, "partner_registered" if new else "partner_updated", {},
                     {"partner": name, "agreement": agreement, "verifier": verifier.strip(), "url": url,
                      "feedback": feedback, "country": partner.country,
                      "shared_key": "made here" if made else "given"})  # fmt: skip
    return {"partner": name, "new": new, "shared_key": key if made else None}


def partner_names(app: App) -> list[str]:
    with app.store.engine.connect() as conn:
        return [p.name for p in repo.partners(conn)]


def alerts_from(app: App, consignment_id: str) -> list[dict[str, Any]]:
    """The alerts issued from a consignment, per partner, with what each partner reported of them."""
    with app.store.engine.connect() as conn:
        issued = repo.alerts(conn, "out", consignment_id=consignment_id)
    return [{"partner": p, "alert": a.id, "kind": a.kind, "expires_at": a.expires_at, **book} for p, a, book in issued]


def our_verifier(app: App) -> str:
    """The key partners check this office's bundles with: the ledger's signing key's verifier."""
    return app.ledger.key.verifier.encode()


def _hashes(shared: bytes, document: Consignment, roles: Sequence[PartyRole]) -> list[PartyHash]:
    keys = consignment_party_keys(shared, document)
    return [PartyHash(role, keys[role]) for role in roles if role in keys]


@dataclass(frozen=True)
class AlertRequest:
    """What an officer asks to share; empty fields are taken from the consignment (when one is named)."""

    partners: Sequence[str]
    kind: FindingKind | None = None
    consignment_id: str | None = None
    days: int = 90
    hs_prefixes: Sequence[str] = ()
    keywords: Sequence[str] = ()
    brands: Sequence[str] = ()
    dispatch_country: str | None = None
    destination_country: str | None = None
    value_at_most: str | None = None
    currency: str | None = None
    parties: Sequence[PartyRole] = ()
    names_basis: str | None = None  # the legal basis for sharing names in clear; without it, hashes only
    note: str | None = None


def issue_alert(app: App, request: AlertRequest, actor: Actor, now: dt.datetime) -> list[dict[str, Any]]:
    """A risk alert to each partner named, from a consignment (its goods, route, value and findings) and
    what the officer adds or overrides; parties as keyed hashes under each partner's shared key."""
    if not request.partners:
        raise InvalidInput("name at least one partner to send the alert to")
    if not 1 <= request.days <= 366:
        raise InvalidInput("an alert lasts 1 to 366 days")
    document: Consignment | None = None
    kinds: list[str] = []
    if request.consignment_id is not None:
        meta, document = app.store.consignment(request.consignment_id)
        if request.parties and meta.get("erased_at") is not None:
            raise InvalidInput("this consignment's parties were erased after the retention period: no party to share")
        with app.store.engine.connect() as conn:
            kinds = repo.finding_kinds(conn, request.consignment_id)
    kind = request.kind or (kinds[0] if kinds else None)
    if kind not in FINDING_KINDS:
        raise InvalidInput(f"the alert's kind is one of {', '.join(FINDING_KINDS)} (no finding to take it from)")
    if request.parties and document is None:
        raise InvalidInput("parties are shared from a consignment: name it")
    items = document.items if document is not None else []
    goods = Goods(
        hs_prefixes=list(request.hs_prefixes) or sorted({i.hs_code[:6] for i in items if i.hs_code}),
        keywords=[w.casefold() for w in request.keywords],
        brands=[b.casefold() for b in request.brands] or sorted({i.brand.casefold() for i in items if i.brand}),
    )
    route = Route(
        dispatch_country=request.dispatch_country or (document.dispatch_country if document else None),
        destination_country=request.destination_country,
    )
    value = None
    if request.value_at_most is not None:
        value = ValuePattern(currency=(request.currency or (document.currency if document else "")).upper(),
                             declared_at_most=request.value_at_most)  # fmt: skip
    elif document is not None and kind == "undervaluation":  # parcels declared as low as the one found
        declared = sum((i.unit_price * i.quantity for i in items), start=Decimal(0))
        value = ValuePattern(currency=document.currency, declared_at_most=f"{declared:f}")
    named = [r for r in request.parties if r != "delivery_address" and getattr(document, r, None) is not None]
    names = [ClearName(r, getattr(document, r).name) for r in named] if request.names_basis else []
    alert_id = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
    issued = []
    with app.store.engine.begin() as conn:
        for name in request.partners:
            partner = repo.partner(conn, name)
            shared = base64.b64decode(partner.shared_key)
            alert = RiskAlert(
                id=alert_id, kind=kind, issued_at=now, expires_at=now + dt.timedelta(days=request.days), goods=goods,
                route=route, value=value,
                parties=_hashes(shared, document, request.parties) if document is not None else [],
                names=names, legal_basis=request.names_basis if names else None, note=request.note,
            )  # fmt: skip
            _validated(alert)
            repo.save_alerts(conn, "out", name, [alert], actor=actor.name, at=now,
                             consignment_id=request.consignment_id)  # fmt: skip
            record_audit(conn, now, actor.name, actor.role, "alert_issued", {},
                         {"partner": name, "alert": alert_id, "kind": kind, "agreement": partner.agreement,
                          "consignment_id": request.consignment_id, "parties": list(request.parties),
                          "names_in_clear": bool(names), "expires_at": alert.expires_at.isoformat()})  # fmt: skip
            issued.append({"partner": name, "alert": alert_id, "kind": kind, "expires_at": alert.expires_at})
    return issued


def _validated(alert: RiskAlert) -> None:
    """The alert as a partner will decode it: types, patterns and sizes, then its own rules."""
    try:
        msgspec.json.decode(msgspec.json.encode(alert), type=RiskAlert)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"the alert would be refused by the partner: {exc}") from exc
    if alert.problems():
        raise InvalidInput("; ".join(alert.problems()))


def bundle_for(app: App, partner_name: str, kind: BundleKind, actor: Actor, now: dt.datetime) -> str:
    """The signed bundle for a partner: the alerts issued to it and in force, or the feedback on its alerts
    (when it asked for feedback). Audited as sent."""
    with app.store.engine.begin() as conn:
        partner = repo.partner(conn, partner_name)
        if kind == "alerts":
            items: list[Any] = [a for _, a, _ in repo.alerts(conn, "out", partner_name=partner_name, active_at=now)]
        else:
            items = repo.alert_outcomes(conn, partner_name) if partner.feedback else []
        text = make_bundle(app.ledger.key, kind, items, receiver=partner_name, agreement=partner.agreement, made=now,
                           valid_for=dt.timedelta(days=BUNDLE_DAYS))  # fmt: skip
        record_audit(conn, now, actor.name, actor.role, f"{kind}_sent", {},
                     {"partner": partner_name, "agreement": partner.agreement, "items": len(items),
                      "sha256": hashlib.sha256(text.encode()).hexdigest()})  # fmt: skip
    return text


def load_bundle(app: App, data: bytes, partner_name: str, actor: Actor, now: dt.datetime) -> dict[str, Any]:
    """Check a partner's bundle against its registered key and keep what it holds: alerts (each a temporary
    profile until it expires; those already expired are skipped) or feedback on this office's alerts. A
    refused bundle is audited too, with why."""
    with app.store.engine.begin() as conn:
        partner = repo.partner(conn, partner_name)
    digest = hashlib.sha256(data).hexdigest()
    try:
        bundle = read_bundle(data, NoteVerifier.parse(partner.verifier), now)
    except BundleRefused as exc:
        with app.store.engine.begin() as conn:
            record_audit(conn, now, actor.name, actor.role, "bundle_refused", {},
                         {"partner": partner_name, "sha256": digest, "why": str(exc)})  # fmt: skip
        raise
    with app.store.engine.begin() as conn:
        summary = _keep(conn, bundle, partner_name, actor, now)
        record_audit(conn, now, actor.name, actor.role, f"{bundle.kind}_received", {},
                     {"partner": partner_name, "agreement": bundle.agreement, "sha256": digest,
                      "made": bundle.made.isoformat(), **summary})  # fmt: skip
    app.caches.pop("cooperation", None)  # the next batch reads the alerts afresh
    return {"partner": partner_name, "kind": bundle.kind, **summary}


def _keep(conn: Any, bundle: Bundle, partner_name: str, actor: Actor, now: dt.datetime) -> dict[str, int]:
    if bundle.kind == "feedback":
        return {"items": bundle.size, "updated": repo.record_feedback(conn, partner_name, bundle.feedback, now)}
    live = [a for a in bundle.alerts if a.expires_at > now]
    added, updated = repo.save_alerts(conn, "in", partner_name, live, actor=actor.name, at=now)
    return {"items": bundle.size, "added": added, "updated": updated, "expired": bundle.size - len(live)}


def pull(app: App, partner_name: str, actor: Actor, now: dt.datetime, *, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Fetch the partner's alerts and its feedback on ours from its clearway (client credentials it gave
    this office) and load both as bundles."""
    with app.store.engine.connect() as conn:
        partner = repo.partner(conn, partner_name)
    if not (partner.url and partner.client_id and partner.client_secret):
        raise InvalidInput(f"{partner_name} has no url and client credentials to pull from (`clearway partners add`)")
    base = partner.url.rstrip("/")
    results = []
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        credentials = {"grant_type": "client_credentials", "client_id": partner.client_id,
                       "client_secret": partner.client_secret}  # fmt: skip
        token = client.post(f"{base}/v1/oauth/token", data=credentials)
        if token.status_code != 200:
            raise InvalidInput(f"{partner_name} refused this office's credentials: HTTP {token.status_code}")
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for path in ("/v1/alerts", "/v1/alerts/feedback"):
            answer = client.get(base + path, headers=headers)
            if answer.status_code != 200:
                raise InvalidInput(f"{partner_name} answered {path} with HTTP {answer.status_code}")
            if len(answer.content) > MAX_PULL_BYTES:
                raise BundleRefused(f"{partner_name}'s bundle is larger than {MAX_PULL_BYTES} bytes")
            results.append(load_bundle(app, answer.content, partner_name, actor, now))
    return results


# --- authorised operators under mutual recognition ---


def load_operators(app: App, data: bytes, source: str, actor: Actor, now: dt.datetime) -> dict[str, Any]:
    """A partner's list of its authorised operators (or, with source `own`, this office's), as status rows
    taking effect by date: additions, suspensions and revocations. Loading the same list twice adds nothing."""
    issuer: frozenset[str] | None = None
    if source != "own":
        with app.store.engine.connect() as conn:
            partner = repo.partner(conn, source)
        if partner.country is None:
            raise InvalidInput(f"register {source}'s country first (`clearway partners add --country`): a partner's "
                               "list speaks for its own authorisations only")  # fmt: skip
        agreement, issuer = partner.agreement, territory_countries([partner.country])
    else:
        agreement = "own authorisations"
    try:
        text = decoded_text(data, "an operator list")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    rows = parse_operators(text, f"operator list from {source}", origin=source)
    foreign = sorted({r.issuing_country for r in rows} - issuer) if issuer is not None else []
    if foreign:
        raise InvalidInput(f"{source}'s list names operators issued by {', '.join(foreign)}: a partner's list "
                           f"carries only its own ({partner.country}) authorisations; nothing was loaded")  # fmt: skip
    with app.store.engine.begin() as conn:
        added = repo.save_operators(conn, rows, now)
        record_audit(conn, now, actor.name, actor.role, "aeo_list_received", {},
                     {"source": source, "agreement": agreement, "rows": len(rows), "added": added,
                      "sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
    app.caches.pop("cooperation", None)
    return {"source": source, "rows": len(rows), "added": added,
            "suspended_or_revoked": sum(r.status != "authorised" for r in rows)}  # fmt: skip


def own_operators(app: App) -> list[Operator]:
    """This office's authorisations, every status row: those of the packaged registry and those loaded as
    `own` that its territory's administration issued (`CLEARWAY_TERRITORY`)."""
    territory = territory_countries(app.settings.territory)
    if not territory:
        raise InvalidInput("set CLEARWAY_TERRITORY: an operator list sent to a partner carries only the "
                           "authorisations this office's administration issued")  # fmt: skip
    packaged = parse_operators(packaged_text("clearway/data/risk/aeo.csv"), "clearway/data/risk/aeo.csv")
    with app.store.engine.connect() as conn:
        return [r for r in packaged + repo.operators(conn, "own") if r.issuing_country in territory]


def export_operators(app: App, partner_name: str, actor: Actor, now: dt.datetime) -> str:
    """This office's operator list for a partner, in the exchange CSV; audited as sent."""
    text = write_operators(own_operators(app))
    with app.store.engine.begin() as conn:
        partner = repo.partner(conn, partner_name)
        record_audit(conn, now, actor.name, actor.role, "aeo_list_sent", {},
                     {"partner": partner_name, "agreement": partner.agreement,
                      "sha256": hashlib.sha256(text.encode()).hexdigest()})  # fmt: skip
    return text


# --- what the pipeline reads of it ---

COOPERATION_TTL = 60.0
"""Seconds a process keeps the alerts and operator lists it read (a load in this process clears them)."""


@dataclass(frozen=True)
class _Held:
    read_at: float
    operators: tuple[Operator, ...]
    alerts: pl.DataFrame
    index: PartyIndex


def _held(app: App) -> _Held:
    found = app.caches.get("cooperation")
    if isinstance(found, _Held) and time.monotonic() - found.read_at < COOPERATION_TTL:
        return found
    with app.store.engine.connect() as conn:
        operators = tuple(repo.operators(conn))
        received = [(partner_name, alert) for partner_name, alert, _ in repo.alerts(conn, "in")]
        keys = {p.name: base64.b64decode(p.shared_key) for p in repo.partners(conn)}
    held = _Held(time.monotonic(), operators, alerts_frame(received), party_index(received, keys))
    app.caches["cooperation"] = held
    return held


def partner_history(app: App, rows: Sequence[BatchRow]) -> tuple[tuple[Operator, ...], pl.DataFrame, pl.DataFrame]:
    """For a batch: the operator status rows held, partners' alerts, and which of the batch's parties an
    alert names (hashed under each partner's shared key, as the partner hashed them)."""
    held = _held(app)
    return held.operators, held.alerts, parties_named(rows, held.index)
