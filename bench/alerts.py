"""`python -m bench alerts`: what partners' risk alerts find on a day the partner never saw, and what they cost.

One simulated world of sellers (`sim/days.World`) ships to both offices. Day 0 is the partner's: it inspects
a share of its parcels at random, and for every counterfeit it finds issues an alert the way
`clearway alerts issue --consignment ID --party seller` does (the seller's keyed hash under the shared key,
the parcel's HS subheadings and brands, its dispatch country). Day 1 is ours: the alerts run as the detector
runs them in the pipeline. Printed per seed, for alerts by party, by goods and both: parcels selected,
the share of them carrying a counterfeit and any violation, counterfeit recall, against the base rates;
and the detector's time per 10,000 parcels. No figure here was tuned on: the detector has no parameter.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence

import msgspec
from rich.console import Console
from rich.table import Table

from clearway.cooperation.alerts import Goods, PartyHash, RiskAlert, Route
from clearway.model import validate_raw
from clearway.pipeline import BatchRow, Context, History, to_batch
from clearway.revenue.packaged import load_revenue
from clearway.risk.alerts import AlertDetector, alerts_frame, parties_named, party_index
from clearway.risk.party_keys import party_key
from clearway.sim.days import World
from clearway.sim.generator import SimulatedDay

DAY = dt.date(2026, 11, 16)
SHARED = b"bench shared key between offices."
PARTNER = "office-a"


def _rows(day: SimulatedDay, at: dt.datetime) -> tuple[list[BatchRow], dict[str, str]]:
    """The day's valid consignments, and each key's violation ("" for none)."""
    labels = {(x.submitter, x.reference): x.violation for x in day.labels}
    rows, truth = [], {}
    for record in day.records:
        try:
            outcome = validate_raw(msgspec.json.decode(record.line))
        except msgspec.DecodeError:
            continue
        if outcome.consignment is None:
            continue
        key = f"{record.submitter}/{record.reference}"
        rows.append(BatchRow(key, record.submitter, at, outcome.consignment))
        truth[key] = labels.get((record.submitter, record.reference), "")
    return rows, truth


def _alerts(rows: Sequence[BatchRow], truth: dict[str, str], share: float, seed: int, at: dt.datetime,
            how: str) -> list[RiskAlert]:  # fmt: skip
    rng = random.Random(f"partner-inspects:{seed}")
    alerts = []
    for row in rows:
        if rng.random() >= share or truth[row.key] != "counterfeit":
            continue
        c = row.consignment
        goods = Goods(hs_prefixes=sorted({i.hs_code[:6] for i in c.items if i.hs_code}),
                      brands=sorted({i.brand.casefold() for i in c.items if i.brand}))  # fmt: skip
        parties = [PartyHash("seller", party_key(SHARED, c.seller))]
        alerts.append(RiskAlert(
            id=f"a{len(alerts)}", kind="counterfeit", issued_at=at, expires_at=at + dt.timedelta(days=90),
            goods=goods if how != "party" else Goods(hs_prefixes=[]),
            route=Route(dispatch_country=c.dispatch_country) if how != "party" else Route(),
            parties=parties if how != "goods" else [],
        ))  # fmt: skip
    return alerts


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def run(size: int, seeds: Sequence[int], share: float) -> None:
    console = Console()
    detector = AlertDetector(load_revenue().rates)
    table = Table("seed", "alerts by", "alerts", "selected", "counterfeit", "any violation", "counterfeit recall",
                  "base rate (counterfeit / any)", "ms per 10k parcels",
                  title="Partners' alerts on a day they never saw")  # fmt: skip
    for seed in seeds:
        world = World.make(seed, size)
        issued_at = dt.datetime.combine(DAY, dt.time(18), dt.UTC)
        theirs, their_truth = _rows(world.day(0, DAY), issued_at)
        at = issued_at + dt.timedelta(days=1)
        ours, truth = _rows(world.day(1, DAY + dt.timedelta(days=1)), at)
        batch = to_batch(ours)
        counterfeits = sum(v == "counterfeit" for v in truth.values())
        bad = sum(bool(v) for v in truth.values())
        for how in ("party", "goods", "both"):
            alerts = _alerts(theirs, their_truth, share, seed, issued_at, how)
            received = [(PARTNER, a) for a in alerts]
            start = time.perf_counter()
            history = History(alerts=alerts_frame(received),
                              alert_parties=parties_named(ours, party_index(received, {PARTNER: SHARED})))  # fmt: skip
            hits = detector.run(batch, Context(as_of=at, history=history)).hits
            elapsed = time.perf_counter() - start
            selected = set(hits["key"].to_list())
            right = sum(truth[k] == "counterfeit" for k in selected)
            wrong_any = sum(bool(truth[k]) for k in selected)
            table.add_row(
                str(seed), how, f"{len(alerts):,}", f"{len(selected):,}", _share(right, len(selected)),
                _share(wrong_any, len(selected)),
                f"{right / counterfeits:.0%}" if counterfeits else "-",
                f"{counterfeits / len(truth):.1%} / {bad / len(truth):.1%}",
                f"{elapsed * 1000 * 10_000 / len(ours):.0f}",
            )  # fmt: skip
    console.print(table)
    console.print(f"The partner inspected {share:.0%} of its day at random and issued one alert per counterfeit found.")
