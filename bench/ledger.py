"""The ledger benchmark: appends per second, and proof generation and checking at a large tree size.

In memory the tree keeps every complete subtree (64 bytes a leaf in all); the stored log appends
through the same code the store uses (leaf rows, salted commitments, in the caller's transaction).
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from clearway.ledger import LedgerEvent, MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from clearway.store import ledger_log, make_engine, sqlite_url, upgrade
from clearway.store import tables as t

AT = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


def run(size: int, stored: int) -> None:
    console = Console()
    rows: list[tuple[str, str]] = []
    tree = MerkleTree()
    chunk = max(1, size // 100)
    start = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"appending {size:,} leaves", total=size)
        for base in range(0, size, chunk):
            for i in range(base, min(size, base + chunk)):
                tree.append(leaf_hash(i.to_bytes(8, "big")))
            progress.advance(task, min(chunk, size - base))
    seconds = time.perf_counter() - start
    rows.append(("appends to the in-memory tree (hash + append)", f"{size / seconds:,.0f} /s"))

    rng = random.Random(1)
    start = time.perf_counter()
    root = tree.root()
    rows.append((f"tree head at {size:,} leaves", f"{(time.perf_counter() - start) * 1e6:,.0f} µs"))
    samples = 2000
    picks = [rng.randrange(size) for _ in range(samples)]
    start = time.perf_counter()
    proofs = [tree.inclusion_proof(m, size) for m in picks]
    rows.append(
        (
            f"inclusion proof at {size:,} leaves (mean of {samples})",
            f"{(time.perf_counter() - start) / samples * 1e6:,.1f} µs",
        )
    )
    start = time.perf_counter()
    assert all(verify_inclusion(tree.leaf(m), m, size, p, root) for m, p in zip(picks, proofs, strict=True))
    rows.append(
        ("inclusion proof check (RFC 9162 2.1.3.2)", f"{(time.perf_counter() - start) / samples * 1e6:,.1f} µs")
    )
    olds = [rng.randrange(1, size) for _ in range(samples)]
    start = time.perf_counter()
    consistency = [tree.consistency_proof(m, size) for m in olds]
    rows.append(
        (
            f"consistency proof to {size:,} leaves (mean of {samples})",
            f"{(time.perf_counter() - start) / samples * 1e6:,.1f} µs",
        )
    )
    old_roots = [tree.root(m) for m in olds]
    start = time.perf_counter()
    assert all(verify_consistency(m, size, r, root, p) for m, r, p in zip(olds, old_roots, consistency, strict=True))
    rows.append(
        ("consistency proof check (RFC 9162 2.1.4.2)", f"{(time.perf_counter() - start) / samples * 1e6:,.1f} µs")
    )

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(sqlite_url(Path(tmp) / "ledger.db"))
        upgrade(engine)
        ids = [f"{i:032x}" for i in range(stored)]
        with engine.begin() as conn:
            conn.execute(
                t.consignments.insert(),
                [{"id": c, "submitter": "b", "reference": c, "version": 1, "content_hash": "", "status": "registered",
                  "channel": "post", "dispatch_country": "CN", "destination_country": "DE", "transport_document_id": c,
                  "received_at": AT, "updated_at": AT} for c in ids],
            )  # fmt: skip
            ledger_log.new_salts(conn, ids)
        events = [
            (f"e{i:031x}", LedgerEvent("assessed", c, AT, {"lane": "green", "version": 1})) for i, c in enumerate(ids)
        ]
        start = time.perf_counter()
        for base in range(0, stored, 5000):
            with engine.begin() as conn:
                ledger_log.append(conn, events[base : base + 5000])
        rows.append(
            (
                f"stored appends, SQLite, batches of 5,000 ({stored:,} events)",
                f"{stored / (time.perf_counter() - start):,.0f} /s",
            )
        )
        engine.dispose()

    table = Table(title=f"clearway ledger benchmark, {size:,} leaves")
    table.add_column("measure")
    table.add_column("figure", justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
