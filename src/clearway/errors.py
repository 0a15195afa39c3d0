"""The one tree of clearway's exceptions; outcomes (a red lane, a rejection) are data, not errors.

ClearwayError                 base; carries the reference it concerns, when there is one
├── InvalidInput              data that breaks a contract (a rule file, a profile, a request)
│   └── RuleFileError         a data file that fails to load: carries the file and the line
├── NotFound                  an object that does not exist (or is not the caller's)
├── IllegalTransition         a lifecycle step that is not allowed from the current state
└── ConfigurationError        settings or reference data that cannot work (missing rate, bad URL)
"""

from __future__ import annotations


class ClearwayError(Exception):
    """Base of every clearway exception."""

    def __init__(self, message: str, *, reference: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reference = reference


class InvalidInput(ClearwayError):
    """Data that breaks a contract."""


class RuleFileError(InvalidInput):
    """A rule, profile or reference-data file that fails to load, with its file and line."""

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}", reference=where)
        self.file = file
        self.line = line


class NotFound(ClearwayError):
    """The object does not exist, or belongs to someone else."""


class IllegalTransition(ClearwayError):
    """A lifecycle transition that is not allowed from the current state."""


class ConfigurationError(ClearwayError):
    """Settings or reference data that cannot work."""
