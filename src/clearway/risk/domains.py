"""Risk domains as data: what a hit of each domain may cause (lanes, referrals, a mandatory stop), what finding
one infringement is worth beyond the duty and tax at risk, and the legal basis (`data/risk/domains.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from clearway.errors import RuleFileError
from clearway.model.vocabulary import DOMAINS, LANES, REFERRALS, Domain
from clearway.yaml_lines import LINE, line_of, load_with_lines

_KEYS = {"lanes", "referrals", "mandatory", "harm", "basis"}


@dataclass(frozen=True)
class DomainRule:
    domain: Domain
    lanes: frozenset[str]
    referrals: frozenset[str]
    mandatory: bool
    harm: Decimal  # EUR: what finding one infringement is worth beyond the duty and tax at risk
    basis: str

    def refuses(self, lane: str | None, referral: str | None, mandatory: bool) -> str | None:
        """Why an action with this lane, referral and mandatory flag is not this domain's to take, or None."""
        if lane is not None and lane in ("yellow", "red") and lane not in self.lanes:
            return f"the {self.domain} domain asks for no {lane} lane"
        if referral is not None and referral not in self.referrals:
            allowed = ", ".join(sorted(self.referrals)) or "none"
            return f"a {referral} referral is not the {self.domain} domain's (it may open: {allowed})"
        if mandatory and not self.mandatory:
            return f"the {self.domain} domain makes no stop mandatory"
        return None


@dataclass(frozen=True)
class Domains:
    rules: dict[str, DomainRule]
    source: str

    def __getitem__(self, domain: str) -> DomainRule:
        return self.rules[domain]

    def harm(self, domain: str | None) -> Decimal:
        rule = self.rules.get(domain or "")
        return rule.harm if rule else Decimal(0)


def parse_domains(text: str, source: str) -> Domains:
    """The domains file; every domain of the vocabulary must be there, each problem names the file and line."""
    doc = load_with_lines(text, source)
    if not isinstance(doc, dict) or not isinstance(doc.get("domains"), dict):
        raise RuleFileError("a domains file is a mapping with a `domains:` mapping", file=source, line=1)
    entries = {k: v for k, v in doc["domains"].items() if k != LINE}
    unknown = sorted(set(entries) - set(DOMAINS))
    if unknown:
        raise RuleFileError(f"unknown domain {unknown[0]!r}; known: {', '.join(DOMAINS)}", file=source,
                            line=line_of(doc["domains"]))  # fmt: skip
    missing = [d for d in DOMAINS if d not in entries]
    if missing:
        raise RuleFileError(f"domain {missing[0]!r} is not described", file=source, line=line_of(doc["domains"]))
    return Domains({d: _rule(d, entries[d], source) for d in DOMAINS}, source)


def _rule(domain: Domain, node: Any, source: str) -> DomainRule:
    def fail(message: str) -> RuleFileError:
        return RuleFileError(f"{domain}: {message}", file=source, line=line_of(node))

    if not isinstance(node, dict):
        raise fail("a domain is a mapping of lanes, referrals, mandatory, harm and basis")
    extra = sorted(set(node) - _KEYS - {LINE})
    if extra:
        raise fail(f"unknown key {extra[0]!r}")
    lanes, referrals = node.get("lanes") or [], node.get("referrals") or []
    if not isinstance(lanes, list) or not set(lanes) <= set(LANES):
        raise fail(f"lanes are a list of {', '.join(LANES)}")
    if not isinstance(referrals, list) or not set(referrals) <= set(REFERRALS):
        raise fail(f"referrals are a list of {', '.join(REFERRALS)}")
    mandatory = node.get("mandatory", False)
    if not isinstance(mandatory, bool):
        raise fail("mandatory is true or false")
    try:
        harm = Decimal(str(node.get("harm", 0)))
    except InvalidOperation as exc:
        raise fail("harm is an amount in EUR") from exc
    if not harm.is_finite() or harm < 0:
        raise fail("harm is an amount in EUR, zero or more")
    basis = node.get("basis")
    if not isinstance(basis, str) or not basis.strip():
        raise fail("every domain cites its basis")
    return DomainRule(domain, frozenset(lanes), frozenset(referrals), mandatory, harm, " ".join(basis.split()))
