"""`python -m bench screening`: clearway's matcher on a benchmark of our own, on the seed its bands were set
on and on a held-out seed, beside nomenklatura's logic-v2 (when `pip install -e '.[bench]'` brought it).

`bench/screening_data.py` makes the list (persons in five name traditions and companies) and the queries:
18 perturbations in three families, namesakes and random negatives. For each class: recall as `match`
(the stop), and as `match` or `possible`; for negatives: the share answered `match` (a wrongful stop) and
`possible` (an officer's time). Queries per second on one core; and a large synthetic list's load time,
memory and speed (`--large`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.screening_data import FAMILIES, Case, Listed, make_cases, make_list
from clearway.risk.screening import WatchList

Matcher = Callable[[str], tuple[str | None, str | None]]  # query -> (entity id, outcome)


def clearway_matcher(listed: list[Listed]) -> Matcher:
    watchlist = WatchList(tuple(x.entity for x in listed))

    def match(query: str) -> tuple[str | None, str | None]:
        found = watchlist.screen(query)
        return (found[0].entity_id, found[0].outcome) if found else (None, None)

    return match


def nomenklatura_matcher(listed: list[Listed], match_at: float, possible_at: float) -> Matcher:
    from followthemoney import model
    from nomenklatura.matching import LogicV2, ScoringConfig
    from rapidfuzz import process

    config = ScoringConfig(weights={}, config={})
    entities, names = [], []
    for item in listed:
        entity = model.make_entity("LegalEntity")
        entity.id = item.entity.id
        for name in (item.entity.name, *item.entity.aliases):
            entity.add("name", name)
            names.append((name, len(entities)))
        entities.append(entity)
    counter = iter(range(10**9))

    def match(query: str) -> tuple[str | None, str | None]:
        probe = model.make_entity("LegalEntity")
        probe.id = f"query-{next(counter)}"  # logic-v2 caches by entity id: every query its own
        probe.add("name", query)
        found = process.extract(query, [n for n, _ in names], limit=30)
        scored = [(LogicV2.compare(probe, entities[names[i][1]], config).score, entities[names[i][1]].id)
                  for _, _, i in found]  # fmt: skip
        if not scored:
            return None, None
        score, eid = max(scored)
        if score >= match_at:
            return str(eid), "match"
        return (str(eid), "possible") if score >= possible_at else (None, None)

    return match


def evaluate(cases: list[Case], match: Matcher) -> tuple[dict[str, list[int]], float]:
    """Per class: [found as match, found as match or possible, wrongful match, possible, total]."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    started = time.perf_counter()
    for case in cases:
        found, outcome = match(case.query)
        c = counts[case.perturbation]
        c[4] += 1
        if case.expected is not None:
            c[0] += found == case.expected and outcome == "match"
            c[1] += found == case.expected
        else:
            c[2] += outcome == "match"
            c[3] += outcome == "possible"
    return dict(counts), len(cases) / (time.perf_counter() - started)


def _table(title: str, results: dict[str, tuple[dict[str, list[int]], float]]) -> Table:
    table = Table(title=title)
    table.add_column("family")
    table.add_column("class")
    for name in results:
        table.add_column(f"{name}\nmatch / +possible", justify="right")
    order = [(f, k) for f, kinds in FAMILIES.items() for k in kinds] + [("namesake", "namesake"), ("random", "random")]
    for family, kind in order:
        cells = []
        for counts, _ in results.values():
            c = counts.get(kind)
            if not c or not c[4]:
                cells.append("-")
            elif family in FAMILIES:
                cells.append(f"{c[0] / c[4]:.2f} / {c[1] / c[4]:.2f}")
            else:
                cells.append(f"FP {c[2] / c[4]:.1%} / {c[3] / c[4]:.1%}")
        table.add_row(family, kind, *cells)
    for family, kinds in FAMILIES.items():
        cells = []
        for counts, _ in results.values():
            hit = sum(counts[k][0] for k in kinds if k in counts)
            either = sum(counts[k][1] for k in kinds if k in counts)
            total = sum(counts[k][4] for k in kinds if k in counts)
            cells.append(f"{hit / total:.2f} / {either / total:.2f}")
        table.add_row(f"[bold]{family}[/]", "all", *cells)
    table.add_row("[bold]queries/s[/]", "", *(f"{rate:,.0f}" for _, rate in results.values()))
    return table


def _large(console: Console, size: int) -> None:
    """A synthetic list of `size` entities written as FollowTheMoney lines, loaded and screened in a fresh
    process (`bench/screening_load.py`): its time, speed and memory are what a service would pay."""
    with console.status(f"making a list of {size:,} entities and its queries"):
        listed = make_list(size, 99)
        cases = make_cases(listed, 99, 20, 400)
    with tempfile.TemporaryDirectory() as folder:
        list_path, queries_path = Path(folder, "list.ftm.json"), Path(folder, "queries.json")
        with list_path.open("w", encoding="utf-8") as out:
            for item in listed:
                props = {"name": [item.entity.name, *item.entity.aliases], "country": sorted(item.entity.countries)}
                out.write(json.dumps({"id": item.entity.id, "schema": "LegalEntity", "properties": props}) + "\n")
        queries_path.write_text(
            "".join(json.dumps({"query": c.query, "expected": c.expected, "family": c.family}) + "\n" for c in cases)
        )
        del listed
        with console.status(f"loading and screening in a fresh process ({size:,} entities)"):
            child = subprocess.run(
                [sys.executable, "-m", "bench.screening_load", str(list_path), str(queries_path)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
    got = json.loads(child.stdout)
    recall = ", ".join(f"{family} {share:.2f}" for family, share in got["recall"].items())
    console.print(
        f"large list: {size:,} entities ({got['names']:,} names) loaded in {got['load_seconds']:.1f} s, "
        f"{got['queries_per_second']:,.0f} queries/s, peak memory of the process {got['peak_mb']:,.0f} MB "
        f"({got['rss_before_mb']:,.0f} MB before the list); recall (match or possible) {recall}; "
        f"wrongful matches {got['wrongful']:.1%} of negatives"
    )


def run(size: int, per_class: int, negatives: int, seeds: tuple[int, int], large: int, nomenklatura: bool) -> None:
    console = Console()
    for label, seed in (("tuned on", seeds[0]), ("held out", seeds[1])):
        listed = make_list(size, seed)
        cases = make_cases(listed, seed, per_class, negatives)
        engines: dict[str, Matcher] = {"clearway": clearway_matcher(listed)}
        if nomenklatura:
            try:
                engines["nomenklatura logic-v2 (0.8 / 0.7)"] = nomenklatura_matcher(listed, 0.8, 0.7)
            except ImportError:
                console.print("[yellow]nomenklatura is not installed (pip install -e '.[bench]'): left out[/]")
        results = {name: evaluate(cases, match) for name, match in engines.items()}
        positives = sum(1 for c in cases if c.expected)
        title = (
            f"screening, {label} seed {seed}: {size:,} listed entities, {positives:,} variants, "
            f"{len(cases) - positives:,} negatives (recall: match / match or possible; FP: match / possible)"
        )
        console.print(_table(title, results))
    if large:
        _large(console, large)
