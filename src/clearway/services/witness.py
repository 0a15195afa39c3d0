"""The witness a platform or carrier runs: keep checkpoints, check each new one extends the last.

A rollback (a smaller tree), a fork (same size, other root) or a rewritten history (no valid
consistency proof) raises LedgerCompromised with what was seen; the state file keeps the last good one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clearway.errors import ClearwayError
from clearway.ledger import Checkpoint, NoteVerifier, verify_consistency


class LedgerCompromised(ClearwayError):
    """The log showed a history that does not extend the one it signed before."""


@dataclass(frozen=True)
class Observation:
    previous: int | None
    current: int


def observe(
    fetch_checkpoint: Callable[[], str],
    fetch_consistency: Callable[[int, int], list[bytes]],
    verifier: NoteVerifier,
    state: Path,
) -> Observation:
    """Fetch and check the latest checkpoint against the one kept in `state`; keep it if it is good."""
    signed = fetch_checkpoint()
    current = Checkpoint.from_signed(signed, verifier)
    previous: Checkpoint | None = None
    if state.exists():
        saved = json.loads(state.read_text(encoding="utf-8"))
        previous = Checkpoint.from_signed(saved["checkpoint"], verifier)
    if previous is not None:
        old_root = base64.b64encode(previous.root).decode()
        if current.size < previous.size:
            raise LedgerCompromised(
                f"rollback: the log now shows {current.size} leaves, it signed {previous.size} before"
            )
        if current.size == previous.size and current.root != previous.root:
            raise LedgerCompromised(f"fork: two roots signed for size {current.size} ({old_root} before)")
        if current.size > previous.size:
            proof = fetch_consistency(previous.size, current.size)
            if not verify_consistency(previous.size, current.size, previous.root, current.root, proof):
                raise LedgerCompromised(
                    f"rewritten history: size {current.size} does not extend the size {previous.size} ({old_root}) "
                    "signed before"
                )
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"checkpoint": signed}) + "\n", encoding="utf-8")
    return Observation(previous.size if previous else None, current.size)
