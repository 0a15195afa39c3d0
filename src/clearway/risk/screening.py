"""Watch-list screening of party names: normalisation, blocking, token-level fuzzy scoring, qualifiers.

Normalisation: NFKC, homoglyphs and non-Latin scripts transliterated to ASCII (anyascii; CJK and Hangul
syllable by syllable), case folding, punctuation to spaces, legal-form words dropped. Blocking: a name
is only compared with list names that share a token or a token's first three letters. Scoring
(rapidfuzz, 0-100): token-sort, the joined-string ratio where the token counts differ (spacing), and
a fuzzy subset where every token
of the shorter name is close to one of the longer's (a dropped middle name, not a different company
in the same city and trade); then qualifiers: a
matching identifier wins outright, a country that the entity does not have costs points, one it has
adds a little. Every match says which list name it matched and why.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl
from anyascii import anyascii
from rapidfuzz import fuzz

from clearway.errors import RuleFileError
from clearway.pipeline.stage import HIT_SCHEMA, Context, StageOutput, no_hits

LEGAL_FORMS = frozenset(
    {
        "ltd",
        "limited",
        "co",
        "company",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "llc",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "pvt",
        "pte",
        "tic",
        "sti",
        "ve",
        "kg",
        "ohg",
        "jsc",
        "pjsc",
        "ojsc",
        "cjsc",
        "ooo",
        "zao",
        "oao",
        "llp",
        "lp",
        "trading",
        "group",
        "holding",
        "holdings",
        "the",
        "youxian",
        "gongsi",
        "you",
        "xian",
        "gong",
        "si",
    }
)
"""Legal-form and filler words that say nothing about who the party is (including transliterated 有限公司)."""

COUNTRY_MISMATCH = 8.0  # points off when the entity is known in other countries only
COUNTRY_MATCH = 3.0  # points on when the query's country is one of the entity's
_CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af]")
_PUNCT = re.compile(r"[^a-z0-9 ]+")


HOMOGLYPHS = str.maketrans(
    "АВЕКМНОРСТУХаеорсухіјѕԁԛԝӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοκνρτυχ",
    "ABEKMHOPCTYXaeopcyxijsdqwlABEZHIKMNOPTYXaoknptux",
)
"""Cyrillic and Greek letters that look like Latin ones: folded to Latin inside otherwise Latin words
(`Нussein` with a Cyrillic Н), while words wholly in Cyrillic or Greek are transliterated by sound."""
_LATIN = re.compile(r"[A-Za-z]")
_OTHER = re.compile(r"[\u0370-\u03ff\u0400-\u052f]")


def _fold_homoglyphs(text: str) -> str:
    words = text.split(" ")
    return " ".join(w.translate(HOMOGLYPHS) if _LATIN.search(w) and _OTHER.search(w) else w for w in words)


@lru_cache(maxsize=200_000)
def normalise_name(text: str) -> str:
    """The comparable form of a name: `Shenzhen Rеdline Electronics Co., Ltd.` -> `shenzhen redline electronics`."""
    text = _fold_homoglyphs(unicodedata.normalize("NFKC", text))
    text = _CJK.sub(lambda m: f" {anyascii(m.group(0))} ", text)
    text = anyascii(text).casefold()
    tokens = _PUNCT.sub(" ", text.replace("&", " and ")).split()
    kept = [t for t in tokens if t not in LEGAL_FORMS]
    return " ".join(kept or tokens)


@dataclass(frozen=True)
class Entity:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    countries: frozenset[str] = frozenset()
    birth_date: str | None = None
    identifiers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    entity_id: str
    score: float
    matched: str  # the list name (or alias) that matched
    explanation: str


def _block_keys(name: str) -> set[str]:
    return {k for token in name.split() for k in (token, token[:3]) if len(token) >= 2}


@dataclass
class WatchList:
    entities: tuple[Entity, ...]
    _names: list[tuple[int, str, str]] = field(default_factory=list)  # entity index, normalised, original
    _blocks: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    _identifiers: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for index, entity in enumerate(self.entities):
            for original in (entity.name, *entity.aliases):
                norm = normalise_name(original)
                if not norm:
                    continue
                position = len(self._names)
                self._names.append((index, norm, original))
                for key in _block_keys(norm):
                    self._blocks[key].add(position)
            for identifier in entity.identifiers:
                self._identifiers[_identifier(identifier)] = index

    def screen(
        self, name: str, country: str | None = None, identifiers: tuple[str, ...] = (), threshold: float = 88.0
    ) -> list[Match]:
        """Entities whose best name scores at least `threshold`, best first."""
        for identifier in identifiers:
            index = self._identifiers.get(_identifier(identifier))
            if index is not None:
                entity = self.entities[index]
                return [Match(entity.id, 100.0, entity.name, f"identifier {identifier} is on the list")]
        query = normalise_name(name)
        if not query:
            return []
        candidates: set[int] = set()
        for key in _block_keys(query):
            candidates |= self._blocks.get(key, set())
        best: dict[int, tuple[float, str, str]] = {}
        for position in candidates:
            index, norm, original = self._names[position]
            raw = fuzz.token_sort_ratio(query, norm)
            q_tokens, n_tokens = set(query.split()), set(norm.split())
            if len(q_tokens) != len(n_tokens):  # spacing variants: "kimjongsu", "al noor" / "alnoor"
                raw = max(raw, fuzz.ratio(query.replace(" ", ""), norm.replace(" ", "")))
            raw = max(raw, _inside(q_tokens, n_tokens))
            if raw > best.get(index, (-1.0, "", ""))[0]:
                best[index] = (raw, original, norm)
        matches = []
        for index, (raw, original, norm) in best.items():
            entity = self.entities[index]
            score, why = raw, [f"{query!r} ~ {norm!r}: {raw:.0f}"]
            if country and entity.countries:
                if country in entity.countries:
                    score, why = (
                        min(100.0, score + COUNTRY_MATCH),
                        [*why, f"country {country} agrees (+{COUNTRY_MATCH:.0f})"],
                    )
                else:
                    score, why = (
                        score - COUNTRY_MISMATCH,
                        [
                            *why,
                            f"country {country} is not {'/'.join(sorted(entity.countries))} (-{COUNTRY_MISMATCH:.0f})",
                        ],
                    )
            if score >= threshold:
                matches.append(Match(entity.id, round(score, 1), original, "; ".join(why)))
        return sorted(matches, key=lambda m: -m.score)


INITIAL = 90.0
"""What an initial (`J` for `John`) is worth: agreement, but weaker than the whole name."""


def _token_similarity(token: str, other: str) -> float:
    if len(token) == 1 or len(other) == 1:
        return INITIAL if token[0] == other[0] else 0.0
    return fuzz.ratio(token, other)


def _inside(a: set[str], b: set[str]) -> float:
    """How well the shorter name sits inside the longer: every token close to one of the other's (a dropped
    middle name, a misspelt surname, an initial), not two names that merely share a city and a trade."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < 2:
        return 0.0
    best = [max(_token_similarity(token, other) for other in long) for token in short]
    whole = [s for t, s in zip(short, best, strict=True) if len(t) > 1]
    if min(best) < 80 or not whole or max(whole) < 95:  # one full token must agree, not initials alone
        return 0.0
    return 0.98 * sum(best) / len(best)


def _identifier(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.split(":", 1)[-1].upper())


def parse_csv_list(text: str, source: str) -> tuple[Entity, ...]:
    """The plain list: `id,name,aliases,country,birth_date,identifiers` (aliases, identifiers split by `;`)."""
    reader = csv.DictReader(io.StringIO(text))
    expected = ["id", "name", "aliases", "country", "birth_date", "identifiers"]
    if reader.fieldnames != expected:
        raise RuleFileError(f"the header must be {','.join(expected)}", file=source, line=1)
    entities = []
    for number, row in enumerate(reader, start=2):
        if not row["id"] or not row["name"]:
            raise RuleFileError("every entity needs an id and a name", file=source, line=number)
        entities.append(
            Entity(
                id=row["id"],
                name=row["name"],
                aliases=tuple(a.strip() for a in (row["aliases"] or "").split(";") if a.strip()),
                countries=frozenset(c.strip().upper() for c in (row["country"] or "").split(";") if c.strip()),
                birth_date=row["birth_date"] or None,
                identifiers=frozenset(i.strip() for i in (row["identifiers"] or "").split(";") if i.strip()),
            )
        )
    return tuple(entities)


FTM_NAMES = ("name", "alias", "weakAlias", "previousName")
FTM_COUNTRIES = ("country", "nationality", "jurisdiction", "citizenship")
FTM_IDS = (
    "registrationNumber",
    "taxNumber",
    "idNumber",
    "passportNumber",
    "innCode",
    "leiCode",
    "imoNumber",
    "ogrnCode",
)


def parse_ftm_lines(text: str, source: str) -> tuple[Entity, ...]:
    """FollowTheMoney entities, one JSON object a line (the OpenSanctions export format)."""
    entities = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            props = doc.get("properties") or {}
            names = [n for key in FTM_NAMES for n in props.get(key) or []]
            entity = Entity(
                id=str(doc["id"]),
                name=(props.get("name") or names or [doc.get("caption", "")])[0],
                aliases=tuple(dict.fromkeys(names[1:])),
                countries=frozenset(c.upper() for key in FTM_COUNTRIES for c in props.get(key) or []),
                birth_date=(props.get("birthDate") or [None])[0],
                identifiers=frozenset(i for key in FTM_IDS for i in props.get(key) or []),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RuleFileError(f"not a FollowTheMoney entity: {exc}", file=source, line=number) from exc
        if entity.name:
            entities.append(entity)
    return tuple(entities)


@dataclass(frozen=True)
class ScreeningStage:
    """Screens seller, consignor and consignee of each consignment; a match holds the parcel (red)."""

    watchlist: WatchList
    threshold: float = 88.0
    name: str = "screening"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.is_empty() or not self.watchlist.entities:
            return StageOutput(no_hits())
        roles = {"seller": "seller_country", "consignee": "consignee_country", "consignor": "consignor_country"}
        columns = [c for role, country in roles.items() for c in (f"{role}_name", country)]
        seen: dict[tuple[str, str | None], list[Match]] = {}
        rows = []
        for key, *values in batch.select("key", *columns).iter_rows():
            found: dict[str, tuple[Match, list[str]]] = {}
            for role, name, country in zip(roles, values[0::2], values[1::2], strict=True):
                if not name:
                    continue
                if (name, country) not in seen:
                    seen[name, country] = self.watchlist.screen(name, country, threshold=self.threshold)
                for match in seen[name, country][:1]:
                    found.setdefault(match.entity_id, (match, []))[1].append(role)
            for match, where in found.values():
                parties = "/".join(r for r in where if not (r == "consignor" and "seller" in where))
                message = f"{parties} matches watch-list entry {match.entity_id} ({match.matched}), score {match.score}"
                rows.append({"key": key, "source": "screening", "code": match.entity_id, "lane": "red",
                             "message": f"{message}: {match.explanation}", "referral": None, "agency": None,
                             "weight": match.score})  # fmt: skip
        return StageOutput(pl.DataFrame(rows, schema=HIT_SCHEMA))
