"""What a submitter reads of its events: the documented facts, and an ill-shaped stored fact left out."""

from __future__ import annotations

import datetime as dt

import msgspec

from clearway.api.views import submitter_events
from clearway.auth.clients import Principal
from clearway.services.clearance import CaseEvent

WHO = Principal("id", "acme", "platform", None, frozenset())
AT = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def test_a_submitter_reads_its_facts_and_never_customs_own() -> None:
    event = CaseEvent("assessed", AT, "clearway", {"version": 2, "lane": "red", "referrals": ["rfi"], "note": "x"})
    (read,) = submitter_events(WHO, [event])
    assert (read.type, read.actor, read.version, read.referrals) == ("assessed", "customs", 2, ["rfi"])
    assert not hasattr(read, "lane") and not hasattr(read, "note")


def test_a_fact_stored_in_another_shape_is_left_out_not_an_error() -> None:
    event = CaseEvent("refunded", AT, "acme", {"version": "two", "currency": "EUR", "total": "1.00"})
    (read,) = submitter_events(WHO, [event])
    assert (read.actor, read.currency, read.total) == ("you", "EUR", "1.00")
    assert read.version is msgspec.UNSET
