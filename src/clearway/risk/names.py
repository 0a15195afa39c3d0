"""Names as screening compares them: normalised tokens with their phonetic key and consonant skeleton, and
how alike two tokens are.

Normalisation: NFKC; invisible characters dropped; Cyrillic and Greek look-alike letters inside Latin words
folded to Latin; other scripts transliterated to ASCII (anyascii; CJK and Hangul syllable by syllable);
case folded; digits that OCR and leetspeak put for letters inside words read as those letters; legal forms
(rigour's organisation types) and personal titles and honorifics (rigour's prefixes) removed. Token
similarity: equal; one an initial of the other; the same Metaphone key (phonetic spellings); the same
consonant skeleton where one side dropped its vowels (`Gldn Rd`); one edit apart (two in words of seven
letters or more) or a Levenshtein ratio of at least TOKEN_FLOOR (FUZZY: a possible typo). Sounds and typos
count 0.8: enough for a possible match, a stop only when the rest of the name carries it. Anything less is
not a match of the token.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz.distance import OSA, Levenshtein
from rigour.names import remove_org_types, remove_person_prefixes
from rigour.text.phonetics import metaphone

TOKEN_FLOOR = 0.85
"""Below this ratio two tokens are different words (`ivanov` / `ivan` is 0.8: another name)."""
INITIAL = 0.75  # `J` for `John`: agreement, weaker than the whole token
PHONETIC = 0.8  # `Mohammed` / `Muhammad`: the same sounds (but `Gromadev` / `Gromadov` too: possible only)
SKELETON = 0.9  # `Gldn` / `Golden`: the same consonants, the vowels dropped
FUZZY = 0.8
"""A token one edit away (`Orlow` / `Orlov`, `Jhon` / `John`) or of a Levenshtein ratio of at least
TOKEN_FLOOR: perhaps a typo, perhaps another name (`Talwick` / `Walwick`). It counts 0.8, so a name that
needs one is at most a possible match for an officer to confirm, never a stop by itself."""

_PLANES = (*range(0x20000), *range(0xE0000, 0xE1000))  # where Unicode puts its format characters
FORMAT = re.compile("[" + "".join(re.escape(chr(c)) for c in _PLANES if unicodedata.category(chr(c)) == "Cf") + "]")
"""Invisible format characters (zero-width spaces and joiners, bidi marks, soft hyphens): dropped."""
CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af]")
PUNCT = re.compile(r"[^a-z0-9 ]+")
_VOWELS = re.compile(r"[aeiouy]")
HOMOGLYPHS = str.maketrans(
    "АВЕКМНОРСТУХаеорсухіјѕԁԛԝӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοκνρτυχ",
    "ABEKMHOPCTYXaeopcyxijsdqwlABEZHIKMNOPTYXaoknptux",
)
"""Cyrillic and Greek letters that look like Latin ones: folded inside otherwise Latin words (`Нussein` with a
Cyrillic Н), while words wholly in Cyrillic or Greek are transliterated by sound."""
_LATIN = re.compile(r"[A-Za-z]")
_OTHER = re.compile(r"[\u0370-\u03ff\u0400-\u052f]")
LOOKALIKE_DIGITS = str.maketrans("013457@$", "oleastas")
"""Digits and signs read as letters inside words: `G0lden`, `Sh3nzhen`, `$mith` (OCR and evasion)."""


def fold_homoglyphs(text: str) -> str:
    return " ".join(w.translate(HOMOGLYPHS) if _LATIN.search(w) and _OTHER.search(w) else w for w in text.split(" "))


def _letters(token: str) -> str:
    return token if token.isdigit() else token.translate(LOOKALIKE_DIGITS)  # tokens are [a-z0-9]+ here


def tokens_of(text: str) -> tuple[str, ...]:
    """The comparable tokens of a name: `Shenzhen Rеdline Electronics Co., Ltd.` -> (shenzhen, redline,
    electronics). Uncached, for loading a list whose names are read once; `normalise` caches queries."""
    if not text.isascii():  # ASCII needs none of this: NFKC leaves it, and it has no format characters
        text = FORMAT.sub("", unicodedata.normalize("NFKC", text))
        text = fold_homoglyphs(text)
        text = anyascii(CJK.sub(lambda m: f" {anyascii(m.group(0))} ", text))
    text = " ".join(text.casefold().split())
    tokens = [_letters(t) for t in PUNCT.sub(" ", text.replace("&", " and ")).split()]
    core = remove_person_prefixes(remove_org_types(text))  # on the written form: `GmbH & Co. KG`, `Co., Ltd.`
    kept = PUNCT.sub(" ", core.replace("&", " and ")).split()
    bare = PUNCT.sub(" ", remove_person_prefixes(remove_org_types(" ".join(tokens)))).split()  # `co. ltd.`
    cores = [c for c in (kept, bare) if c]
    return tuple(_letters(t) for t in min(cores, key=len)) if cores else tuple(tokens)


normalise = lru_cache(maxsize=500_000)(tokens_of)


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    sound: str  # Metaphone key
    skeleton: str  # consonants only


@lru_cache(maxsize=500_000)
def token(text: str) -> Token:
    return Token(text, metaphone(text) if len(text) > 2 else text, _VOWELS.sub("", text))


@lru_cache(maxsize=1_000_000)
def similarity(a: str, b: str) -> float:
    """How alike two tokens are, 0 to 1; 0 means different words."""
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return INITIAL if a[0] == b[0] else 0.0
    ta, tb = token(a), token(b)
    best = 0.0
    edits, shortest = OSA.distance(a, b, score_cutoff=2), min(len(a), len(b))
    typo = (shortest >= 4 and edits <= 1) or (shortest >= 7 and edits <= 2)  # a typo; two in a long word
    if typo or Levenshtein.normalized_similarity(a, b) >= TOKEN_FLOOR:
        best = FUZZY
    if len(a) > 2 and len(b) > 2 and ta.sound and ta.sound == tb.sound and a[0] == b[0]:
        best = max(best, PHONETIC)
    vowelless = not _VOWELS.search(a) or not _VOWELS.search(b)
    if vowelless and len(ta.skeleton) >= 2 and ta.skeleton == tb.skeleton:
        best = max(best, SKELETON)
    return best
