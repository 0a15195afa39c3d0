"""Settings, read once from `CLEARWAY_*` environment variables into one typed object.

Every setting is declared once, in SETTINGS: its variable, the field it fills, how it is read, its
default and what it is for. `Settings.from_env` reads them; `docs/configuration.md` is generated from them
(`clearway config doc`, checked by a test); `clearway config check` validates them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from clearway.errors import ConfigurationError


def default_home() -> Path:
    """`$CLEARWAY_HOME`, else `$XDG_DATA_HOME/clearway`, else `~/.local/share/clearway`."""
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(os.environ.get("CLEARWAY_HOME") or Path(xdg) / "clearway")


Kind = Literal["text", "path", "file", "folder", "count", "number", "share", "flag", "list", "url"]
"""How a value is read: text as is; a path (made if missing: keys); a file or folder that must exist; a
count (whole number > 0); a number (> 0); a share (0 to 1); a flag (1/true/yes or 0/false/no); a
comma-separated list; a database URL (its password never shown)."""


@dataclass(frozen=True)
class Setting:
    env: str
    field: str
    kind: Kind
    default: Any  # a value, None, or a function of the home folder
    help: str
    default_text: str = ""  # the default as the reference shows it, when it is not the value itself

    def shown_default(self) -> str:
        if self.default_text:
            return self.default_text
        if self.default is None:
            return "none"
        if isinstance(self.default, bool):
            return "1" if self.default else "0"
        return f"{self.default:,}" if isinstance(self.default, int | float) else str(self.default)


def _in_home(name: str) -> Callable[[Path], Path]:
    return lambda home: home / name


HOME = Setting(
    "CLEARWAY_HOME", "", "folder", None,
    "folder of the embedded database, the key files and reports",
    "$XDG_DATA_HOME/clearway, else ~/.local/share/clearway",
)  # fmt: skip
SETTINGS: tuple[Setting, ...] = (
    Setting("CLEARWAY_DATABASE_URL", "database_url", "url", lambda home: f"sqlite:///{home / 'clearway.db'}",
            "SQLAlchemy URL of the database (SQLite or PostgreSQL)", "SQLite at <home>/clearway.db"),
    Setting("CLEARWAY_PROFILES", "profiles", "file", None, "risk profiles (YAML)", "the packaged starter profiles"),
    Setting("CLEARWAY_BATCH_SIZE", "batch_size", "count", 5000, "consignments per stored and assessed batch"),
    Setting("CLEARWAY_LEDGER_KEY", "ledger_key", "path", _in_home("ledger.key"),
            "the ledger's Ed25519 signer key file; made on first use", "<home>/ledger.key"),
    Setting("CLEARWAY_LEDGER_ORIGIN", "ledger_origin", "text", "clearway.local/ledger",
            "the log's name in checkpoints"),
    Setting("CLEARWAY_CHECKPOINT_EVERY", "checkpoint_every", "count", 1000, "sign a checkpoint after this many events"),
    Setting("CLEARWAY_CHECKPOINT_SECONDS", "checkpoint_seconds", "number", 60.0,
            "... or when this many seconds have passed"),
    Setting("CLEARWAY_TARIFF", "tariff", "file", None, "an administration's tariff CSV, taking precedence"),
    Setting("CLEARWAY_CUSTOMS_RATES", "customs_rates", "file", None, "monthly customs exchange rates CSV"),
    Setting("CLEARWAY_WATCHLIST", "watchlist", "file", None,
            "watch list to screen parties against (FollowTheMoney JSON lines or the plain CSV)"),
    Setting("CLEARWAY_WATCHLIST_DELTA", "watchlist_delta", "file", None,
            "additions and removals applied to the list (OpenSanctions delta lines)"),
    Setting("CLEARWAY_SCREENING_TOPICS", "screening_topics", "file", None,
            "what a screening hit means, by FollowTheMoney topic (YAML)", "the packaged file"),
    Setting("CLEARWAY_SECRET_KEY", "secret_key", "path", _in_home("secret.key"),
            "key file for tokens and party hashes; made on first use", "<home>/secret.key"),
    Setting("CLEARWAY_TOKEN_MINUTES", "token_minutes", "count", 15, "lifetime of an access token (minutes)"),
    Setting("CLEARWAY_RETENTION_DAYS", "retention_days", "count", 90, "personal data kept this long after release"),
    Setting("CLEARWAY_RATE", "rate_per_second", "number", 50.0,
            "requests a second per client (bursts of twice that)"),
    Setting("CLEARWAY_CONSIGNMENT_RATE", "consignment_rate", "number", 2000.0,
            "consignments a second per tenant (bursts of 5x, at least 1,000)"),
    Setting("CLEARWAY_TENANT_QUEUE", "tenant_queue", "count", 20000,
            "consignments one tenant may have waiting to be stored (beyond: 429)"),
    Setting("CLEARWAY_READY_QUEUE", "ready_queue", "count", 100_000,
            "consignments waiting to be stored, or to be assessed, past which /readyz answers 503"),
    Setting("CLEARWAY_MAX_BODY", "max_body_bytes", "count", 16 * 1024 * 1024, "the largest request body (bytes)"),
    Setting("CLEARWAY_MODEL", "model", "file", None, "a targeting model file (.cwm) to score with in the pipeline"),
    Setting("CLEARWAY_EXPLORE", "explore", "share", 0.0,
            "share of each batch inspected where the model is least sure"),
    Setting("CLEARWAY_DMS_SCHEMAS", "dms_schemas", "folder", None,
            "the WCO DMS 3.6 schemas folder (declaration/, notification/)"),
    Setting("CLEARWAY_WEBHOOK_PRIVATE", "webhook_private", "flag", False,
            "allow webhooks to private addresses (tests only)"),
    Setting("CLEARWAY_COOKIE_SECURE", "cookie_secure", "flag", True,
            "session cookie with `Secure`; 0 for plain-http development only"),
    Setting("CLEARWAY_TRUSTED_PROXIES", "trusted_proxies", "list", (),
            "proxy addresses or networks whose X-Forwarded-For is believed (comma-separated)"),
    Setting("CLEARWAY_METRICS_PUBLIC", "metrics_public", "flag", False,
            "/metrics without a token (on a listener the operator keeps internal)"),
    Setting("CLEARWAY_LOG_LEVEL", "log_level", "text", "INFO", "DEBUG, INFO, WARNING or ERROR"),
    Setting("CLEARWAY_LOG_FORMAT", "log_format", "text", "json", "`json` (one object a line) or `text`"),
    Setting("CLEARWAY_OTLP_ENDPOINT", "otlp_endpoint", "text", None,
            "OTLP/HTTP endpoint traces are exported to (e.g. http://collector:4318/v1/traces); off when unset"),
    Setting("CLEARWAY_ASSESSOR", "assessor", "text", "process",
            "`process`: the service assesses in a process of its own, at a lower CPU priority, so that one tenant's"
            " bulk assessment does not slow another's requests, and `clearway ingest` and the demo assess each"
            " stored batch in a second process while they store the next; `thread`: all in one process"),
    Setting("CLEARWAY_SHUTDOWN_GRACE", "shutdown_grace", "number", 30.0,
            "seconds `serve` takes on SIGTERM to answer requests in flight and drain its queues"),
    Setting("CLEARWAY_KEEP_ALIVE", "keep_alive", "number", 75.0,
            "seconds `serve` keeps an idle HTTP connection open: longer than the clients and load balancers in front"
            " keep theirs, or a request sent as the server closes the connection fails (httpx keeps 5 s, an AWS"
            " load balancer 60 s)"),
    Setting("CLEARWAY_ARRIVAL_GRACE_HOURS", "arrival_grace_hours", "number", 24.0,
            "hours after its declared arrival a filing whose parcel has not arrived is reported"),
    Setting("CLEARWAY_TERRITORY", "territory", "list", (),
            "the countries whose border this office keeps (`EU` for the Union): what is dispatched from them is "
            "its export side, shared with partners"),
)  # fmt: skip
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Settings:
    database_url: str
    profiles: Path | None
    batch_size: int
    ledger_key: Path
    ledger_origin: str
    checkpoint_every: int
    checkpoint_seconds: float
    tariff: Path | None = None
    customs_rates: Path | None = None
    watchlist: Path | None = None
    secret_key: Path | None = None
    token_minutes: int = 15
    retention_days: int = 90
    rate_per_second: float = 50.0
    max_body_bytes: int = 16 * 1024 * 1024
    model: Path | None = None
    explore: float = 0.0
    webhook_private: bool = False
    dms_schemas: Path | None = None
    consignment_rate: float = 2000.0
    tenant_queue: int = 20000
    cookie_secure: bool = True
    trusted_proxies: tuple[str, ...] = ()
    metrics_public: bool = False
    screening_topics: Path | None = None
    watchlist_delta: Path | None = None
    ready_queue: int = 100_000
    log_level: str = "INFO"
    log_format: str = "json"
    assessor: str = "process"
    otlp_endpoint: str | None = None
    shutdown_grace: float = 30.0
    keep_alive: float = 75.0
    territory: tuple[str, ...] = ()
    arrival_grace_hours: float = 24.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env["CLEARWAY_HOME"]) if env.get("CLEARWAY_HOME") else default_home()
        values = {s.field: read(s, env.get(s.env), home) for s in SETTINGS}
        if values["log_level"].upper() not in LOG_LEVELS:
            raise ConfigurationError(f"CLEARWAY_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if values["log_format"] not in ("json", "text"):
            raise ConfigurationError("CLEARWAY_LOG_FORMAT must be `json` or `text`")
        if values["assessor"] not in ("process", "thread"):
            raise ConfigurationError("CLEARWAY_ASSESSOR must be `process` or `thread`")
        return cls(**values | {"log_level": values["log_level"].upper()})


def read(setting: Setting, raw: str | None, home: Path) -> Any:
    """One setting's value from its variable's text (None or empty: the default)."""
    if raw is None or raw == "":
        return setting.default(home) if callable(setting.default) else setting.default
    kind, name = setting.kind, setting.env
    if kind in ("path", "file", "folder"):
        return Path(raw)
    if kind == "flag":
        if raw.lower() in ("1", "true", "yes"):
            return True
        if raw.lower() in ("0", "false", "no"):
            return False
        raise ConfigurationError(f"{name} must be 1/true/yes or 0/false/no, got {raw!r}")
    if kind == "list":
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if kind in ("count", "number", "share"):
        try:
            value: float = int(raw) if kind == "count" else float(raw)
        except ValueError as exc:
            raise ConfigurationError(
                f"{name} must be a {'whole ' if kind == 'count' else ''}number, got {raw!r}"
            ) from exc
        if not math.isfinite(value):
            raise ConfigurationError(f"{name} must be a finite number, got {raw!r}")
        if kind == "share" and not 0 <= value <= 1:
            raise ConfigurationError(f"{name} must be between 0 and 1")
        if kind != "share" and not value > 0:
            raise ConfigurationError(f"{name} must be greater than 0")
        return value
    return raw


def check_declared() -> None:
    """Every field of Settings is declared once in SETTINGS (a test calls this)."""
    declared = [s.field for s in SETTINGS]
    missing = {f.name for f in fields(Settings)} ^ set(declared)
    if missing or len(declared) != len(set(declared)):
        raise AssertionError(f"settings declared and fields differ: {sorted(missing)}")
