"""The clearance lifecycle: statuses, the transitions between them and who may make each (pure)."""

from clearway.clearance.lifecycle import (
    ACTIONS,
    FINAL,
    OPEN_CASE,
    STATUSES,
    Action,
    Status,
    after_assessment,
    next_status,
)

__all__ = [
    "ACTIONS",
    "FINAL",
    "OPEN_CASE",
    "STATUSES",
    "Action",
    "Status",
    "after_assessment",
    "next_status",
]
