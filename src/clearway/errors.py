"""The one tree of clearway's exceptions; outcomes (a red lane, a rejection) are data, not errors.

ClearwayError                 base; carries the reference it concerns, when there is one
├── InvalidInput              data that breaks a contract (a rule file, a profile, a request)
│   └── RuleFileError         a data file that fails to load: carries the file and the line
├── NotFound                  an object that does not exist (or is not the caller's)
├── IllegalTransition         a lifecycle step that is not allowed from the current state
├── ConfigurationError        settings or reference data that cannot work (missing rate, bad URL)
├── Unauthenticated           no credentials, or credentials or a token that do not hold
├── Forbidden                 a caller whose role may not do this
├── TooLarge                  a request over a size or count limit
└── RateLimited               a caller over its request rate; carries the seconds to wait
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


class Unauthenticated(ClearwayError):
    """No credentials, or credentials or a token that do not hold."""


class Forbidden(ClearwayError):
    """The caller is known but its role may not do this."""


class TooLarge(ClearwayError):
    """A request over a limit (body size, consignments per call)."""


class RateLimited(ClearwayError):
    """Too many requests; `retry_after` is the number of seconds to wait."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
