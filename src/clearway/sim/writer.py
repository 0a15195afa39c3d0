"""Writing a simulated day to a folder: AED per submitter, labels and the watch list beside it."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

from clearway.sim.generator import SimulatedDay
from clearway.sim.world import WATCHLIST


def write_watchlist(out: Path) -> Path:
    """The simulator's watch list in the plain CSV format (id,name,aliases,country,birth_date,identifiers)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "watchlist.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "aliases", "country", "birth_date", "identifiers"])
        writer.writerows(WATCHLIST)
    return path


LABEL_COLUMNS = ("submitter", "reference", "violation", "detail", "corrected_value", "corrected_hs_code", "item",
                 "same_order")  # fmt: skip
"""labels.csv: the injected violation, its detail, and the value or code an inspection would find (or empty); for
a part of a split order, the references of its other parts (space-separated)."""


def write_day(day: SimulatedDay, out: Path) -> dict[str, int]:
    """Write `aed/<submitter>.ndjson`, `labels.csv`, `watchlist.csv` and `manifest.json`; return counts."""
    aed = out / "aed"
    aed.mkdir(parents=True, exist_ok=True)
    by_submitter: dict[str, list[bytes]] = defaultdict(list)
    for record in day.records:
        by_submitter[record.submitter].append(record.line)
    for submitter, lines in sorted(by_submitter.items()):
        (aed / f"{submitter}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    with (out / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABEL_COLUMNS)
        writer.writerows([x.submitter, x.reference, x.violation, x.detail, x.corrected_value, x.corrected_hs_code,
                          "" if x.item is None else x.item, x.same_order] for x in day.labels)  # fmt: skip
    write_watchlist(out)
    counts: dict[str, int] = defaultdict(int)
    for label in day.labels:
        counts[label.violation] += 1
    manifest = {
        "day": day.day.isoformat(),
        "seed": day.seed,
        "consignments": len(day.records),
        "submitters": {s: len(lines) for s, lines in sorted(by_submitter.items())},
        "violations": dict(sorted(counts.items())),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return {"consignments": len(day.records), "labelled": len(day.labels), "submitters": len(by_submitter)}
