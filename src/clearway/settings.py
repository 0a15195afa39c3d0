"""Settings, read once from `CLEARWAY_*` environment variables into one typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from clearway.errors import ConfigurationError


def default_home() -> Path:
    """`$CLEARWAY_HOME`, else `$XDG_DATA_HOME/clearway`, else `~/.local/share/clearway`."""
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(os.environ.get("CLEARWAY_HOME") or Path(xdg) / "clearway")


@dataclass(frozen=True)
class Settings:
    database_url: str  # CLEARWAY_DATABASE_URL: SQLAlchemy URL; default SQLite at <home>/clearway.db
    profiles: Path | None  # CLEARWAY_PROFILES: risk profile YAML; default the packaged starter profiles
    batch_size: int  # CLEARWAY_BATCH_SIZE: consignments per stored and assessed batch (default 5000)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env["CLEARWAY_HOME"]) if env.get("CLEARWAY_HOME") else default_home()
        url = env.get("CLEARWAY_DATABASE_URL") or f"sqlite:///{home / 'clearway.db'}"
        profiles = Path(env["CLEARWAY_PROFILES"]) if env.get("CLEARWAY_PROFILES") else None
        try:
            batch = int(env.get("CLEARWAY_BATCH_SIZE", "5000"))
        except ValueError as exc:
            raise ConfigurationError("CLEARWAY_BATCH_SIZE must be a whole number") from exc
        if batch < 1:
            raise ConfigurationError("CLEARWAY_BATCH_SIZE must be at least 1")
        return cls(database_url=url, profiles=profiles, batch_size=batch)
