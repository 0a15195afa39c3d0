"""API clients and their tokens, as a use case over `ClientRecords`: run against the in-memory fake and
against the store's own SQL implementation on SQLite, so the fake answers as the database does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clearway.auth import clients as auth
from clearway.auth.clients import ClientRecords, TokenIssuer, add_client, client, revoke_client
from clearway.errors import InvalidInput, NotFound, Unauthenticated
from clearway.store import make_engine, sqlite_url, upgrade
from clearway.store.clients import SqlClients
from tests.fakes import InMemoryClients

SECRET = b"k" * 32


@pytest.fixture(params=["fake", "sqlite"])
def kept(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClientRecords]:
    if request.param == "fake":
        yield InMemoryClients()
        return
    engine = make_engine(sqlite_url(tmp_path / "clients.db"))
    upgrade(engine)
    yield SqlClients(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "RECHECK_SECONDS", 0.0)  # what a token reads of its client is read again at once


def test_a_client_gets_a_token_that_names_its_tenant_role_and_scopes(kept: ClientRecords) -> None:
    made = add_client(kept, "acme", "platform")
    issuer = TokenIssuer(kept, SECRET, minutes=5)
    token = issuer.issue(made["client_id"], made["client_secret"])["access_token"]
    who = issuer.verify(token)
    assert (who.tenant, who.role, who.is_submitter) == ("acme", "platform", True)
    assert "consignments:write" in who.scopes and "officer" not in who.scopes
    assert client(kept, made["client_id"])["secret_hash"].startswith("scrypt$")  # the secret itself is not kept


def test_wrong_secrets_unknown_ids_and_taken_names_are_refused(kept: ClientRecords) -> None:
    made = add_client(kept, "acme", "platform")
    issuer = TokenIssuer(kept, SECRET, minutes=5)
    with pytest.raises(Unauthenticated, match="unknown client or wrong secret"):
        issuer.issue(made["client_id"], "not the secret")
    with pytest.raises(Unauthenticated, match="unknown client or wrong secret"):
        issuer.issue("0" * 32, made["client_secret"])
    with pytest.raises(InvalidInput, match="exists already"):
        add_client(kept, "acme", "carrier")
    with pytest.raises(NotFound):
        revoke_client(kept, "nobody")


def test_a_revoked_client_and_a_signed_out_session_are_refused(kept: ClientRecords) -> None:
    acme, other = add_client(kept, "acme", "platform"), add_client(kept, "other", "officer")
    issuer = TokenIssuer(kept, SECRET, minutes=5)
    kept_token = issuer.issue(other["client_id"], other["client_secret"])["access_token"]
    signed_out = issuer.issue(other["client_id"], other["client_secret"])["access_token"]
    revoked = issuer.issue(acme["client_id"], acme["client_secret"])["access_token"]

    assert revoke_client(kept, "acme")["role"] == "platform"
    with pytest.raises(Unauthenticated, match="revoked"):
        issuer.verify(revoked)
    with pytest.raises(Unauthenticated):
        issuer.issue(acme["client_id"], acme["client_secret"])

    issuer.revoke(signed_out)
    fresh = TokenIssuer(kept, SECRET, minutes=5)  # another process reads the same records
    for verifier in (issuer, fresh):
        with pytest.raises(Unauthenticated, match="signed out"):
            verifier.verify(signed_out)
        assert verifier.verify(kept_token).name == "other"
