"""The candidate being assessed, as plain data a worker can receive, and the pipeline it builds there."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from clearway.bootstrap import build_pipeline, load_domains, load_selectivity, parse_watchlist
from clearway.pipeline import Pipeline
from clearway.revenue.packaged import load_revenue
from clearway.risk import parse_profiles
from clearway.targeting.model import TargetingModel


@dataclass(frozen=True)
class Candidate:
    """Profiles (their text and where it came from), optionally a targeting model (.cwm bytes) and a watch
    list (its text and name), so that screening is replayed as it ran."""

    profiles: str
    source: str
    model: bytes | None = None
    watchlist: tuple[str, str] | None = None

    def pipeline(self) -> Pipeline:
        return _pipeline(self)


@cache
def _pipeline(candidate: Candidate) -> Pipeline:
    """Built once per process: a Spark worker builds it on its first partition, then reuses it."""
    model = TargetingModel.from_bytes(candidate.model) if candidate.model else None
    profiles = parse_profiles(candidate.profiles, candidate.source, load_domains())
    watchlist = parse_watchlist(*candidate.watchlist) if candidate.watchlist else None
    return build_pipeline(profiles, load_revenue(), load_selectivity(), watchlist, model)
