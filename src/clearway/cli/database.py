"""`clearway db`: database maintenance."""

from __future__ import annotations

from clearway.cli.apps import db_app
from clearway.cli.common import out


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the configured database to the latest schema."""
    from clearway.settings import Settings
    from clearway.store import make_engine, upgrade

    settings = Settings.from_env()
    upgrade(make_engine(settings.database_url))
    out.print(f"database at {settings.database_url} is up to date")
