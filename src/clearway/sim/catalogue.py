"""The simulator's product catalogue (package data `data/sim/catalogue.csv`)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Product:
    key: str
    hs6: str
    price_usd: float
    spread: float
    mass_kg: float
    flags: str
    descriptions: tuple[str, ...]  # each "text" or "lang:text"

    def has(self, flag: str) -> bool:
        return flag in self.flags


@lru_cache(maxsize=1)
def catalogue() -> tuple[Product, ...]:
    text = resources.files("clearway.data.sim").joinpath("catalogue.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(
        Product(
            key=row["key"],
            hs6=row["hs6"],
            price_usd=float(row["price_usd"]),
            spread=float(row["spread"]),
            mass_kg=float(row["mass_kg"]),
            flags=row["flags"],
            descriptions=tuple(row["descriptions"].split("|")),
        )
        for row in csv.DictReader(lines)
    )


def description_text(variant: str) -> str:
    """The text of a description variant without its language tag."""
    head, sep, rest = variant.partition(":")
    return rest if sep and len(head) == 2 and head.isalpha() and head.islower() else variant
