"""Exchange bundles: what one administration sends another, as a signed note (`ledger/note.py`, C2SP
signed-note with Ed25519), so the receiver checks it against the sender's registered key and nothing in it
can be changed on the way.

The note's text is a header, one `name value` line each, then one compact JSON object per line:

    clearway-exchange/1
    kind alerts
    from customs.example/ledger
    to douane.example
    agreement EU-XX customs cooperation agreement, art. 12
    made 2026-11-20T09:00:00Z
    valid-until 2026-11-27T09:00:00Z
    {"id":"A-1","kind":"counterfeit",...}

`kind` is `alerts` (`RiskAlert`) or `feedback` (`AlertFeedback`); `from` is the name of the signing key.
A bundle past `valid-until` is refused, whatever its signature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, TypeVar

import msgspec

from clearway.cooperation.alerts import AlertFeedback, RiskAlert
from clearway.errors import InvalidInput
from clearway.ledger.note import NoteError, NoteKey, NoteVerifier, sign_note, verify_note
from clearway.model.bounds import decoded_text, text_errors

MAGIC = "clearway-exchange/1"
BundleKind = Literal["alerts", "feedback"]
MAX_ITEMS = 10_000
MAX_BYTES = 16 * 1024 * 1024
_HEADER = ("kind", "from", "to", "agreement", "made", "valid-until")
_encode = msgspec.json.Encoder(order="deterministic").encode
_T = TypeVar("_T")


class BundleRefused(InvalidInput):
    """A bundle that is malformed, signed by another key than the partner's, or expired."""


@dataclass(frozen=True)
class Bundle:
    kind: BundleKind
    sender: str
    receiver: str
    agreement: str
    made: dt.datetime
    valid_until: dt.datetime
    alerts: tuple[RiskAlert, ...] = ()
    feedback: tuple[AlertFeedback, ...] = ()

    @property
    def size(self) -> int:
        return len(self.alerts) + len(self.feedback)


def _one_line(value: str, what: str) -> str:
    if not value or any(c in value for c in "\r\n\x00") or len(value) > 300:
        raise InvalidInput(f"the bundle's {what} is one line of 1 to 300 characters")
    return value


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def make_bundle(
    key: NoteKey,
    kind: BundleKind,
    items: list[RiskAlert] | list[AlertFeedback],
    *,
    receiver: str,
    agreement: str,
    made: dt.datetime,
    valid_for: dt.timedelta,
) -> str:
    """The signed bundle of `items` from the holder of `key` to `receiver`, under `agreement`."""
    head = [MAGIC, f"kind {kind}", f"from {key.name}", f"to {_one_line(receiver, 'receiver')}",
            f"agreement {_one_line(agreement, 'agreement')}", f"made {_time(made)}",
            f"valid-until {_time(made + valid_for)}"]  # fmt: skip
    lines = [_encode(item).decode() for item in items]
    return sign_note("\n".join(head + lines) + "\n", key)


def read_bundle(signed: bytes, sender: NoteVerifier, now: dt.datetime) -> Bundle:
    """The bundle, once its signature verifies under the sender's key and it is still valid; every problem
    is a `BundleRefused` that says which."""
    if len(signed) > MAX_BYTES:
        raise BundleRefused(f"a bundle is at most {MAX_BYTES} bytes")
    try:
        text = decoded_text(signed, "a bundle")
    except ValueError as exc:
        raise BundleRefused(str(exc)) from exc
    try:
        body, _ = verify_note(text, [sender])
    except NoteError as exc:
        raise BundleRefused(f"refused: the bundle is not signed by {sender.name}'s key ({exc})") from exc
    lines = body.splitlines()
    if not lines or lines[0] != MAGIC:
        raise BundleRefused(f"not a clearway exchange bundle (the first line is not {MAGIC})")
    header: dict[str, str] = {}
    for line, name in zip(lines[1:], _HEADER, strict=False):
        field, _, value = line.partition(" ")
        if field != name:
            raise BundleRefused(f"header line {name!r} expected, found {line[:40]!r}")
        header[name] = value
    if len(header) < len(_HEADER):
        raise BundleRefused("the bundle's header is incomplete")
    if header["from"] != sender.name:
        raise BundleRefused(f"the bundle says it is from {header['from']!r}, signed by {sender.name!r}")
    try:
        made, until = dt.datetime.fromisoformat(header["made"]), dt.datetime.fromisoformat(header["valid-until"])
    except ValueError as exc:
        raise BundleRefused(f"bad time in the header: {exc}") from exc
    if made.tzinfo is None or until.tzinfo is None:
        raise BundleRefused("the header's times carry their offset")
    if now >= until:
        raise BundleRefused(f"expired: the bundle was valid until {_time(until)}")
    kind = header["kind"]
    items = lines[1 + len(_HEADER) :]
    if len(items) > MAX_ITEMS:
        raise BundleRefused(f"a bundle holds at most {MAX_ITEMS} items")
    alerts: tuple[RiskAlert, ...] = ()
    feedback: tuple[AlertFeedback, ...] = ()
    if kind == "alerts":
        alerts = tuple(_decode(line, RiskAlert, n) for n, line in enumerate(items, start=1))
        for n, alert in enumerate(alerts, start=1):
            if alert.problems():
                raise BundleRefused(f"alert {n} ({alert.id}): " + "; ".join(alert.problems()))
    elif kind == "feedback":
        feedback = tuple(_decode(line, AlertFeedback, n) for n, line in enumerate(items, start=1))
    else:
        raise BundleRefused(f"unknown bundle kind {kind!r}: alerts or feedback")
    what: BundleKind = "alerts" if kind == "alerts" else "feedback"
    return Bundle(what, header["from"], header["to"], header["agreement"], made, until, alerts, feedback)


def _decode(line: str, kind: type[_T], number: int) -> _T:
    try:
        problems = text_errors(msgspec.json.decode(line))
        if problems:
            raise BundleRefused(f"item {number}: {problems[0].message} (at {problems[0].path})")
        return msgspec.json.decode(line, type=kind)
    except msgspec.ValidationError as exc:
        raise BundleRefused(f"item {number}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise BundleRefused(f"item {number} is not JSON: {exc}") from exc
