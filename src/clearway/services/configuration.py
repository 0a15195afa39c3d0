"""The configuration as an operator sees it: the reference (`docs/configuration.md`, generated from
`settings.SETTINGS`) and a check of the environment (`clearway config check`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from clearway.errors import ConfigurationError
from clearway.settings import HOME, SETTINGS, Setting, Settings, default_home
from clearway.store.engine import DatabaseUrl

INTRO = """# Configuration

Every setting is an environment variable. This page is generated from `clearway.settings.SETTINGS`
(`clearway config doc > docs/configuration.md`; a test checks it is current). `clearway config check`
validates the environment and prints the configuration in force, secrets hidden.

| variable | what it sets | default |
|---|---|---|
"""


def _row(setting: Setting) -> str:
    return f"| `{setting.env}` | {setting.help} | {setting.shown_default()} |"


def reference_markdown() -> str:
    return INTRO + "\n".join(_row(s) for s in (HOME, *SETTINGS)) + "\n"


@dataclass(frozen=True)
class Finding:
    env: str
    shown: str  # the value in force, secrets hidden
    problem: str | None = None


def shown(setting: Setting, value: object) -> str:
    if value is None or value == ():
        return "(default)" if setting.default is None else "none"
    if setting.kind == "url":
        try:
            return DatabaseUrl(str(value)).shown()
        except ValueError:
            return "(not a database URL; not shown, it may hold a password)"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def check(env: Mapping[str, str] | None = None) -> list[Finding]:
    """Each setting with the value in force and what is wrong with it, if anything: files and folders that
    must exist, key files readable (or their folder writable, to make them), the database URL parseable."""
    env = os.environ if env is None else env
    try:
        settings = Settings.from_env(env)
    except ConfigurationError as exc:
        return [Finding("environment", "", exc.message)]
    home = Path(env["CLEARWAY_HOME"]) if env.get("CLEARWAY_HOME") else default_home()
    findings = [Finding(HOME.env, str(home))]
    for setting in SETTINGS:
        value = getattr(settings, setting.field)
        findings.append(Finding(setting.env, shown(setting, value), _problem(setting, value)))
    return findings


def _problem(setting: Setting, value: object) -> str | None:
    if value is None:
        return None
    if setting.kind == "file" and not Path(str(value)).is_file():
        return f"no file at {value}"
    if setting.kind == "folder" and not Path(str(value)).is_dir():
        return f"no folder at {value}"
    if setting.kind == "path":
        path = Path(str(value))
        if path.exists() and not os.access(path, os.R_OK):
            return f"{path} is not readable"
        if not path.exists() and not os.access(_existing_parent(path), os.W_OK):
            return f"{path} does not exist and its folder is not writable to make it"
    if setting.kind == "url":
        try:
            url = DatabaseUrl(str(value))
        except ValueError:
            return "not a database URL: it cannot be parsed (not shown, it may hold a password)"
        if url.backend not in ("sqlite", "postgresql"):
            return f"{url.backend} is not supported: SQLite or PostgreSQL"
    return None


def _existing_parent(path: Path) -> Path:
    for parent in path.parents:
        if parent.exists():
            return parent
    return Path("/")
