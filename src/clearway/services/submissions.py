"""Submissions over the API: group commit, idempotency keys, and assessment behind the acknowledgement.

A request is answered once its consignments are committed, never before: a 2xx means they are stored.
Requests wait in a queue; one writer thread takes every request waiting and stores them in one
transaction (one durable commit for many requests), with each request's answer under its
Idempotency-Key in the same transaction, so a retry gets the very same answer. A second thread
assesses what was committed, in batches. A consignment committed but not yet assessed (a crash
between the two) stays `registered` and is assessed when the service starts again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.bootstrap import App
from clearway.errors import InvalidInput
from clearway.intake.submitted import Submitted
from clearway.interop import dms_notifications, ics2
from clearway.pipeline import BatchRow
from clearway.services.ingest import assess_isolated, pending_rows, to_assess
from clearway.store import Registration
from clearway.store import tables as t

log = logging.getLogger("clearway.submissions")
_encode = msgspec.json.Encoder(order="deterministic").encode
MAX_GROUP = 5000  # consignments per group commit


class IdempotencyConflict(InvalidInput):
    """An Idempotency-Key used again with another body."""


def request_hash(body: bytes, content_type: str) -> str:
    return hashlib.sha256(content_type.encode() + b"\0" + body).hexdigest()


_Work = tuple[dt.datetime, list[BatchRow], dict[str, int]]


@dataclass
class _Request:
    tenant: str
    key: str
    digest: str
    batch: Sequence[Submitted]
    answer: Future[tuple[int, dict[str, Any]]] = field(default_factory=Future)


_Done = tuple[_Request, "tuple[int, dict[str, Any]] | IdempotencyConflict", "_Work | None"]


def answer_for(batch: Sequence[Submitted], registrations: Sequence[Registration], at: dt.datetime) -> dict[str, Any]:
    """Per consignment, in the order sent: its registration id and outcome, or its errors; warnings always."""
    results = []
    for index, (item, registration) in enumerate(zip(batch, registrations, strict=True)):
        errors = [*item.outcome.errors, *registration.errors]
        results.append(
            {"index": index, "line": item.line, "reference": item.outcome.reference,
             "registration_id": registration.consignment_id if not errors else None,
             "outcome": registration.outcome, "version": registration.version,
             "errors": [msgspec.structs.asdict(e) for e in errors],
             "warnings": [msgspec.structs.asdict(w) for w in item.outcome.warnings]}
        )  # fmt: skip
        if errors:
            results[-1]["ics2"] = ics2.for_rejection(results[-1]["errors"])
        if item.format == "wco-dms":  # answered in the language it was filed in
            results[-1]["dms"] = dms_notifications.notification(
                "rejected" if errors else "accepted", notification_id=registration.submission_id,
                reference=item.outcome.reference or "", registration_id=results[-1]["registration_id"],
                version=registration.version, issued_at=at, errors=results[-1]["errors"],
            ).decode()  # fmt: skip
    accepted = sum(1 for r in results if not r["errors"])
    return {"accepted": accepted, "rejected": len(results) - accepted, "results": results}


class Submissions:
    """The write path of the API: `submit` blocks until the batch is committed and returns the answer."""

    def __init__(
        self,
        app: App,
        *,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        on_assessed: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.app = app
        self.now = now
        self.on_assessed = on_assessed
        self._writes: queue.Queue[_Request | None] = queue.Queue()
        self._assess: queue.Queue[tuple[dt.datetime, list[BatchRow], dict[str, int]] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self.counts: Counter[str] = Counter()  # accepted, rejected and each error code, since start (for metrics)

    def start(self) -> None:
        """Assess what an earlier run committed but did not assess, then start the writer and the assessor."""
        if self._threads:
            return
        self.assess_pending()
        self._threads = [
            threading.Thread(target=self._write_loop, name="clearway-writer", daemon=True),
            threading.Thread(target=self._assess_loop, name="clearway-assessor", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop."""
        if not self._threads:
            return
        self._writes.put(None)
        self._threads[0].join()
        self._assess.put(None)
        self._threads[1].join()
        self._threads = []

    def _count(self, answer: dict[str, Any]) -> None:
        self.counts["accepted"] += answer["accepted"]
        self.counts["rejected"] += answer["rejected"]
        for result in answer["results"]:
            self.counts.update(f"error:{e['code']}" for e in result["errors"])

    def drain(self) -> None:
        """Wait until everything queued so far is committed and assessed."""
        self._writes.join()
        self._assess.join()

    def queue_depth(self) -> dict[str, int]:
        return {"writes": self._writes.qsize(), "assessments": self._assess.qsize()}

    def submit(self, tenant: str, key: str, digest: str, batch: Sequence[Submitted]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, answer) once committed; a retry with the same key and body gets the first answer."""
        if not self._threads:
            raise RuntimeError("the submission service is not started")
        request = _Request(tenant, key, digest, batch)
        self._writes.put(request)
        return request.answer.result()

    # --- the writer ---

    def _write_loop(self) -> None:
        while True:
            first = self._writes.get()
            if first is None:
                self._writes.task_done()
                return
            group, size, stop = [first], len(first.batch), False
            while size < MAX_GROUP:
                try:
                    more = self._writes.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
                size += len(more.batch)
            try:
                self._commit_group(group)
            finally:
                for _ in range(len(group) + stop):
                    self._writes.task_done()
            if stop:
                return

    def _commit_group(self, group: list[_Request]) -> None:
        try:
            done = self._commit(group)
        except Exception:  # one bad request must not fail the others: each alone, in its own transaction
            log.exception("group commit failed; committing its %d requests one by one", len(group))
            done: list[_Done] = []
            for request in group:
                try:
                    done += self._commit([request])
                except Exception as exc:  # noqa: BLE001 - the request gets the error, the service goes on
                    request.answer.set_exception(exc)
        for request, answer, rows in done:
            if isinstance(answer, Exception):
                request.answer.set_exception(answer)
                continue
            request.answer.set_result(answer)
            self._count(answer[1])
            if rows is not None:
                self._assess.put(rows)

    def _commit(self, group: list[_Request]) -> list[_Done]:
        received_at = self.now()
        done: list[_Done] = []
        with self.app.store.engine.begin() as conn:
            for request in group:
                try:
                    stored = _stored_answer(conn, request)
                except IdempotencyConflict as exc:
                    done.append((request, exc, None))
                    continue
                if stored is not None:
                    done.append((request, stored, None))
                    continue
                registrations = self.app.store.record_in(conn, request.tenant, received_at, request.batch)
                body = answer_for(request.batch, registrations, received_at)
                status = 201 if any(r.outcome in ("registered", "amended") for r in registrations) else 200
                conn.execute(
                    t.idempotency_keys.insert().values(
                        tenant=request.tenant, key=request.key, request_hash=request.digest, status_code=status,
                        response=_encode(body).decode(), created_at=received_at,
                    )
                )  # fmt: skip
                rows, versions = to_assess(self.app.store, request.tenant, received_at, request.batch, registrations)
                done.append((request, (status, body), (received_at, rows, versions) if rows else None))
        return done

    # --- the assessor ---

    def _assess_loop(self) -> None:
        while True:
            first = self._assess.get()
            if first is None:
                self._assess.task_done()
                return
            work = [first]
            while len(work) < 64:
                try:
                    more = self._assess.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._assess.task_done()
                    self._assess.put(None)
                    break
                work.append(more)
            try:
                for received_at, rows, versions in _merge(work):
                    self._assess_rows(rows, versions, received_at)
            finally:
                for _ in work:
                    self._assess.task_done()

    def _assess_rows(self, rows: list[BatchRow], versions: dict[str, int], as_of: dt.datetime) -> int:
        """Assess rows, each consignment that fails set aside alone; returns how many were set aside."""
        try:
            done = assess_isolated(self.app, rows, versions, as_of=as_of, decided_at=self.now())
            self.app.ledger.checkpoint_if_due(self.now())
        except Exception:  # the store itself failed: they stay as they were and are tried at the next start
            log.exception("assessment of %d consignments could not be stored; they stay registered", len(rows))
            return 0
        self.counts["assessment_failed"] += len(done.failed)
        if self.on_assessed is not None:
            self.on_assessed([row.key for row in rows if row.key not in done.failed])
        return len(done.failed)

    def assess_pending(self, *, retry: bool = True) -> int:
        """Assess every consignment registered without a decision for its current version, and (with `retry`)
        those set aside whose next attempt is due; says truthfully how many were assessed and set aside."""
        rows, versions = pending_rows(self.app, self.now() if retry else None)
        failed = 0
        for start in range(0, len(rows), self.app.settings.batch_size):
            chunk = rows[start : start + self.app.settings.batch_size]
            failed += self._assess_rows(chunk, {r.key: versions[r.key] for r in chunk}, self.now())
        if rows:
            log.info(
                "assessed %d of %d consignments left unassessed or due for another attempt; %d set aside "
                "(assessment_failed)", len(rows) - failed, len(rows), failed,
            )  # fmt: skip
        return len(rows)


def _merge(
    work: list[tuple[dt.datetime, list[BatchRow], dict[str, int]]],
) -> list[tuple[dt.datetime, list[BatchRow], dict[str, int]]]:
    """Queued work as few batches as possible; a consignment amended twice in the queue is assessed apart."""
    merged: list[tuple[dt.datetime, list[BatchRow], dict[str, int]]] = []
    for received_at, rows, versions in work:
        if merged and not (versions.keys() & merged[-1][2].keys()):
            merged[-1][1].extend(rows)
            merged[-1][2].update(versions)
        else:
            merged.append((received_at, list(rows), dict(versions)))
    return merged


def _stored_answer(conn: sa.Connection, request: _Request) -> tuple[int, dict[str, Any]] | None:
    k = t.idempotency_keys.c
    row = conn.execute(
        sa.select(k.request_hash, k.status_code, k.response).where(k.tenant == request.tenant, k.key == request.key)
    ).first()
    if row is None:
        return None
    if row.request_hash != request.digest:
        raise IdempotencyConflict(
            f"Idempotency-Key {request.key!r} was used before with another body: use a new key for new content"
        )
    return int(row.status_code), msgspec.json.decode(row.response)
