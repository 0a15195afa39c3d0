"""Structured logs: one JSON object a line, with the request's context.

Each line carries `time` (UTC), `level`, `logger`, `event` (the message), and, inside a request, its
`request_id`, `client` and `tenant` (context variables the API sets), plus what the call passed in
`extra` (ids, counts, durations). Personal data never reaches the log: the code logs ids, counts and
codes, never names, addresses or values, and an exception is logged as its type and its stack of
`file:line function` frames, without its message (a database error's message can quote a row).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import traceback
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str | None] = ContextVar("clearway_request_id", default=None)
client: ContextVar[str | None] = ContextVar("clearway_client", default=None)
tenant: ContextVar[str | None] = ContextVar("clearway_tenant", default=None)

FIELDS = ("consignment_id", "registration_ids", "method", "route", "status", "duration_ms", "count", "kind")
"""The `extra` fields code may pass; anything else is left out, so a careless call cannot log a name."""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name, var in (("request_id", request_id), ("client", client), ("tenant", tenant)):
            value = getattr(record, name, None) or var.get()
            if value:
                line[name] = value
        for key in FIELDS:
            if key in record.__dict__:
                line[key] = record.__dict__[key]
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, trace = record.exc_info
            line["error"] = kind.__name__
            frames = traceback.extract_tb(trace)
            line["stack"] = [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames]
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(level: str = "INFO", form: str = "json") -> None:
    """The root logger to stderr, as JSON lines (or plain text for a terminal); uvicorn's loggers through it
    (its access log is replaced by clearway's own, which carries the request id and no query string)."""
    handler = logging.StreamHandler(sys.stderr)
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(JsonFormatter() if form == "json" else plain)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic").setLevel(logging.WARNING)  # each readiness check reads the schema's revision
