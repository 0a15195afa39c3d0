"""The clearance lifecycle: statuses, the transitions between them and who may make each (pure)."""

from clearway.clearance.lifecycle import ACTIONS, FINAL, OPEN_CASE, Action, after_assessment, next_status
from clearway.model.vocabulary import STATUSES, Status

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
