"""API clients for tests: made in the store as `clearway clients add` makes them, with a bearer token."""

from __future__ import annotations

from typing import Any

from clearway.auth.clients import TokenIssuer, add_client
from clearway.bootstrap import App


def bearer(app: App, name: str, role: str, **options: Any) -> dict[str, str]:
    made = add_client(app.store.engine, name, role, **options)
    issued = TokenIssuer(app.store.engine, app.secret, 15).issue(made["client_id"], made["client_secret"])
    return {"Authorization": f"Bearer {issued['access_token']}"}
