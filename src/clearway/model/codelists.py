"""Text normalisation, the vague-description check built on the code list of vague terms, and territories."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from clearway.model.vague_terms import VAGUE_TERMS

_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise_text(text: str) -> str:
    """Lower case, NFKC, accents folded, punctuation to single spaces: the form descriptions are compared in."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.sub(" ", bare).strip()


@lru_cache(maxsize=1)
def vague_terms() -> frozenset[str]:
    """Generic goods terms (ICS2 guidance) in their normalised form."""
    return frozenset(normalise_text(term) for term in VAGUE_TERMS)


_FILLER = frozenset({"a", "an", "the", "of", "and", "for", "some", "misc", "assorted", "mixed", "set", "1", "2"})


@lru_cache(maxsize=65536)
def is_vague(description: str) -> bool:
    """True when a description says nothing beyond generic terms ("gift", "spare parts", "goods, items")."""
    norm = normalise_text(description)
    if not norm:
        return True
    terms = vague_terms()
    if norm in terms:
        return True
    words = [w for w in norm.split() if w not in _FILLER]
    return not words or all(w in terms for w in words)


EU = frozenset({"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
                "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})  # fmt: skip
"""The member states of the European Union: one customs territory for AEO status and mutual recognition."""


def territory_countries(codes: Iterable[str]) -> frozenset[str]:
    """The countries a territory names: country codes, with `EU` for every member state."""
    return frozenset(c for code in codes for c in (EU if code.strip().upper() == "EU" else {code.strip().upper()}))
