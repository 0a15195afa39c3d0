"""Settings, read once from `CLEARWAY_*` environment variables into one typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    ledger_key: Path  # CLEARWAY_LEDGER_KEY: the log's Ed25519 signer key file; made on first use
    ledger_origin: str  # CLEARWAY_LEDGER_ORIGIN: the log's name in checkpoints (default clearway.local/ledger)
    checkpoint_every: int  # CLEARWAY_CHECKPOINT_EVERY: sign a checkpoint after this many events (default 1000)
    checkpoint_seconds: float  # CLEARWAY_CHECKPOINT_SECONDS: ... or when this many seconds have passed (60)
    tariff: Path | None = None  # CLEARWAY_TARIFF: an administration's tariff CSV, taking precedence
    customs_rates: Path | None = None  # CLEARWAY_CUSTOMS_RATES: monthly customs exchange rates CSV
    watchlist: Path | None = None  # CLEARWAY_WATCHLIST: watch list, FollowTheMoney JSON lines or the plain CSV
    secret_key: Path | None = None  # CLEARWAY_SECRET_KEY: key file for tokens and party hashes; <home>/secret.key
    token_minutes: int = 15  # CLEARWAY_TOKEN_MINUTES: lifetime of an access token
    retention_days: int = 90  # CLEARWAY_RETENTION_DAYS: personal data kept this long after release
    rate_per_second: float = 50.0  # CLEARWAY_RATE: requests per second per client (bursts of twice that)
    max_body_bytes: int = 16 * 1024 * 1024  # CLEARWAY_MAX_BODY: the largest request body accepted
    model: Path | None = None  # CLEARWAY_MODEL: a targeting model file (.cwm) to score with in the pipeline
    explore: float = 0.0  # CLEARWAY_EXPLORE: share of each batch inspected where the model is least sure
    webhook_private: bool = False  # CLEARWAY_WEBHOOK_PRIVATE=1: allow webhooks to private addresses (tests only)
    dms_schemas: Path | None = (
        None  # CLEARWAY_DMS_SCHEMAS: the WCO DMS 3.6 schemas folder (declaration/, notification/)
    )
    consignment_rate: float = (
        2000.0  # CLEARWAY_CONSIGNMENT_RATE: consignments a second per tenant (bursts of 5x, >= 1,000)
    )
    tenant_queue: int = 20000  # CLEARWAY_TENANT_QUEUE: consignments one tenant may have waiting to be stored
    cookie_secure: bool = True  # CLEARWAY_COOKIE_SECURE=0: session cookie without `Secure` (plain-http dev only)
    trusted_proxies: tuple[str, ...] = ()  # CLEARWAY_TRUSTED_PROXIES: comma-separated proxy addresses/networks
    metrics_public: bool = False  # CLEARWAY_METRICS_PUBLIC=1: /metrics without a token (own internal listener)
    screening_topics: Path | None = None  # CLEARWAY_SCREENING_TOPICS: what a screening hit means, by topic
    watchlist_delta: Path | None = None  # CLEARWAY_WATCHLIST_DELTA: additions and removals applied to the list

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env["CLEARWAY_HOME"]) if env.get("CLEARWAY_HOME") else default_home()
        url = env.get("CLEARWAY_DATABASE_URL") or f"sqlite:///{home / 'clearway.db'}"
        profiles = Path(env["CLEARWAY_PROFILES"]) if env.get("CLEARWAY_PROFILES") else None
        return cls(
            database_url=url,
            profiles=profiles,
            batch_size=_number(env, "CLEARWAY_BATCH_SIZE", 5000, int),
            ledger_key=Path(env.get("CLEARWAY_LEDGER_KEY") or home / "ledger.key"),
            ledger_origin=env.get("CLEARWAY_LEDGER_ORIGIN") or "clearway.local/ledger",
            checkpoint_every=_number(env, "CLEARWAY_CHECKPOINT_EVERY", 1000, int),
            checkpoint_seconds=_number(env, "CLEARWAY_CHECKPOINT_SECONDS", 60.0, float),
            tariff=Path(env["CLEARWAY_TARIFF"]) if env.get("CLEARWAY_TARIFF") else None,
            customs_rates=Path(env["CLEARWAY_CUSTOMS_RATES"]) if env.get("CLEARWAY_CUSTOMS_RATES") else None,
            watchlist=Path(env["CLEARWAY_WATCHLIST"]) if env.get("CLEARWAY_WATCHLIST") else None,
            secret_key=Path(env.get("CLEARWAY_SECRET_KEY") or home / "secret.key"),
            token_minutes=_number(env, "CLEARWAY_TOKEN_MINUTES", 15, int),
            retention_days=_number(env, "CLEARWAY_RETENTION_DAYS", 90, int),
            rate_per_second=_number(env, "CLEARWAY_RATE", 50.0, float),
            max_body_bytes=_number(env, "CLEARWAY_MAX_BODY", 16 * 1024 * 1024, int),
            model=Path(env["CLEARWAY_MODEL"]) if env.get("CLEARWAY_MODEL") else None,
            explore=float(env.get("CLEARWAY_EXPLORE") or 0.0),
            webhook_private=env.get("CLEARWAY_WEBHOOK_PRIVATE", "") in ("1", "true", "yes"),
            dms_schemas=Path(env["CLEARWAY_DMS_SCHEMAS"]) if env.get("CLEARWAY_DMS_SCHEMAS") else None,
            consignment_rate=_number(env, "CLEARWAY_CONSIGNMENT_RATE", 2000.0, float),
            tenant_queue=_number(env, "CLEARWAY_TENANT_QUEUE", 20000, int),
            cookie_secure=env.get("CLEARWAY_COOKIE_SECURE", "1") not in ("0", "false", "no"),
            trusted_proxies=tuple(p.strip() for p in env.get("CLEARWAY_TRUSTED_PROXIES", "").split(",") if p.strip()),
            metrics_public=env.get("CLEARWAY_METRICS_PUBLIC", "") in ("1", "true", "yes"),
            screening_topics=Path(env["CLEARWAY_SCREENING_TOPICS"]) if env.get("CLEARWAY_SCREENING_TOPICS") else None,
            watchlist_delta=Path(env["CLEARWAY_WATCHLIST_DELTA"]) if env.get("CLEARWAY_WATCHLIST_DELTA") else None,
        )


def _number(env: Mapping[str, str], name: str, default: float, kind: type[Any]) -> Any:
    try:
        value = kind(env.get(name, default))
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {env.get(name)!r}") from exc
    if value <= 0:
        raise ConfigurationError(f"{name} must be greater than 0")
    return value
