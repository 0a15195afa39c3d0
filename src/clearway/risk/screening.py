"""Watch-list screening of party names: whole names compared both ways, parts weighted by what they tell.

A name is a set of tokens (`risk/names.py`: normalised, legal forms and titles removed with rigour). Each
token carries a weight learned from the list itself: the inverse of how many listed entities use it, so a
word on 300 listed companies (`trading`, `global`, `mohammed`) counts less than one on two. Two names are
compared by aligning their tokens one to one, most alike first (order-free: `KOZLOV, Pavel` is `Pavel
Kozlov`), and the score is the weighted share of both names that the alignment explains: a token left
over on either side lowers it (one of the list name's by a quarter less: lists carry patronymics and
second given names a party leaves out), so a name inside a longer one is never a perfect match, and among list
names the one that explains most of both wins. A name written as one word (`KIMJONGSU`) is compared with
the other written together.
Qualifiers: an identifier on both sides decides (the same: a match; both given and none the same: much
less); a country the entity is not known in costs points, one it is known in adds a little.

Outcomes, not one threshold: `match` (at least MATCH), `possible` (at least POSSIBLE, for an officer to
confirm) and none; what each means for the parcel depends on the entity's FollowTheMoney topics
(`data/risk/screening_topics.yaml`). Every result says which list name matched which query parts, with
the weights, and why the score is what it is.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import json
import math
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import polars as pl
import yaml
from rapidfuzz.distance import Levenshtein

from clearway.errors import RuleFileError
from clearway.pipeline.stage import HIT_SCHEMA, Context, StageOutput, no_hits
from clearway.risk.names import normalise, similarity, token

MATCH = 92.0
"""Scores from here are matches (calibrated on `python -m bench screening`: see the README)."""
POSSIBLE = 76.0
"""Scores from here to MATCH are possible matches, for an officer to confirm."""
COUNTRY_MISMATCH = 8.0  # points off when the entity is known in other countries only
COUNTRY_MATCH = 3.0  # points on when the query's country is one of the entity's
IDENTIFIER_MISMATCH = 15.0  # points off when both sides carry identifiers and none agree
INITIAL_WEIGHT = 1.0  # a single letter tells little, whatever its frequency
LISTED_EXTRA = 0.75  # what an unmatched part of the list name weighs, against 1 for one of the query
SPACING_FLOOR = 0.9  # the names written together agree at least this much
CANDIDATES = 48  # list names scored in full per query, the best by shared (weighted) keys
COMMON_KEY = 3_000  # a key on more list names than this is skipped when the query has rarer ones
VOTE_BUDGET = 6_000  # list names read per query to choose the candidates, rarest keys first
Outcome = Literal["match", "possible"]


@dataclass(frozen=True)
class Entity:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    countries: frozenset[str] = frozenset()
    birth_date: str | None = None
    identifiers: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()  # FollowTheMoney topics: sanction, export.control, role.pep, ...


@dataclass(frozen=True)
class Match:
    entity_id: str
    score: float  # 0 to 100
    matched: str  # the list name (or alias) that matched
    explanation: str
    outcome: Outcome = "match"
    topics: frozenset[str] = frozenset()


def _keys(tokens: tuple[str, ...]) -> set[str]:
    keys = set()
    for text in tokens:
        if len(text) < 2:
            continue
        t = token(text)
        keys |= {text, "#" + t.sound, "~" + t.skeleton}
    joined = "".join(tokens)
    if len(joined) >= 4:
        keys.add("^" + joined[:4])
    return keys


@dataclass
class WatchList:
    entities: tuple[Entity, ...]
    version: str = ""  # a digest of the list's content, recorded with every decision it screened
    _names: list[tuple[int, tuple[str, ...], str]] = field(default_factory=list)  # entity, tokens, original
    _index: dict[str, Sequence[int]] = field(default_factory=dict)  # arrays of name positions
    _df: Counter[str] = field(default_factory=Counter)
    _identifiers: dict[str, int] = field(default_factory=dict)
    _weights: list[tuple[float, ...]] = field(default_factory=list)  # per list name, its tokens' weights

    def __post_init__(self) -> None:
        index: defaultdict[str, Any] = defaultdict(lambda: array("I"))
        for number, entity in enumerate(self.entities):
            seen: set[str] = set()
            for original in (entity.name, *entity.aliases):
                tokens = normalise(original)
                if not tokens:
                    continue
                position = len(self._names)
                self._names.append((number, tokens, original))
                seen |= set(tokens)
                for key in _keys(tokens):
                    index[key].append(position)
            self._df.update(seen)
            for identifier in entity.identifiers:
                self._identifiers[_identifier(identifier)] = number
        self._index = dict(index)
        self._weights = [tuple(self.weight(t) for t in tokens) for _, tokens, _ in self._names]
        if not self.version:
            digest = hashlib.sha256()
            for entity in self.entities:
                digest.update(repr((entity.id, entity.name, entity.aliases, sorted(entity.topics))).encode())
            self.version = digest.hexdigest()[:12]

    def updated(self, upserts: tuple[Entity, ...], removed: frozenset[str]) -> WatchList:
        """The list after a delta: entities added or replaced (by id) and entities removed."""
        replaced = {e.id for e in upserts} | removed
        kept = tuple(e for e in self.entities if e.id not in replaced)
        return WatchList((*kept, *upserts))

    def weight(self, text: str) -> float:
        """What a token tells of identity: rare on the list, much; on many entities, little."""
        if len(text) == 1:
            return INITIAL_WEIGHT
        return math.log(1 + len(self.entities) / (1 + self._df.get(text, 0)))

    def _candidates(self, tokens: tuple[str, ...]) -> list[int]:
        keys = sorted((self._index[key] for key in _keys(tokens) if key in self._index), key=len)
        votes: defaultdict[int, float] = defaultdict(float)
        read = 0
        for number, postings in enumerate(keys):  # rarest first: a surname's key says more than a given name's
            if number and (len(postings) > COMMON_KEY or read + len(postings) > VOTE_BUDGET):
                break
            share = 1.0 / math.log(2 + len(postings))
            for position in postings:
                votes[position] += share
            read += len(postings)
        return heapq.nlargest(CANDIDATES, votes, key=votes.__getitem__)

    def compare(
        self, query: tuple[str, ...], listed: tuple[str, ...], listed_weights: tuple[float, ...] | None = None
    ) -> tuple[float, str]:
        """Score (0 to 1) of two token sets, aligned one to one most alike first, and the alignment in words."""
        wq = [self.weight(t) for t in query]
        wl = listed_weights or tuple(self.weight(t) for t in listed)
        pairs = sorted(
            ((similarity(a, b), i, j) for i, a in enumerate(query) for j, b in enumerate(listed)), reverse=True
        )
        used_q: set[int] = set()
        used_l: set[int] = set()
        explained, parts = 0.0, []
        for sim, i, j in pairs:
            if sim <= 0:
                break
            if i in used_q or j in used_l:
                continue
            used_q.add(i)
            used_l.add(j)
            explained += sim * (wq[i] + wl[j])
            parts.append(f"{query[i]}={listed[j]}" + ("" if sim == 1 else f" ({sim:.2f})"))
        # a list name often carries parts a party leaves out (a patronymic, a second given name): its
        # unmatched parts count less; the query's own unmatched parts are a claim of another identity, whole
        total = sum(wq) + sum(w if j in used_l else LISTED_EXTRA * w for j, w in enumerate(wl))
        score = explained / total if total else 0.0
        left = [query[i] for i in range(len(query)) if i not in used_q] + [
            listed[j] for j in range(len(listed)) if j not in used_l
        ]
        why = ", ".join(parts) or "no part agrees"
        if left:
            why += f"; unmatched {' '.join(left)}"
        joined_q, joined_l = "".join(query), "".join(listed)
        if (len(query) == 1) != (len(listed) == 1) and min(len(joined_q), len(joined_l)) >= 6:  # `KIMJONGSU`
            together = Levenshtein.normalized_similarity(joined_q, joined_l)
            if together >= SPACING_FLOOR and together > score:
                return together, f"written together: {joined_q} ~ {joined_l} ({together:.2f})"
        return score, why

    def screen(
        self,
        name: str,
        country: str | None = None,
        identifiers: tuple[str, ...] = (),
        threshold: float = POSSIBLE,
        *,
        match_at: float = MATCH,
    ) -> list[Match]:
        """Entities whose best name scores at least `threshold`, best first, each `match` from `match_at`
        and `possible` below."""
        for identifier in identifiers:
            number = self._identifiers.get(_identifier(identifier))
            if number is not None:
                entity = self.entities[number]
                return [Match(entity.id, 100.0, entity.name, f"identifier {identifier} is on the list", "match",
                              entity.topics)]  # fmt: skip
        query = normalise(name)
        if not query:
            return []
        best: dict[int, tuple[float, str, str]] = {}
        for position in self._candidates(query):
            number, listed, original = self._names[position]
            score, why = self.compare(query, listed, self._weights[position])
            if score > best.get(number, (-1.0, "", ""))[0]:
                best[number] = (score, original, why)
        matches = []
        for number, (raw, original, why) in best.items():
            entity = self.entities[number]
            score, notes = 100 * raw, [f"{' '.join(query)} ~ {original}: {why} -> {100 * raw:.0f}"]
            if country and entity.countries:
                if country in entity.countries:
                    score = min(100.0, score + COUNTRY_MATCH)
                    notes.append(f"country {country} agrees (+{COUNTRY_MATCH:.0f})")
                else:
                    score -= COUNTRY_MISMATCH
                    notes.append(
                        f"country {country} is not {'/'.join(sorted(entity.countries))} (-{COUNTRY_MISMATCH:.0f})"
                    )
            if identifiers and entity.identifiers:
                score -= IDENTIFIER_MISMATCH
                notes.append(f"identifiers on both sides and none agree (-{IDENTIFIER_MISMATCH:.0f})")
            if score >= threshold:
                outcome: Outcome = "match" if score >= match_at else "possible"
                matches.append(Match(entity.id, round(score, 1), original, "; ".join(notes), outcome, entity.topics))
        return sorted(matches, key=lambda m: -m.score)


def _identifier(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.split(":", 1)[-1].upper())


CSV_COLUMNS = ["id", "name", "aliases", "country", "birth_date", "identifiers"]


def parse_csv_list(text: str, source: str) -> tuple[Entity, ...]:
    """The plain list: `id,name,aliases,country,birth_date,identifiers[,topics]` (lists split by `;`)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames not in (CSV_COLUMNS, [*CSV_COLUMNS, "topics"]):
        raise RuleFileError(f"the header must be {','.join(CSV_COLUMNS)}[,topics]", file=source, line=1)
    entities = []
    for number, row in enumerate(reader, start=2):
        if not row["id"] or not row["name"]:
            raise RuleFileError("every entity needs an id and a name", file=source, line=number)
        entities.append(
            Entity(
                id=row["id"],
                name=row["name"],
                aliases=_split(row["aliases"]),
                countries=frozenset(c.upper() for c in _split(row["country"])),
                birth_date=row["birth_date"] or None,
                identifiers=frozenset(_split(row["identifiers"])),
                topics=frozenset(_split(row.get("topics"))),
            )
        )
    return tuple(entities)


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (cell or "").split(";") if part.strip())


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
                topics=frozenset(props.get("topics") or []),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RuleFileError(f"not a FollowTheMoney entity: {exc}", file=source, line=number) from exc
        if entity.name:
            entities.append(entity)
    return tuple(entities)


def parse_delta_lines(text: str, source: str) -> tuple[tuple[Entity, ...], frozenset[str]]:
    """A list delta, one JSON object a line as OpenSanctions publishes them: `{"op": "ADD"|"MOD"|"DEL",
    "entity": {...}}` (a FollowTheMoney entity; for DEL its id suffices). Returns (added or changed, removed)."""
    upserts: dict[str, Entity] = {}
    removed: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            op, entity = str(doc["op"]).upper(), doc["entity"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RuleFileError(f"not a list delta line: {exc}", file=source, line=number) from exc
        if op == "DEL":
            removed.add(str(entity["id"]))
            upserts.pop(str(entity["id"]), None)
        elif op in ("ADD", "MOD"):
            for parsed in parse_ftm_lines(json.dumps(entity), f"{source}:{number}"):
                upserts[parsed.id] = parsed
                removed.discard(parsed.id)
        else:
            raise RuleFileError(f"unknown delta op {op!r}: ADD, MOD or DEL", file=source, line=number)
    return tuple(upserts.values()), frozenset(removed)


Consequence = Literal["stop", "inform"]


@dataclass(frozen=True)
class Consequences:
    """What a result means, by topic (the strictest of an entity's topics wins); `default` for no topics."""

    default: Consequence = "stop"
    topics: dict[str, Consequence] = field(default_factory=dict)

    def of(self, topics: frozenset[str]) -> Consequence:
        if not topics:
            return self.default
        found = {self.topics.get(t, self.topics.get(t.split(".")[0], "inform")) for t in topics}
        return "stop" if "stop" in found else "inform"


def parse_consequences(text: str, source: str) -> Consequences:
    """The topics file (`data/risk/screening_topics.yaml`): a default and a consequence per topic."""
    try:
        doc = yaml.safe_load(text) or {}
        default = doc.get("default", "stop")
        topics = {
            str(topic): (entry if isinstance(entry, str) else entry["consequence"])
            for topic, entry in (doc.get("topics") or {}).items()
        }
    except (yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise RuleFileError(f"not a screening topics file: {exc}", file=source) from exc
    bad = sorted({c for c in (default, *topics.values()) if c not in ("stop", "inform")})
    if bad:
        raise RuleFileError(f"a consequence is `stop` or `inform`, not {', '.join(map(str, bad))}", file=source)
    return Consequences(cast(Consequence, default), cast(dict[str, Consequence], topics))


@dataclass(frozen=True)
class ScreeningStage:
    """Screens seller, consignor and consignee of each consignment against the list. A match with an entity
    whose topics stop (sanctions, export control) holds the parcel red; a possible match goes to an officer
    to confirm (yellow); a match with an entity that only informs (a PEP, a wanted notice) is a reason the
    officer reads, with no lane. Every consignment carries the version of the list that screened it
    (`screened_with`, kept with its decision in the event log and the ledger)."""

    watchlist: WatchList
    threshold: float = POSSIBLE
    match_at: float = MATCH
    consequences: Consequences = field(default_factory=Consequences)
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
                    seen[name, country] = self.watchlist.screen(
                        name, country, threshold=self.threshold, match_at=self.match_at
                    )
                for match in seen[name, country][:1]:
                    found.setdefault(match.entity_id, (match, []))[1].append(role)
            for match, where in found.values():
                rows.append(self._hit(key, match, where))
        screened = batch.select("key", pl.lit(self.watchlist.version, dtype=pl.String).alias("screened_with"))
        return StageOutput(pl.DataFrame(rows, schema=HIT_SCHEMA), screened)

    def _hit(self, key: str, match: Match, where: list[str]) -> dict[str, Any]:
        parties = "/".join(r for r in where if not (r == "consignor" and "seller" in where))
        consequence = self.consequences.of(match.topics)
        topics = f" [{', '.join(sorted(match.topics))}]" if match.topics else ""
        if match.outcome == "possible":
            lane, said = ("yellow" if consequence == "stop" else None), "possibly matches"
        else:
            lane, said = ("red" if consequence == "stop" else None), "matches"
        if consequence == "inform":
            said += " (for information)"
        message = (
            f"{parties} {said} watch-list entry {match.entity_id}{topics} ({match.matched}), score {match.score}, "
            f"list {self.watchlist.version}: {match.explanation}"
        )
        return {"key": key, "source": "screening", "code": match.entity_id, "lane": lane, "message": message,
                "referral": None, "agency": None, "weight": match.score}  # fmt: skip
