"""Issue 17 at the level of its pieces: sealed ledger leaves, the cross-check, bounded limiters, the sign-in
throttle, the round-robin queue and the address checks of webhooks. No I/O."""

from __future__ import annotations

import datetime as dt
import time

import msgspec
import pytest

from clearway.errors import RateLimited
from clearway.ledger.crosscheck import Leaf, LedgerIndex, check_decisions, check_events
from clearway.ledger.leaf import LEAF_PREFIX, LEAF_PREFIX_V2, LedgerEvent, leaf_bytes, seal_holds, sealed_event
from clearway.services.limits import RateLimiter, SignInThrottle
from clearway.workers.submissions import FairQueue
from clearway.workers.webhooks import is_internal, pinned

AT = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
SALT, SEAL = bytes(range(32)), bytes(range(32, 64))


def test_a_sealed_leaf_hides_customs_facts_and_commits_to_them() -> None:
    facts = {"version": 1, "lane": "red", "referrals": ["dnl"]}
    event, sealed = sealed_event("assessed", "c1", AT, facts, SEAL)
    customs = msgspec.json.decode(sealed)
    assert event.facts == {"version": 1} and customs == {"lane": "red", "referrals": ["dnl"]}
    assert b"red" not in event.canonical() and b"dnl" not in event.canonical()
    assert leaf_bytes(event, SALT).startswith(LEAF_PREFIX_V2)
    assert seal_holds(event, customs, SEAL)
    assert not seal_holds(event, customs | {"lane": "green"}, SEAL)  # a lane changed afterwards
    assert not seal_holds(event, customs, bytes(32))  # a guess without the seal salt
    v1 = LedgerEvent("assessed", "c1", AT, facts)  # written before the seal: still the v1 leaf
    assert leaf_bytes(v1, SALT).startswith(LEAF_PREFIX) and not seal_holds(v1, customs, SEAL)


def _index(*leaves: Leaf) -> LedgerIndex:
    index = LedgerIndex()
    for leaf in leaves:
        index.add(leaf)
    return index


def test_the_cross_check_finds_a_rewritten_decision_and_event() -> None:
    event = LedgerEvent("assessed", "c1", AT, {"version": 1}, "seal")
    index = _index(Leaf(0, "e1", event, {"version": 1, "lane": "red", "referrals": []}))
    honest = {"id": "d1", "consignment_id": "c1", "version": 1, "lane": "red", "referrals": [], "decided_at": AT,
              "event_id": "e1"}  # fmt: skip
    assert check_decisions(index, [honest]) == []
    assert "lane" in check_decisions(index, [honest | {"lane": "green"}])[0]
    row = {"id": "e1", "consignment_id": "c1", "type": "assessed", "at": AT, "data": {"lane": "red"}}
    assert check_events(index, [row]) == []
    assert check_events(index, [row | {"data": {"lane": "green"}}])
    assert check_events(index, [row | {"id": "e2"}]) == ["event e2 (assessed of c1) has no ledger leaf"]


def test_a_limiter_forgets_idle_callers_and_holds_a_bounded_number() -> None:
    limiter = RateLimiter(rate=1000.0, burst=2, max_buckets=100)
    for n in range(10_000):
        limiter.take(f"invented-{n}")
    assert len(limiter) <= 100
    time.sleep(0.01)  # every bucket refills in 2 ms: forgetting it loses nothing
    limiter.take("one more")
    assert len(limiter) == 1
    slow = RateLimiter(rate=1.0, burst=2)
    slow.take("a", cost=2)
    with pytest.raises(RateLimited) as refused:
        slow.take("a")
    assert refused.value.retry_after >= 1


def test_the_sign_in_throttle_slows_guessing_without_locking_the_client_out() -> None:
    throttle = SignInThrottle()
    throttle.check("client", "10.0.0.1")
    throttle.succeeded("client", "10.0.0.1")  # the real client's usual address
    for n in range(40):  # an attacker guesses from many addresses
        address = f"203.0.113.{n % 8}"
        try:
            throttle.check("client", address)
        except RateLimited:
            continue
        throttle.failed("client", address)
    with pytest.raises(RateLimited):
        throttle.check("client", "203.0.113.200")  # the client-wide count is spent for strangers
    throttle.check("client", "10.0.0.1")  # the real client still signs in from where it always does


def test_the_fair_queue_serves_a_single_before_the_rest_of_a_flood() -> None:
    queue: FairQueue[list[int]] = FairQueue()
    progress: dict[int, int] = {}
    for n in range(4):
        queue.put("flood", list(range(1000 + n)))
    queue.put("quiet", [1])
    queue.wait()
    taken = queue.round(500, lambda w: len(w) - progress.get(id(w), 0), 100)
    assert [t for t, _, _ in taken][:2] in (["flood", "quiet"], ["quiet", "flood"])
    assert sum(u for _, _, u in taken) == 500 and max(u for _, _, u in taken) <= 100


def test_small_requests_are_taken_whole_ahead_of_bulk_work() -> None:
    queue: FairQueue[list[int]] = FairQueue()
    queue.put("flood", list(range(1000)))
    queue.put("quiet", [1])
    queue.put("other", [1, 2])
    queue.put("quiet", [3])
    taken = queue.smalls(len, 5)
    assert [(t, u) for t, _, u in taken] == [("quiet", 1), ("other", 2)]  # one each, whole; the flood stays
    assert queue.smalls(len, 5) == [("quiet", [3], 1)]
    assert queue.smalls(len, 5) == [] and queue.tenants() == 1  # the flood is left for the round-robin


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
        ("127.0.0.1", True),
        ("169.254.169.254", True),
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 of the metadata service
        ("64:ff9b::5db8:d822", False),  # NAT64 of a public address
        ("64:ff9b:1::a00:1", True),  # local-use NAT64
        ("2002:a00:1::1", True),  # 6to4 of 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", True),  # Teredo, client 10.0.0.1
        ("::ffff:192.168.0.1", True),
        ("::10.0.0.1", True),  # IPv4-compatible
        ("fe80::1%eth0", True),
    ],
)
def test_webhook_addresses_that_embed_a_private_one_are_internal(address: str, internal: bool) -> None:
    assert is_internal(address) is internal


def test_a_delivery_connects_to_the_address_it_checked() -> None:
    assert pinned("https://hooks.acme.example/x?y=1", "93.184.216.34") == (
        "https://93.184.216.34/x?y=1", "hooks.acme.example",
    )  # fmt: skip
    assert pinned("https://hooks.acme.example:8443/x", "2606:2800::1") == (
        "https://[2606:2800::1]:8443/x", "hooks.acme.example:8443",
    )  # fmt: skip


def test_a_delivery_is_sent_to_the_address_checked_not_a_second_lookup() -> None:
    """Finding 12: the host was resolved once to check and again to connect (DNS rebinding)."""
    import httpx
    import sqlalchemy as sa

    from clearway.workers.webhooks import Webhooks

    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a rebinding name: public first, then loopback
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    hooks = Webhooks(
        sa.create_engine("sqlite://"), allow_private=False, transport=httpx.MockTransport(record),
        resolver=lambda host: next(answers),
    )  # fmt: skip
    try:
        assert hooks._post("https://hooks.acme.example/x", "secret", "d1", b"{}") is None
    finally:
        hooks.client.close()
    [request] = seen
    assert request.url.host == "93.184.216.34" and request.headers["host"] == "hooks.acme.example"
    assert request.extensions["sni_hostname"] == "hooks.acme.example"  # TLS still checks the name
