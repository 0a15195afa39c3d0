"""Documents officers edit in the service (risk profiles, selectivity settings): validated, versioned,
activated by swapping the running pipeline, and audited. The newest stored version of a kind is in force;
with none stored, the configured file or the packaged default is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import yaml

from clearway.auth.clients import Principal
from clearway.bootstrap import SELECTIVITY, App, load_domains, load_selectivity, packaged_text, profiles_text
from clearway.errors import RuleFileError
from clearway.risk import ProfileSet, parse_profiles
from clearway.risk.selectivity import Settings as SelectivitySettings
from clearway.store import config as config_store
from clearway.yaml_lines import LINE, load_with_lines

Kind = Literal["profiles", "selectivity"]
_encode = msgspec.json.Encoder(order="deterministic").encode


@dataclass(frozen=True)
class Document:
    kind: Kind
    text: str
    source: str  # where it came from: a file, the package, or `database vN`
    version: int  # 0: not stored (file or package)


def current(app: App, kind: Kind) -> Document:
    stored = config_store.latest(app.store.engine, kind)
    if stored is not None:
        version, text = stored
        return Document(kind, text, f"{kind} v{version}", version)
    if kind == "profiles":
        text, source = profiles_text(app.settings.profiles)
        return Document(kind, text, source, 0)
    return Document(kind, packaged_text(SELECTIVITY), SELECTIVITY, 0)


def compile_profiles(text: str, source: str = "edited profiles") -> ProfileSet:
    """Parse and compile; a bad document raises RuleFileError with the line."""
    return parse_profiles(text, source, load_domains())


def without_profile(text: str, profile_id: str, source: str = "edited profiles") -> str:
    """The profile file's text with one profile left out (comments are not kept): what retiring it would be."""
    doc = load_with_lines(text, source)
    if not isinstance(doc, dict) or not isinstance(doc.get("profiles"), list):
        raise RuleFileError("a profile file is a mapping with a `profiles:` list", file=source, line=1)
    kept = [_plain(p) for p in doc["profiles"] if not (isinstance(p, dict) and p.get("id") == profile_id)]
    if len(kept) == len(doc["profiles"]):
        raise RuleFileError(f"no profile {profile_id!r} to leave out", file=source, line=1)
    return yaml.safe_dump({"profiles": kept}, sort_keys=False, allow_unicode=True)


def _plain(node: Any) -> Any:
    """A YAML node without the line numbers the loader adds."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items() if k != LINE}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def compile_selectivity(text: str, source: str = "edited selectivity") -> SelectivitySettings:
    return load_selectivity(text, source)


def apply_stored(app: App) -> None:
    """At start: put the stored versions (if any) in force."""
    profiles, selectivity = current(app, "profiles"), current(app, "selectivity")
    if profiles.version:
        app.profiles = compile_profiles(profiles.text, profiles.source)
    if selectivity.version:
        app.selectivity = compile_selectivity(selectivity.text, selectivity.source)
    if profiles.version or selectivity.version:
        app.pipeline = app.rebuild()


def activate(app: App, officer: Principal, kind: Kind, text: str, *, now: dt.datetime) -> Document:
    """Validate, store as the next version, swap the running pipeline, and audit the change."""
    before = current(app, kind)
    if kind == "profiles":
        profiles, selectivity = compile_profiles(text), app.selectivity
    else:
        profiles, selectivity = app.profiles, compile_selectivity(text)
    pipeline = app.rebuild(profiles, selectivity)
    version = config_store.add_version(
        app.store.engine, kind, text, at=now, actor=officer.name, role=officer.role, action=f"{kind}_activated",
        before={"version": before.version, "source": before.source}, after={},
    )  # fmt: skip
    app.profiles, app.selectivity, app.pipeline = profiles, selectivity, pipeline
    return Document(kind, text, f"{kind} v{version}", version)
