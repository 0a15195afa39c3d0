"""`python -m bench.screening_load LIST QUERIES`: what a service pays for a watch list, measured in a fresh
process: load the FollowTheMoney lines as `clearway serve` does (`bootstrap.load_watchlist`), then screen the
queries (JSON lines of `query`, `expected`, `family`) one by one. Prints one JSON object: load seconds,
queries a second, the process's memory before and at its peak, recall per family and wrongful matches."""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

from clearway.bootstrap import load_watchlist


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def main(list_path: Path, queries_path: Path) -> None:
    before = _rss_mb()
    started = time.perf_counter()
    watchlist = load_watchlist(list_path)
    loaded = time.perf_counter() - started
    cases = [json.loads(line) for line in queries_path.read_text().splitlines()]
    started = time.perf_counter()
    found = [watchlist.screen(case["query"]) for case in cases]
    rate = len(cases) / (time.perf_counter() - started)
    hits, totals, wrongful, negatives = Counter[str](), Counter[str](), 0, 0
    for case, matches in zip(cases, found, strict=True):
        if case["expected"] is None:
            negatives += 1
            wrongful += bool(matches and matches[0].outcome == "match")
        else:
            totals[case["family"]] += 1
            hits[case["family"]] += bool(matches and matches[0].entity_id == case["expected"])
    print(json.dumps({
        "names": len(watchlist._names),
        "load_seconds": loaded,
        "queries_per_second": rate,
        "rss_before_mb": before,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "recall": {family: hits[family] / totals[family] for family in totals},
        "wrongful": wrongful / max(negatives, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
