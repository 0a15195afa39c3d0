"""A screening benchmark of our own: a synthetic watch list and perturbed queries, from a seed.

Persons in five name traditions (Western European, Hispanic, Russian written in Cyrillic and transliterated,
Arabic-derived, Chinese in pinyin with a Chinese-character alias) and companies (a distinctive core, generic
trade words, a legal form). Queries: the listed names perturbed in 18 ways, grouped as benign, degraded and
adversarial; negatives that share a listed surname, listed given names, or a company's distinctive word with
other words and another legal form (namesakes), and names of no listed entity (random). All names are made
up from syllables and common name parts: no real person is listed. The same seed gives the same set; tune
on one seed and report on another.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from clearway.risk.screening import Entity

WESTERN_GIVEN = ["James", "Maria", "Anna", "Peter", "Thomas", "Laura", "Daniel", "Sophie", "Martin", "Julia", "Paul",
                 "Elena", "Lucas", "Emma", "Jonas", "Clara", "Henrik", "Ingrid", "Marek", "Agnes"]  # fmt: skip
WESTERN_ROOT = ["Ber", "Hal", "Mor", "Kes", "Lin", "Dor", "Vas", "Tren", "Wal", "Grim", "Hol", "Stad", "Ell", "Rau"]
WESTERN_END = ["mann", "berg", "ton", "son", "ford", "ley", "stein", "ner", "hart", "wick"]
HISPANIC_GIVEN = ["Diego", "Carlos", "Lucia", "Javier", "Sofia", "Mateo", "Valentina", "Andres", "Ramon", "Ines"]
HISPANIC_ROOT = ["Mart", "Fern", "Gonz", "Rodr", "Lop", "Sanch", "Ram", "Tor", "Dom", "Ort", "Vel", "Cab"]
HISPANIC_END = ["inez", "andez", "alez", "iguez", "ez", "ero", "ales", "ado"]
RUSSIAN_GIVEN = ["Виктор", "Сергей", "Павел", "Роман", "Игорь", "Дмитрий", "Алексей", "Олег", "Борис", "Юрий"]
RUSSIAN_ROOT = ["Козл", "Иван", "Кузнец", "Петр", "Смирн", "Волк", "Соколь", "Мороз", "Лебед", "Новик", "Беляк",
                "Громад", "Жук", "Зуб"]  # fmt: skip
RUSSIAN_END = ["ов", "ев", "ин", "енко", "ский"]
ARABIC_GIVEN = ["Mohammed", "Ahmed", "Hassan", "Omar", "Yousef", "Khalid", "Abbas", "Reza", "Tariq", "Samir",
                "Karim", "Nabil"]  # fmt: skip
ARABIC_ROOT = ["Sayed", "Haddad", "Rahim", "Jafar", "Reza", "Khour", "Mansour", "Nasser", "Darwish", "Saleh",
               "Qasim", "Hamdan", "Zaher", "Barak"]  # fmt: skip
CHINESE_SURNAME = {"Wang": "王", "Li": "李", "Zhang": "张", "Liu": "刘", "Chen": "陈", "Yang": "杨", "Zhao": "赵",
                   "Huang": "黄", "Zhou": "周", "Wu": "吴", "Xu": "徐", "Sun": "孙"}  # fmt: skip
CHINESE_GIVEN = {"Wei": "伟", "Jun": "军", "Ming": "明", "Hua": "华", "Jian": "建", "Yan": "燕", "Hong": "红",
                 "Lei": "磊", "Tao": "涛", "Bin": "斌", "Qiang": "强", "Ping": "平"}  # fmt: skip
CORE_ROOT = ["Zen", "Kor", "Vel", "Tar", "Lum", "Nex", "Orb", "Qua", "Sol", "Var", "Bri", "Cal", "Dro", "Fal",
             "Gor", "Hex", "Ilv", "Jor", "Kav", "Mir"]  # fmt: skip
CORE_MID = ["", "av", "el", "ir", "om", "ut", "ar", "en"]
CORE_END = ["ex", "ion", "ara", "ix", "on", "ova", "ant", "eon", "yx", "ira"]
PLACES = ["Shenzhen", "Dubai", "Golden", "Pacific", "Eastern", "Northern", "Silk Road", "Baltic", "Caspian"]
GENERIC = ["Trading", "Holdings", "Group", "Global", "International", "Industrial", "Import Export", "Technology",
           "Logistics", "Electronics", "Shipping", "Resources", "Energy", "Machinery"]  # fmt: skip
LEGAL = ["LLC", "Ltd", "Co., Ltd.", "GmbH", "S.A.", "JSC", "OOO", "Inc.", "FZE", "Limited"]
TITLES = ["Mr", "Dr.", "Sheikh", "Mrs", "Prof."]
HOMOGLYPH = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}
LEET = {"o": "0", "i": "1", "e": "3", "a": "4", "s": "5"}
PHONETIC = [("ph", "f"), ("ck", "k"), ("v", "w"), ("ou", "u"), ("y", "i"), ("sch", "sh"), ("kh", "h"),
            ("mm", "m"), ("ee", "i")]  # fmt: skip
FAMILIES = {
    "benign": ["case", "reorder", "drop_middle", "legal_form", "title", "script", "spacing"],
    "degraded": ["typo", "transpose", "vowel_drop", "initial", "ocr", "joined", "phonetic"],
    "adversarial": ["homoglyph", "invisible", "leet", "double_typo"],
}


@dataclass(frozen=True)
class Listed:
    entity: Entity
    kind: str  # person or company
    tradition: str
    given: tuple[str, ...]  # persons: given names (and patronymic); companies: the distinctive core
    family: str  # persons: the family name; companies: the rest


@dataclass(frozen=True)
class Case:
    query: str
    expected: str | None  # the entity id, or None for a negative
    perturbation: str
    family: str  # benign, degraded, adversarial, namesake, random


SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
SYLLABLES_CYRILLIC = [c + v for c in "бвгдклмнпрстз" for v in "аеиоу"]
RICH = False
"""Large lists (`make_list` past RICH_FROM entities) put one or two middle syllables (of 70) in family names
and company cores, so that a million entities are a million names, about as distinct as a real list's, and
not the same few thousand many times over."""
RICH_FROM = 20_000


def _middle(rng: random.Random, cyrillic: bool = False) -> str:
    if not RICH:
        return ""
    return "".join(rng.choice(SYLLABLES_CYRILLIC if cyrillic else SYLLABLES) for _ in range(rng.choice([1, 2])))


def _syllabic(rng: random.Random, roots: list[str], ends: list[str]) -> str:
    return rng.choice(roots) + _middle(rng, roots is RUSSIAN_ROOT) + rng.choice(ends)


def _person(rng: random.Random, number: int) -> Listed:
    from anyascii import anyascii

    tradition = rng.choice(["western", "hispanic", "russian", "arabic", "chinese"])
    aliases: tuple[str, ...] = ()
    if tradition == "western":
        given = tuple(rng.sample(WESTERN_GIVEN, rng.choice([1, 2])))
        family = _syllabic(rng, WESTERN_ROOT, WESTERN_END)
        name = f"{family.upper()}, {' '.join(given)}"
    elif tradition == "hispanic":
        given = tuple(rng.sample(HISPANIC_GIVEN, rng.choice([1, 2])))
        family = _syllabic(rng, HISPANIC_ROOT, HISPANIC_END)
        name = f"{' '.join(given)} {family}"
    elif tradition == "russian":
        first = rng.choice(RUSSIAN_GIVEN)
        father = rng.choice(RUSSIAN_GIVEN)
        patronymic = father.removesuffix("й") + ("евич" if father.endswith("й") else "ович")
        family_cyr = _syllabic(rng, RUSSIAN_ROOT, RUSSIAN_END)
        cyrillic = f"{first} {patronymic} {family_cyr}"
        given, family = (anyascii(first), anyascii(patronymic)), anyascii(family_cyr)
        name = f"{given[0]} {given[1]} {family}"
        aliases = (cyrillic,)
    elif tradition == "arabic":
        given = tuple(rng.sample(ARABIC_GIVEN, rng.choice([1, 2])))
        family = rng.choice(["Al-", "", "El-", ""]) + _syllabic(rng, ARABIC_ROOT, ["", "i", "ani", "awi"])
        name = f"{' '.join(given)} {family}"
    else:
        family = rng.choice(list(CHINESE_SURNAME))
        given = tuple(rng.sample(list(CHINESE_GIVEN), rng.choice([1, 2])))
        name = f"{family} {''.join(given)}"
        aliases = (CHINESE_SURNAME[family] + "".join(CHINESE_GIVEN[g] for g in given),)
        given = ("".join(given),)
    entity = Entity(f"P{number:05d}", name, aliases, frozenset({rng.choice(["RU", "IR", "CN", "SY", "VE", "AE"])}))
    return Listed(entity, "person", tradition, given, family)


def _company(rng: random.Random, number: int) -> Listed:
    core = rng.choice(CORE_ROOT) + rng.choice(CORE_MID) + _middle(rng) + rng.choice(CORE_END)
    place = rng.choice(PLACES) + " " if rng.random() < 0.4 else ""
    rest = " ".join(rng.sample(GENERIC, rng.choice([1, 2])))
    name = f"{place}{core} {rest} {rng.choice(LEGAL)}"
    entity = Entity(f"C{number:05d}", name, (), frozenset({rng.choice(["RU", "IR", "CN", "AE", "HK", "TR"])}))
    return Listed(entity, "company", "company", (place + core).split(), rest)


def make_list(size: int, seed: int) -> list[Listed]:
    global RICH
    RICH = size >= RICH_FROM
    rng = random.Random(seed)
    listed, names = [], set()
    while len(listed) < size:
        item = _person(rng, len(listed)) if rng.random() < 0.6 else _company(rng, len(listed))
        if item.entity.name.casefold() in names:
            continue
        names.add(item.entity.name.casefold())
        listed.append(item)
    return listed


def _edit(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word + rng.choice("aeiou")
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + rng.choice("abcdefghiklmnoprstuvz") + word[i + 1 :]


def perturb(rng: random.Random, item: Listed, kind: str) -> str | None:
    """The listed name changed the way `kind` says, or None where it does not apply."""
    name = item.entity.name.replace(",", "")
    words = name.split()
    person = item.kind == "person"
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    if kind == "case":
        return name.swapcase() if rng.random() < 0.5 else name.lower()
    if kind == "reorder":
        return " ".join(reversed(words)) if person and len(words) > 1 else None
    if kind == "drop_middle":
        return " ".join(words[:1] + words[2:]) if person and len(words) >= 3 else None
    if kind == "legal_form":
        return None if person else " ".join(words[:-1]) + " " + rng.choice([x for x in LEGAL if x not in words])
    if kind == "title":
        return f"{rng.choice(TITLES)} {name}" if person else None
    if kind == "script":
        return item.entity.aliases[0] if item.entity.aliases else None
    if kind == "spacing":
        return name.replace("-", " ") if "-" in name else (name.replace(" ", "-", 1) if person else None)
    if kind == "typo":
        return " ".join(_edit(rng, w) if i == longest else w for i, w in enumerate(words))
    if kind == "transpose":
        w = words[longest]
        if len(w) < 5:
            return None
        i = rng.randrange(1, len(w) - 2)
        return " ".join((w[:i] + w[i + 1] + w[i] + w[i + 2 :]) if j == longest else x for j, x in enumerate(words))
    if kind == "vowel_drop":
        return None if person else " ".join(w[0] + "".join(c for c in w[1:] if c.lower() not in "aeiou") for w in words)
    if kind == "initial":
        if not person or item.tradition == "chinese" or len(words) < 2:
            return None
        given = set(item.given)
        return " ".join(w[0] + "." if w in given else w for w in words)
    if kind == "ocr":
        return name.replace("o", "0").replace("l", "1") if ("o" in name or "l" in name) else None
    if kind == "joined":
        return "".join(words) if len(words) <= 3 else None
    if kind == "phonetic":
        for a, b in PHONETIC:
            if a in name.lower():
                return name.lower().replace(a, b, 1)
        return None
    if kind == "homoglyph":
        return "".join(HOMOGLYPH.get(c, c) if rng.random() < 0.3 else c for c in name)
    if kind == "invisible":
        i = rng.randrange(1, len(name))
        return name[:i] + rng.choice(["\u200b", "\u200d", "\u00ad", "\ufeff"]) + name[i:]
    if kind == "leet":
        return "".join(LEET.get(c, c) if rng.random() < 0.4 else c for c in name)
    if kind == "double_typo":
        return " ".join(_edit(rng, _edit(rng, w)) if i == longest and len(w) >= 7 else w for i, w in enumerate(words))
    raise ValueError(kind)


def namesake(rng: random.Random, item: Listed, listed: list[Listed]) -> str:
    """Someone else who shares a name part: the surname, the given names, or a company's distinctive core."""
    if item.kind == "company":  # the same distinctive words, other trade words and another legal form
        other = " ".join(rng.sample([g for g in GENERIC if g not in item.family], 2))
        return f"{' '.join(item.given)} {other} {rng.choice([x for x in LEGAL if x not in item.entity.name])}"
    others = [x for x in listed if x.kind == "person" and x.tradition == item.tradition and x is not item]
    stranger = rng.choice(others) if others else item
    if rng.random() < 0.5 and stranger.family != item.family:
        return f"{' '.join(stranger.given)} {item.family}"  # the same family name, other given names
    family = stranger.family if stranger.family != item.family else item.family + "ski"
    return f"{' '.join(item.given)} {family}"  # the same given names, another family name


def random_name(rng: random.Random) -> str:
    if rng.random() < 0.5:
        family = _syllabic(rng, ["Tal", "Quin", "Oster", "Pell"], WESTERN_END)
        return f"{rng.choice(WESTERN_GIVEN + HISPANIC_GIVEN)} {family}"
    return f"{_syllabic(rng, ['Ux', 'Yal', 'Wem', 'Pry'], CORE_END)} {rng.choice(GENERIC)} {rng.choice(LEGAL)}"


def make_cases(listed: list[Listed], seed: int, per_class: int, negatives: int) -> list[Case]:
    rng = random.Random(seed + 7)
    cases: list[Case] = []
    for family, kinds in FAMILIES.items():
        for kind in kinds:
            made = tries = 0
            while made < per_class and tries < 50 * per_class:
                tries += 1
                item = rng.choice(listed)
                query = perturb(rng, item, kind)
                if query and query != item.entity.name:
                    cases.append(Case(query, item.entity.id, kind, family))
                    made += 1
    listed_names = {_tokens(n) for x in listed for n in (x.entity.name, *x.entity.aliases)}
    for n in range(negatives):
        if n % 2 == 0:
            query, family = namesake(rng, rng.choice(listed), listed), "namesake"
        else:
            query, family = random_name(rng), "random"
        if _tokens(query) not in listed_names:  # a negative is nobody on the list, in any order or legal form
            cases.append(Case(query, None, family, family))
    return cases


PARTICLES = frozenset({"al", "el", "bin", "ibn", "de", "van", "von", "la", "del"})


def _tokens(name: str) -> tuple[str, ...]:
    """A name as a set of parts, particles aside: `Tariq Abbas Al-Salehawi` is `Abbas Tariq Salehawi`."""
    from clearway.risk.names import normalise

    return tuple(sorted(t for t in normalise(name) if t not in PARTICLES))
