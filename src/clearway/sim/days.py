"""Consecutive days of one world: the same sellers, buyers and platforms recur, fraud sits with a few sellers
who keep at it, and a seller caught at it turns to another scheme.

What comes from where:
- The sellers, goods, prices, destinations, channels and the per-parcel violations are the single-day
  simulator's (`generator.py`, `violations.py`, `catalogue.csv`), with its rates (`Rates`) as the day's
  shares of each violation.
- Concentration: value fraud and counterfeits are each committed by a few sellers, chosen until their
  expected parcels make up the day's share (a seller that would take a scheme past `OVERSHOOT` times its
  share is passed over, and a split order counts as the parcels it becomes); each commits on
  `OFFENDER_SHARE` of its parcels. A seller's conduct belongs to that seller, not to its name: two firms
  may share a name, and the honest one stays honest. The KCS
  customs declarations (`../shared/data/customs-declarations`, Korea Customs Service's synthetic set) put
  43% of fraudulent declarations on the 5% most fraudulent sellers; our offenders hold all of a scheme's
  parcels, a stronger concentration than KCS shows and the assumption a targeting loop can learn from.
- Buyers recur: a pool per destination, `RETURNING` of a day's parcels going to a buyer seen before
  (an assumption: cross-border buyers order repeatedly from the same marketplaces).
- Adaptation: a seller found at it switches to another scheme (`SHIFTS`) with probability `ADAPT`, the
  issue's own example (a seller stopped for undervaluation shifts to splitting or to another HS code).
  Both the shifts and the probability are modelling assumptions, stated here, not measured rates.
- Violations that are not a trader's business model (undeclared batteries, prohibited goods, watch-listed
  parties, vague descriptions, broken records) stay spread over every seller at the day's rates.

Deterministic for (seed, size, the days and what was caught): each day draws from its own seeded stream.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from clearway.sim import violations
from clearway.sim.catalogue import catalogue
from clearway.sim.generator import Rates, SimulatedDay, _draw, _emit, _pick, build, inject
from clearway.sim.parties import Seller, consignee, make_sellers
from clearway.sim.world import DESTINATIONS

SCHEMES = ("undervaluation", "misclassification", "split_shipment", "false_gift", "ioss_misuse", "counterfeit")
"""Violations that are a seller's business model: committed by a few sellers, again and again."""
VALUE_FRAUD = ("undervaluation", "misclassification", "split_shipment", "false_gift", "ioss_misuse")
SHIFTS: dict[str, tuple[str, ...]] = {
    "undervaluation": ("split_shipment", "misclassification"),
    "misclassification": ("undervaluation", "false_gift"),
    "split_shipment": ("undervaluation", "misclassification"),
    "false_gift": ("undervaluation", "split_shipment"),
    "ioss_misuse": ("split_shipment", "undervaluation"),
    "counterfeit": ("counterfeit",),  # a counterfeiter changes brands and words, not trade
}
OFFENDER_SHARE = (0.5, 0.9)  # share of an offender's parcels that carry its scheme (uniform between)
OVERSHOOT = 1.25  # how far past a scheme's share the offenders chosen for it may go
RETURNING = 0.6
ADAPT = 0.5
OFFLINE_DETECTION = 0.05  # without a pilot, the chance a violating parcel is caught (the default capacity)


@dataclass
class World:
    """Sellers with their conduct, buyers per destination, and what each day's parcels were."""

    seed: int
    size: int
    rates: Rates = field(default_factory=Rates)
    sellers: list[Seller] = field(default_factory=list)
    conduct: dict[int, str] = field(default_factory=dict)  # seller (its place in `sellers`) -> scheme
    share: dict[int, float] = field(default_factory=dict)  # seller -> share of its parcels
    buyers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sent_by: dict[tuple[str, str], int] = field(default_factory=dict)  # (submitter, reference) -> seller
    shifts: list[tuple[int, int, str, str]] = field(default_factory=list)  # day, seller, from, to

    @classmethod
    def make(cls, seed: int, size: int, rates: Rates | None = None) -> World:
        world = cls(seed, size, rates or Rates())
        rng = random.Random(f"world:{seed}")
        world.sellers = make_sellers(rng, max(300, size // 20), catalogue())
        total = sum(s.activity for s in world.sellers)
        candidates = [i for i, s in enumerate(world.sellers) if s.platform != "webshop"]
        rng.shuffle(candidates)
        split_parts = _split_parcels_per_order()
        for scheme in SCHEMES:
            target = getattr(world.rates, scheme) * size
            expected = 0.0
            for seller in candidates:
                if expected >= target:
                    break
                if seller in world.conduct:
                    continue
                share = rng.uniform(*OFFENDER_SHARE)
                parcels = size * world.sellers[seller].activity / total * share
                parcels *= split_parts if scheme == "split_shipment" else 1.0
                if expected + parcels > target * OVERSHOOT:
                    continue
                world.conduct[seller], world.share[seller] = scheme, share
                expected += parcels
        return world

    def day(self, index: int, day: dt.date) -> SimulatedDay:
        """Day `index` of the world (0 first), dated `day`."""
        rng = random.Random(f"day:{self.seed}:{index}")
        products = catalogue()
        weights = list(itertools.accumulate(s.activity for s in self.sellers))
        dest_weights = list(itertools.accumulate(d.weight for d in DESTINATIONS))
        ranges = {s.name: [p for p in products if p.key in s.specialty] for s in self.sellers}
        spread = [(n, r) for n, r in self.rates.items() if r > 0 and n not in SCHEMES]
        out = SimulatedDay(day, self.seed * 1000 + index)
        number = 0
        while number < self.size:
            who = rng.choices(range(len(self.sellers)), cum_weights=weights)[0]
            seller = self.sellers[who]
            destination = rng.choices(DESTINATIONS, cum_weights=dest_weights)[0]
            draw = _draw(rng, day, number, seller, destination, ranges[seller.name])
            scheme = self.conduct.get(who)
            violation = scheme if scheme and rng.random() < self.share[who] else _pick(rng, spread)
            buyer = self._buyer(rng, destination.country, destination)
            if violation == "split_shipment":
                parts = violations.split_shipment(draw, min(4, self.size - number))
                buyer = self._buyer(rng, parts[0][0]["destination_country"], None) if parts else buyer
                for doc, detail in parts:
                    doc["consignee"] = buyer
                    self._sent(out, draw.submitter, doc, who, "split_shipment", detail)
                number += len(parts)
                continue
            doc = build(draw)
            doc["consignee"] = buyer
            sent = partial(self._sent, out, draw.submitter, doc, who)
            inject(out, draw, doc, violation, sent)
            number += 1
        return out

    def caught(self, index: int, found: Iterable[tuple[str, str]]) -> None:
        """The parcels (submitter, reference) found infringing on day `index`: their sellers may adapt."""
        rng = random.Random(f"adapt:{self.seed}:{index}")
        for seller in sorted({self.sent_by[f] for f in found if f in self.sent_by}):
            scheme = self.conduct.get(seller)
            if scheme is None or rng.random() >= ADAPT:
                continue
            turned = rng.choice(SHIFTS[scheme])
            if turned != scheme:
                self.conduct[seller] = turned
                self.shifts.append((index, seller, scheme, turned))

    def offline_catches(self, index: int, day: SimulatedDay) -> list[tuple[str, str]]:
        """Without a pilot: each violating parcel caught with `OFFLINE_DETECTION` (for `simulate --days`)."""
        rng = random.Random(f"offline:{self.seed}:{index}")
        return [(x.submitter, x.reference) for x in day.labels if rng.random() < OFFLINE_DETECTION]

    def _buyer(self, rng: random.Random, country: str, destination: Any) -> dict[str, Any]:
        known = self.buyers.setdefault(country, [])
        if known and rng.random() < RETURNING:
            return dict(rng.choice(known))
        dest = destination or next(d for d in DESTINATIONS if d.country == country)
        buyer = consignee(rng, dest)
        known.append(buyer)
        return buyer

    def _sent(self, out: SimulatedDay, submitter: str, doc: dict[str, Any], seller: int, violation: str | None,
              found: str | violations.Truth) -> None:  # fmt: skip
        self.sent_by[(submitter, doc["reference"])] = seller
        _emit(out, submitter, doc, violation, found)


def _split_parcels_per_order() -> float:
    """Parcels one split order becomes on average: every split order goes to a destination with a threshold to
    split under (`violations.split_shipment` sends it to one) in `SPLIT_PARTS` parcels, drawn evenly."""
    fewest, most = violations.SPLIT_PARTS
    return (fewest + most) / 2
