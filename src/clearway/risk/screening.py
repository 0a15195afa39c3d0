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
import functools
import hashlib
import io
import json
import math
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import msgspec
import numpy as np
import numpy.typing as npt
import polars as pl
import yaml
from rapidfuzz.distance import Levenshtein

from clearway.errors import RuleFileError
from clearway.pipeline.stage import HIT_SCHEMA, Context, StageOutput, no_hits
from clearway.risk.names import normalise, similarity, token, tokens_of

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
WEIGHT_CEILING = 2_000.0
"""A token rarer than one in this many list entities weighs as much as any rarer one: a large list cannot tell
one in a million from unseen, and a word the list lacks (a title rigour does not know, a typo) must not outweigh
the rest of a name because the list is long."""
NEIGHBOUR_MIN = 5  # tokens this long also find list tokens one edit away (deletion neighbourhoods)
SCREENED_NAMES = 65_536  # (name, country) pairs a stage remembers the screening of: a few MB
NEIGHBOUR_VOTE = 0.5  # what a list token one edit away counts in choosing candidates, against 1 for the same
Outcome = Literal["match", "possible"]


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    countries: frozenset[str] = frozenset()
    birth_date: str | None = None
    identifiers: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()  # FollowTheMoney topics: sanction, export.control, role.pep, ...


@dataclass(frozen=True, slots=True)
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
    _keys: dict[str, int] = field(default_factory=dict)  # key -> its number in the postings' offsets
    _offsets: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, np.int64))
    _postings: npt.NDArray[np.uint32] = field(default_factory=lambda: np.zeros(0, np.uint32))  # name positions
    _identifiers: dict[str, int] = field(default_factory=dict)
    _token_weights: dict[str, float] = field(default_factory=dict)  # each list token's weight, computed once
    _vocabulary: list[str] = field(default_factory=list)  # list tokens of NEIGHBOUR_MIN letters or more
    _deletions: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))  # sorted hashes
    _deleted_from: npt.NDArray[np.uint32] = field(default_factory=lambda: np.zeros(0, np.uint32))  # their tokens

    def __post_init__(self) -> None:
        keyed, positions = array("I"), array("I")  # (key number, name position), one pair per key of a name
        df: Counter[str] = Counter()  # on how many entities each token is
        canonical: dict[str, str] = {}  # one string per distinct token, however many names share it
        for number, entity in enumerate(self.entities):
            seen: set[str] = set()
            for original in (entity.name, *entity.aliases):
                tokens = tuple(canonical.setdefault(t, t) for t in tokens_of(original))
                if not tokens:
                    continue
                position = len(self._names)
                self._names.append((number, tokens, original))
                seen.update(tokens)
                for key in _keys(tokens):
                    keyed.append(self._keys.setdefault(key, len(self._keys)))
                    positions.append(position)
            df.update(seen)
            for identifier in entity.identifiers:
                self._identifiers[_identifier(identifier)] = number
        del canonical
        # postings as one array grouped by key (compressed rows): little memory, and numpy reads them at once
        by_key = np.frombuffer(keyed, dtype=np.uint32)
        order = np.argsort(by_key, kind="stable")
        self._postings = np.frombuffer(positions, dtype=np.uint32)[order]
        self._offsets = np.zeros(len(self._keys) + 1, np.int64)
        np.cumsum(np.bincount(by_key, minlength=len(self._keys)), out=self._offsets[1:])
        del by_key, order, keyed, positions
        size = len(self.entities)
        self._token_weights = {t: math.log(1 + min(size / (1 + n), WEIGHT_CEILING)) for t, n in df.items()}
        del df
        self._index_neighbours()
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

    def _index_neighbours(self) -> None:
        """Every list token's deletion neighbourhood (itself and each form with one letter left out), hashed:
        a query token one edit away shares a form with it (SymSpell's idea), so a typo in the rarest part of a
        name still finds it on a list of a million."""
        self._vocabulary = [t for t in self._token_weights if len(t) >= NEIGHBOUR_MIN]
        hashes, owners = array("q"), array("I")
        for number, text in enumerate(self._vocabulary):
            for form in _deletion_forms(text):
                hashes.append(hash(form))
                owners.append(number)
        order = np.argsort(np.frombuffer(hashes, dtype=np.int64), kind="stable")
        self._deletions = np.frombuffer(hashes, dtype=np.int64)[order]
        self._deleted_from = np.frombuffer(owners, dtype=np.uint32)[order]

    def neighbours(self, text: str) -> set[str]:
        """List tokens one edit (or a transposition) from `text`, `text` itself excepted."""
        if len(text) < NEIGHBOUR_MIN - 1 or not len(self._deletions):
            return set()
        forms = np.fromiter((hash(f) for f in _deletion_forms(text)), dtype=np.int64)
        left = np.searchsorted(self._deletions, forms, side="left")
        right = np.searchsorted(self._deletions, forms, side="right")
        found = {self._vocabulary[int(o)] for a, b in zip(left, right, strict=True) for o in self._deleted_from[a:b]}
        return {t for t in found if t != text and Levenshtein.distance(t, text, score_cutoff=2) <= 2}

    def weight(self, text: str) -> float:
        """What a token tells of identity: rare on the list, much; on many entities, little."""
        if len(text) == 1 or (len(text) == 2 and text not in self._token_weights):  # an initial; an abbreviation
            return INITIAL_WEIGHT
        return self._token_weights.get(text) or math.log(1 + min(len(self.entities), WEIGHT_CEILING))

    def _candidates(self, tokens: tuple[str, ...]) -> list[int]:
        """The list names worth scoring: votes from the query's keys, rarest first (a surname's key says more
        than a given name's), each worth less the more names share it, within a read budget."""
        near = {n for text in tokens for n in self.neighbours(text)}  # typos: a weaker vote than the word itself
        if len(tokens) == 1 and len(tokens[0]) >= 8:  # a name written as one word: the list words inside it
            joined = tokens[0]
            near |= {
                joined[i:j] for i in range(len(joined)) for j in range(i + 4, len(joined) + 1)
            } & self._token_weights.keys()
        spans = sorted(
            (int(self._offsets[k + 1] - self._offsets[k]), int(self._offsets[k]), NEIGHBOUR_VOTE if near_key else 1.0)
            for keys, near_key in ((_keys(tokens), False), (near, True))
            for k in (self._keys.get(key) for key in keys)
            if k is not None
        )
        chosen, read = [], 0
        for number, (size, start, factor) in enumerate(spans):
            if number and (size > COMMON_KEY or read + size > VOTE_BUDGET):
                break
            chosen.append((size, start, factor))
            read += size
        if not chosen:
            return []
        positions = np.concatenate([self._postings[start : start + size] for size, start, _ in chosen])
        shares = np.repeat([f / math.log(2 + size) for size, _, f in chosen], [size for size, _, _ in chosen])
        names, inverse = np.unique(positions, return_inverse=True)
        votes = np.bincount(inverse, weights=shares)
        if len(names) > CANDIDATES:
            top = np.argpartition(-votes, CANDIDATES - 1)[:CANDIDATES]
            names, votes = names[top], votes[top]
        return [int(names[i]) for i in np.argsort(-votes, kind="stable")]

    def compare(
        self,
        query: tuple[str, ...],
        listed: tuple[str, ...],
        listed_weights: tuple[float, ...] | None = None,
        query_weights: Sequence[float] | None = None,
        *,
        explain: bool = True,
    ) -> tuple[float, str]:
        """Score (0 to 1) of two token sets, aligned one to one most alike first, and the alignment in words
        (left empty unless `explain`: screening words only the results it keeps)."""
        wq = query_weights or [self.weight(t) for t in query]
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
            if explain:
                parts.append(f"{query[i]}={listed[j]}" + ("" if sim == 1 else f" ({sim:.2f})"))
        # a list name often carries parts a party leaves out (a patronymic, a second given name): its
        # unmatched parts count less; the query's own unmatched parts are a claim of another identity, whole
        total = sum(wq) + sum(w if j in used_l else LISTED_EXTRA * w for j, w in enumerate(wl))
        score = explained / total if total else 0.0
        why = ""
        if explain:
            left = [query[i] for i in range(len(query)) if i not in used_q] + [
                listed[j] for j in range(len(listed)) if j not in used_l
            ]
            why = (", ".join(parts) or "no part agrees") + (f"; unmatched {' '.join(left)}" if left else "")
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
        weights = [self.weight(t) for t in query]
        best: dict[int, tuple[float, int]] = {}  # entity -> its best name's score and position
        for position in self._candidates(query):
            number, listed, _ = self._names[position]
            listed_weights = tuple(map(self._token_weights.__getitem__, listed))
            score, _ = self.compare(query, listed, listed_weights, weights, explain=False)
            if score > best.get(number, (-1.0, 0))[0]:
                best[number] = (score, position)
        matches = []
        for number, (raw, position) in best.items():
            if 100 * raw + COUNTRY_MATCH < threshold:
                continue
            entity, (_, listed, original) = self.entities[number], self._names[position]
            why = self.compare(query, listed, None, weights)[1]
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
        # equal scores: the name as written in the same order first (`Valentina Mateo X` before `Mateo Valentina X`)
        written = " ".join(query)
        return sorted(
            matches, key=lambda m: (-m.score, -Levenshtein.normalized_similarity(written, m.matched.casefold()))
        )


def _deletion_forms(text: str) -> set[str]:
    return {text, *(text[:i] + text[i + 1 :] for i in range(len(text)))}


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


def parse_ftm_lines(text: str | Iterable[str], source: str) -> tuple[Entity, ...]:
    """FollowTheMoney entities, one JSON object a line (the OpenSanctions export format); `text` may be the
    lines of an open file, so a list of a million entities is never held twice."""
    entities = []
    interned: dict[frozenset[str], frozenset[str]] = {}  # the few country and topic sets, each kept once
    lines = text.splitlines() if isinstance(text, str) else text
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            doc = msgspec.json.decode(line)
            props = doc.get("properties") or {}
            names = [n for key in FTM_NAMES for n in props.get(key) or []]
            entity = Entity(
                id=str(doc["id"]),
                name=(props.get("name") or names or [doc.get("caption", "")])[0],
                aliases=tuple(dict.fromkeys(names[1:])),
                countries=_intern(interned, (c.upper() for key in FTM_COUNTRIES for c in props.get(key) or [])),
                birth_date=(props.get("birthDate") or [None])[0],
                identifiers=frozenset(i for key in FTM_IDS for i in props.get(key) or []) or NONE,
                topics=_intern(interned, props.get("topics") or []),
            )
        except (ValueError, KeyError, TypeError, AttributeError, msgspec.DecodeError) as exc:
            raise RuleFileError(f"not a FollowTheMoney entity: {exc}", file=source, line=number) from exc
        if entity.name:
            entities.append(entity)
    return tuple(entities)


NONE: frozenset[str] = frozenset()  # one empty set for the many entities with no identifiers


def _intern(interned: dict[frozenset[str], frozenset[str]], values: Iterable[str]) -> frozenset[str]:
    found = frozenset(values)
    return interned.setdefault(found, found)


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
    _screened: Callable[[str, str | None], tuple[Match, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A name and country screen the same against the same list, batch after batch: the day's sellers
        # recur thousands of times. A bounded cache (thread-safe), gone with the stage when the list changes.
        watchlist, threshold, match_at = self.watchlist, self.threshold, self.match_at

        def screened(name: str, country: str | None) -> tuple[Match, ...]:
            return tuple(watchlist.screen(name, country, threshold=threshold, match_at=match_at))

        object.__setattr__(self, "_screened", functools.lru_cache(maxsize=SCREENED_NAMES)(screened))

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.is_empty() or not self.watchlist.entities:
            return StageOutput(no_hits())
        roles = {"seller": "seller_country", "consignee": "consignee_country", "consignor": "consignor_country"}
        # each role's (name, country) pairs; each distinct pair screened once, then the parcels of those that match
        named = {role: list(zip(batch.get_column(f"{role}_name").to_list(), batch.get_column(country).to_list(),
                                strict=True)) for role, country in roles.items()}  # fmt: skip
        first: dict[tuple[str, str | None], Match] = {}
        for name, country in set().union(*named.values()):
            for match in self._screened(name, country)[:1] if name else ():
                first[name, country] = match
        found: dict[int, dict[str, tuple[Match, list[str]]]] = {}
        if first:
            for role, pairs in named.items():  # roles in order: a parcel's first role found leads its hit
                for at in (at for at, pair in enumerate(pairs) if pair in first):
                    match = first[pairs[at]]
                    found.setdefault(at, {}).setdefault(match.entity_id, (match, []))[1].append(role)
        keys = batch.get_column("key")
        rows = [self._hit(keys[at], match, where) for at in sorted(found) for match, where in found[at].values()]
        version = pl.Series("screened_with", [self.watchlist.version], dtype=pl.String)
        screened = pl.DataFrame([batch.get_column("key"), version.new_from_index(0, batch.height)])
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
                "referral": None, "agency": None, "weight": match.score, "domain": "security",
                "mandatory": lane is not None}  # fmt: skip  # a stop on a listed party is the law's, not capacity's
