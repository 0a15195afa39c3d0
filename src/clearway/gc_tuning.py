"""The garbage collector of a long-running process: what was loaded to start is never garbage."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """For a long run, after start: what was loaded to start (rules, tariffs, models, code lists) is never
    garbage, so the collector's full passes leave it out (`gc.freeze`), and collections run less often."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
