"""The screening benchmark: clearway's matcher beside nomenklatura's logic-v2 on sanctions-screening-benchmark.

The benchmark (PyPI `sanctions-screening-benchmark`, MIT) is generated offline from its bundled
synthetic list (this machine cannot fetch the OFAC list), with every perturbation class and its
negative controls. Recall per class is the share of perturbed names whose best match is the right
entity; the false-positive rate is the share of negative controls that match anything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from clearway.risk.screening import Entity, WatchList

Matcher = Callable[[str], str | None]


def generate(per_class: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        subprocess.run(
            [sys.executable, "-m", "ssb.cli", "generate", "--offline", "--all-types", "--seed", str(seed),
             "--max-per-class", str(per_class), "--negatives-per-class", str(per_class), "--out", str(out)],
            check=True, capture_output=True,
        )  # fmt: skip
        return dict(json.loads(out.read_text()))


def clearway_matcher(candidates: dict[str, list[str]], threshold: float) -> Matcher:
    listed = WatchList(tuple(Entity(eid, names[0], tuple(names[1:])) for eid, names in candidates.items()))

    def match(query: str) -> str | None:
        found = listed.screen(query, threshold=threshold)
        return found[0].entity_id if found else None

    return match


def nomenklatura_matcher(candidates: dict[str, list[str]], threshold: float) -> Matcher:
    from followthemoney import model
    from nomenklatura.matching import LogicV2, ScoringConfig

    config = ScoringConfig(weights={}, config={})
    listed = []
    for eid, names in candidates.items():
        entity = model.make_entity("LegalEntity")
        entity.id = f"list-{eid}"
        for name in names:
            entity.add("name", name)
        listed.append((eid, entity))
    counter = iter(range(10**9))

    def match(query: str) -> str | None:
        probe = model.make_entity("LegalEntity")
        probe.id = f"query-{next(counter)}"  # logic-v2 caches by entity id: every query gets its own
        probe.add("name", query)
        scored = [(LogicV2.compare(probe, entity, config).score, eid) for eid, entity in listed]
        score, eid = max(scored)
        return eid if score >= threshold else None

    return match


def evaluate(cases: list[dict[str, Any]], match: Matcher) -> tuple[dict[str, tuple[int, int]], float, float]:
    per_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_positives = negatives = 0
    start = time.perf_counter()
    for case in cases:
        found = match(case["query"])
        if case.get("expected_entity_id"):
            per_class[case["perturbation"]][1] += 1
            per_class[case["perturbation"]][0] += found == case["expected_entity_id"]
        else:
            negatives += 1
            false_positives += found is not None
    rate = len(cases) / (time.perf_counter() - start)
    return {k: (v[0], v[1]) for k, v in per_class.items()}, false_positives / max(negatives, 1), rate


def run(per_class: int, seed: int, threshold: float, nomenklatura_threshold: float) -> None:
    console = Console()
    bench = generate(per_class, seed)
    cases, candidates = bench["cases"], bench["candidates"]
    families = {c["perturbation"]: c.get("family", "") for c in cases if c.get("expected_entity_id")}
    engines = {f"clearway (>= {threshold:g})": clearway_matcher(candidates, threshold)}
    try:
        engines[f"nomenklatura logic-v2 (>= {nomenklatura_threshold:g})"] = nomenklatura_matcher(
            candidates, nomenklatura_threshold
        )
    except ImportError:
        console.print("[yellow]nomenklatura is not installed (pip install '.[bench]'): its column is left out[/]")
    results = {name: evaluate(cases, match) for name, match in engines.items()}
    kinds = Counter("positive" if c.get("expected_entity_id") else "negative" for c in cases)
    title = f"sanctions-screening-benchmark (offline fixture, seed {seed})"
    table = Table(title=f"{title}: {kinds['positive']} variants, {kinds['negative']} negative controls")
    table.add_column("class")
    table.add_column("family")
    for name in results:
        table.add_column(name, justify="right")
    for perturbation in sorted(families, key=lambda p: (families[p], p)):
        cells = []
        for recall, _, _ in results.values():
            hit, total = recall.get(perturbation, (0, 0))
            cells.append(f"{hit}/{total} {hit / total:.0%}" if total else "-")
        table.add_row(perturbation, families[perturbation], *cells)
    totals = []
    for recall, _, _ in results.values():
        hit, total = sum(h for h, _ in recall.values()), sum(t for _, t in recall.values())
        totals.append(f"{hit}/{total} {hit / total:.0%}")
    table.add_row("all variants", "", *totals)
    table.add_row("false-positive rate", "negatives", *(f"{fp:.1%}" for _, fp, _ in results.values()))
    table.add_row("queries per second", "", *(f"{rate:,.0f}" for _, _, rate in results.values()))
    console.print(table)
