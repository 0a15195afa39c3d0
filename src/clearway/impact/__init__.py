"""Impact assessment: what a change of profiles or model would have done to past traffic (no I/O)."""

from clearway.impact.replay import REPLAY_SCHEMA, replay, summarise

__all__ = ["REPLAY_SCHEMA", "replay", "summarise"]
