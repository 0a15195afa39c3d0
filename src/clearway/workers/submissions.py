"""Submissions over the API: group commit, idempotency keys, and assessment behind the acknowledgement.

A request is answered once its consignments are committed, never before: a 2xx means they are stored.
Requests wait in a queue per tenant; one writer thread takes work from the tenants in turn (at most SLICE
consignments of one tenant a turn, one turn per tenant waiting) and stores it in one transaction (one durable commit for
many requests). A bulk request is so committed in slices, its answer stored under its Idempotency-Key
with its last slice, so a retry gets the very same answer (after a crash between slices, a retry finds the
committed part `unchanged`). The assessor assesses what was committed, in batches shared between tenants
the same way: in a process of its own (`workers/assessor.py`, the default) or in a second thread. A
consignment committed but not yet assessed (a crash between the two) stays `registered` and is assessed
when the service (or the assessor's process) starts again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from opentelemetry.trace import SpanContext

from clearway.bootstrap import App
from clearway.errors import InvalidInput, RateLimited
from clearway.intake.submitted import Submitted
from clearway.interop import dms_notifications, ics2
from clearway.pipeline import BatchRow
from clearway.services.ingest import OutOfTime, assess_isolated, pending_batches, to_assess, until
from clearway.store import Registration
from clearway.store.engine import Connection, background_checkpoints
from clearway.store.repository import Staged, keep_answer, stored_answer, stored_answers
from clearway.telemetry import traces
from clearway.workers.assessor import AssessorProcess
from clearway.workers.health import Alive
from clearway.workers.priority import Priority

log = logging.getLogger("clearway.submissions")
_encode = msgspec.json.Encoder(order="deterministic").encode
GROUP = 500
"""Consignments per group commit at most: SLICE from each tenant with work waiting (one turn each), so a
transaction is short whenever other tenants wait, and another tenant's request waits for one such
transaction, not for a bulk batch."""
SLICE = 10
"""What one tenant gets into a group per turn of the round-robin."""
SMALL = 5
"""Requests of at most this many consignments are stored ahead of bulk slices (every other transaction)."""
LONE_SLICE = 50
"""What a tenant gets into a group when no other tenant has work waiting and no short request is in flight:
a bigger transaction, one commit for more consignments."""
INTERACTIVE_SLICE = 5
"""What one tenant gets into a group per turn while a short request is in flight elsewhere (the next one
may be its turn: the writer's transaction is then short)."""
QUIET_CHUNK = 50
"""Decisions stored per transaction by an assessor while no short request is in flight: one commit for more."""
RECORD_CHUNK = 10
"""Decisions stored per transaction by the assessor while a short request is in flight, so the writer waits
for at most that many."""
ASSESS_BATCH = 300
"""An assessment batch takes ASSESS_BATCH // SLICE writer slices, one per tenant per turn: 300 consignments
when slices are SLICE, up to 1,500 when a lone tenant's are LONE_SLICE. Its decisions are stored RECORD_CHUNK
or QUIET_CHUNK a transaction, so the write lock is held briefly whatever the batch's size."""


class IdempotencyConflict(InvalidInput):
    """An Idempotency-Key used again with another body."""


class QueueFull(RateLimited):
    """A tenant has more consignments waiting to be stored than its share of the queue."""


def request_hash(body: bytes, content_type: str) -> str:
    return hashlib.sha256(content_type.encode() + b"\0" + body).hexdigest()


_Work = tuple[dt.datetime, list[BatchRow], dict[str, int], tuple[SpanContext, ...]]
"""Stored rows to assess: when received, the rows, their versions, and the spans of the requests that filed
them (the assessment's trace parents)."""
T = TypeVar("T")


@dataclass
class _Request:
    tenant: str
    key: str
    digest: str
    batch: Sequence[Submitted]
    answer: Future[tuple[int, dict[str, Any]]] = field(default_factory=Future)
    done: int = 0  # consignments committed so far (a bulk request is committed in slices)
    registrations: list[Registration] = field(default_factory=list)
    received_at: dt.datetime | None = None
    span: SpanContext = field(default_factory=traces.current)  # the filing request's span, for the assessor


_Done = tuple["_Request", "tuple[int, dict[str, Any]] | Exception | None", "_Work | None"]
"""A slice committed: its request, the answer (None until its last slice; an exception when refused) and
the work it leaves for the assessor."""


@dataclass
class _Slice:
    request: _Request
    start: int
    end: int

    @property
    def first(self) -> bool:
        return self.start == 0

    @property
    def last(self) -> bool:
        return self.end == len(self.request.batch)


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


class FairQueue(Generic[T]):
    """Work per tenant, taken round-robin: a tenant with much waiting cannot hold back one with little.

    `put` adds a tenant's work; `take` waits for work and returns the next tenant with some (rotating), or
    None once closed and empty. `done` counts finished work, so `join` can wait until all is done."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._tenants: OrderedDict[str, deque[T]] = OrderedDict()
        self._open = 0  # put and not yet done
        self._closed = False

    def put(self, tenant: str, work: T) -> None:
        with self._cond:
            self._tenants.setdefault(tenant, deque()).append(work)
            self._open += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait(self) -> bool:
        """Block until there is work (True) or the queue is closed and empty (False)."""
        with self._cond:
            while not self._tenants and not self._closed:
                self._cond.wait()
            return bool(self._tenants)

    def round(self, budget: int, size: Callable[[T], int], share: int) -> list[tuple[str, T, int]]:
        """Up to `budget` units of work, at most `share` per tenant per turn, tenants in rotation. Returns
        (tenant, work, units taken); work whose units are not all taken stays at the head of its queue."""
        taken: list[tuple[str, T, int]] = []
        with self._cond:
            offsets: dict[int, int] = {}
            while budget > 0 and self._tenants:
                progressed = False
                for tenant in list(self._tenants):
                    if budget <= 0:
                        break
                    queue_ = self._tenants[tenant]
                    work = queue_[0]
                    left = max(1, size(work) - offsets.get(id(work), 0))
                    units = min(left, share, budget)
                    taken.append((tenant, work, units))
                    budget -= units
                    progressed = progressed or units > 0
                    if units == left:
                        queue_.popleft()
                        offsets.pop(id(work), None)
                        if not queue_:
                            del self._tenants[tenant]
                    else:
                        offsets[id(work)] = offsets.get(id(work), 0) + units
                    if tenant in self._tenants:
                        self._tenants.move_to_end(tenant)
                if not progressed:
                    break
            return taken

    def has_small(self, size: Callable[[T], int], limit: int) -> bool:
        """Some tenant's head work is at most `limit` units."""
        with self._cond:
            return any(size(queue_[0]) <= limit for queue_ in self._tenants.values())

    def smalls(self, size: Callable[[T], int], limit: int) -> list[tuple[str, T, int]]:
        """The head work of each tenant whose size is at most `limit`, taken whole (tenant, work, units)."""
        taken: list[tuple[str, T, int]] = []
        with self._cond:
            for tenant in list(self._tenants):
                queue_ = self._tenants[tenant]
                units = size(queue_[0])
                if units <= limit:
                    taken.append((tenant, queue_.popleft(), units))
                    if not queue_:
                        del self._tenants[tenant]
        return taken

    def done(self, count: int = 1) -> None:
        with self._cond:
            self._open -= count
            self._cond.notify_all()

    def join(self) -> None:
        with self._cond:
            while self._open > 0:
                self._cond.wait()

    def tenants(self) -> int:
        """How many tenants have work waiting (at least 1)."""
        with self._cond:
            return max(1, len(self._tenants))

    def depth(self, units: Callable[[T], int] | None = None) -> int:
        """Work items waiting (or their units, counted by `units`)."""
        with self._cond:
            if units is None:
                return sum(len(q) for q in self._tenants.values())
            return sum(units(work) for q in self._tenants.values() for work in q)


class Submissions:
    """The write path of the API: `submit` blocks until the batch is committed and returns the answer.

    Tenants share the writer and the assessor round-robin, and each may have at most `tenant_queue`
    consignments waiting to be stored (beyond, 429 with Retry-After): one tenant's flood slows its own
    requests, not another's."""

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
        self._writes: FairQueue[_Request] = FairQueue()
        self._assess: FairQueue[_Work] = FairQueue()
        self._threads: list[threading.Thread] = []
        self._waiting: Counter[str] = Counter()  # consignments waiting to be stored, per tenant
        self._readers: dict[str, list[Any]] = {}  # tenant -> [its reading lock, requests using it]
        self._lock = threading.Lock()
        self._deadline: float | None = None  # when stopping with a grace period: when assessment stops
        self._remote: AssessorProcess | None = None  # the assessor's own process (CLEARWAY_ASSESSOR=process)
        self.priority = Priority()  # short requests in flight: bulk work (validation, writer, assessor) yields
        self.counts: Counter[str] = Counter()  # accepted, rejected and each error code, since start (for metrics)

    def start(self) -> None:
        """Assess what an earlier run committed but did not assess, then start the writer and the assessor."""
        if self._threads:
            return
        self._writes, self._assess = FairQueue(), FairQueue()
        self._threads = [threading.Thread(target=self._write_loop, name="clearway-writer", daemon=True)]
        if self.app.settings.assessor == "process":  # it assesses what an earlier run left, as it starts
            background_checkpoints(self.app.store.engine)  # its process checkpoints the log, not our commits
            self._remote = AssessorProcess(self.app.settings, self._assessed_elsewhere)
            self.priority.mirror = self._remote.busy  # its process gives way to short requests too
            self._remote.start()
        else:
            self.assess_pending()
            self._threads.append(threading.Thread(target=self._assess_loop, name="clearway-assessor", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, grace: float | None = None) -> None:
        """Store what is queued (each request waiting gets its answer), assess what was stored, then stop;
        with `grace` (seconds), assessment stops when it runs out: what is left stays `registered` and is
        assessed at the next start."""
        if not self._threads:
            return
        deadline = None if grace is None else time.monotonic() + grace
        self._writes.close()
        self._threads[0].join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._deadline = deadline
        if self._remote is not None:
            self._remote.stop(None if deadline is None else max(0.0, deadline - time.monotonic()))
            self._remote = None
        else:
            self._assess.close()
            self._threads[1].join(None if deadline is None else max(0.0, deadline - time.monotonic()) + 1.0)
        if any(thread.is_alive() for thread in self._threads):
            log.warning("stopped with work left after the grace period; it is assessed at the next start")
        self._threads = []

    def _count(self, answer: dict[str, Any]) -> None:
        self.counts["accepted"] += answer["accepted"]
        self.counts["rejected"] += answer["rejected"]
        for result in answer["results"]:
            self.counts.update(f"error:{e['code']}" for e in result["errors"])

    def drain(self) -> None:
        """Wait until everything queued so far is committed and assessed."""
        self._writes.join()
        if self._remote is not None:
            self._remote.join()
        else:
            self._assess.join()

    def threads(self) -> dict[str, Alive | None]:
        """The writer and the assessor, a thread or a process (None before `start`)."""
        found: dict[str, Alive] = dict(zip(("writer", "assessor"), self._threads, strict=False))
        if self._remote is not None:
            found["assessor"] = self._remote
        return {"writer": found.get("writer"), "assessor": found.get("assessor")}

    def waiting(self) -> dict[str, int]:
        """Consignments waiting to be stored (not yet acknowledged) and stored waiting to be assessed."""
        with self._lock:
            writes = sum(self._waiting.values())
        if self._remote is not None:
            return {"writes": writes, "assessments": self._remote.waiting()}
        return {"writes": writes, "assessments": self._assess.depth(lambda work: len(work[1]))}

    def queue_depth(self) -> dict[str, int]:
        assessments = self._remote.slices() if self._remote is not None else self._assess.depth()
        return {"writes": self._writes.depth(), "assessments": assessments}

    @contextlib.contextmanager
    def validating(self, tenant: str) -> Iterator[None]:
        """Decoding and validating a request is the CPU-heavy part of a submission: each tenant reads one
        request at a time, so a tenant sending many bulk batches at once takes one thread's share of the
        processor, and the others' requests are not starved of it."""
        with self._lock:
            turn = self._readers.setdefault(tenant, [threading.Lock(), 0])
            turn[1] += 1
        try:
            with turn[0]:
                yield
        finally:
            with self._lock:
                turn[1] -= 1
                if turn[1] == 0:
                    del self._readers[tenant]

    def submit(self, tenant: str, key: str, digest: str, batch: Sequence[Submitted]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, answer) once committed; a retry with the same key and body gets the first answer."""
        if not self._threads:
            raise RuntimeError("the submission service is not started")
        limit = self.app.settings.tenant_queue
        with self._lock:
            if self._waiting[tenant] and self._waiting[tenant] + len(batch) > limit:
                raise QueueFull(
                    f"{self._waiting[tenant]} of your consignments are waiting to be stored (at most {limit}): "
                    "retry in a few seconds", retry_after=2,
                )  # fmt: skip
            self._waiting[tenant] += len(batch)
        request = _Request(tenant, key, digest, batch)
        self._writes.put(tenant, request)
        try:
            return request.answer.result()
        finally:
            with self._lock:
                self._waiting[tenant] -= len(batch)
                if self._waiting[tenant] <= 0:
                    del self._waiting[tenant]

    # --- the writer ---

    def _write_loop(self) -> None:
        small_turn = True
        left: Callable[[_Request], int] = lambda r: len(r.batch) - r.done  # noqa: E731
        while self._writes.wait():
            # small requests (a few consignments) go first, in a transaction of their own, every other turn:
            # a single filing waits for one transaction at most, not behind another tenant's bulk slices
            taken = self._writes.smalls(left, SMALL) if small_turn and self._writes.tenants() > 1 else []
            small_turn = not taken
            # a short request in flight (being read, or already queued): a bulk slice waits for it
            if not taken and self.priority.yield_point(until=lambda: self._writes.has_small(left, SMALL)):
                taken = self._writes.smalls(left, SMALL) if self._writes.tenants() > 1 else []
            if not taken:
                alone = self._writes.tenants() == 1
                share = INTERACTIVE_SLICE if self.priority.busy() else LONE_SLICE if alone else SLICE
                budget = min(GROUP, share * self._writes.tenants())
                taken = self._writes.round(budget, left, share)
            slices = []
            for _, request, units in taken:
                slices.append(_Slice(request, request.done, request.done + units))
                request.done += units
            try:
                self._commit_group(slices)
            finally:
                self._writes.done(sum(1 for s in slices if s.last))

    def _commit_group(self, slices: list[_Slice]) -> None:
        try:
            done = self._commit(slices)
        except Exception:  # one bad request must not fail the others: each alone, in its own transaction
            log.exception("group commit failed; committing its %d slices one by one", len(slices))
            done = []
            for piece in slices:
                try:
                    done += self._commit([piece])
                except Exception as exc:  # noqa: BLE001 - the request gets the error, the service goes on
                    done.append((piece.request, exc, None))
        for request, answer, rows in done:
            if rows is not None:
                (self._remote or self._assess).put(request.tenant, rows)
            if request.answer.done():
                continue
            if isinstance(answer, Exception):
                request.answer.set_exception(answer)
            elif answer is not None:
                request.answer.set_result(answer)
                self._count(answer[1])

    def _commit(self, slices: list[_Slice]) -> list[_Done]:
        """One transaction for the group: replayed keys answered from what was kept (looked up at once),
        then consecutive slices of one tenant received at one instant stored in one `record_in` (a platform's
        single filings arrive so: one call rather than a round of statements each), then each answered."""
        received_at = self.now()
        done: list[_Done] = []
        # bodies, hashes and party keys before the write turn: the turn is held for reads and writes only
        staged = [self.app.store.stage(piece.request.batch[piece.start : piece.end]) for piece in slices]
        with self.app.store.writing() as conn:
            asked: set[tuple[str, str]] = set()
            twins: set[int] = set()  # a key sent twice in this group: the later one looks after the first's answer
            for piece in slices:
                if piece.first and not piece.request.answer.done():
                    pair = (piece.request.tenant, piece.request.key)
                    if pair in asked:
                        twins.add(id(piece.request))
                    asked.add(pair)
            kept = stored_answers(conn, sorted(asked))
            runs: list[list[tuple[_Slice, list[Staged | None]]]] = []
            later: list[tuple[_Slice, list[Staged | None]]] = []
            for piece, ready in zip(slices, staged, strict=True):
                request = piece.request
                if request.answer.done():
                    continue  # answered from its key by an earlier slice, or failed
                if id(request) in twins:
                    later.append((piece, ready))
                    continue
                if piece.first:
                    request.received_at = received_at
                    if _replayed(request, kept.get((request.tenant, request.key)), done):
                        continue
                at = request.received_at or received_at
                run = runs[-1] if runs else None
                if run and run[-1][0].request.tenant == request.tenant and _at(run[-1][0], received_at) == at:
                    run.append((piece, ready))
                else:
                    runs.append([(piece, ready)])
            for run in runs:
                first = run[0][0]
                at = _at(first, received_at)
                parts = [piece.request.batch[piece.start : piece.end] for piece, _ in run]
                registrations = self.app.store.record_in(
                    conn, first.request.tenant, at, [s for part in parts for s in part],
                    [r for _, ready in run for r in ready],
                )  # fmt: skip
                start = 0
                for (piece, _), part in zip(run, parts, strict=True):
                    self._answer(conn, piece, at, part, registrations[start : start + len(part)], done)
                    start += len(part)
            for piece, ready in later:  # a twin's key is kept by now: it is answered from it, as a replay
                request = piece.request
                request.received_at = received_at
                if _replayed(request, stored_answer(conn, request.tenant, request.key), done):
                    continue
                at = _at(piece, received_at)
                part = piece.request.batch[piece.start : piece.end]
                registrations = self.app.store.record_in(conn, piece.request.tenant, at, part, ready)
                self._answer(conn, piece, at, part, registrations, done)
        return done

    def _answer(
        self, conn: Connection, piece: _Slice, at: dt.datetime, part: Sequence[Submitted],
        registrations: list[Registration], done: list[_Done],
    ) -> None:  # fmt: skip
        """A stored slice's work for the assessor; on the request's last slice, its answer, kept under its key."""
        request = piece.request
        request.registrations += registrations
        rows, versions = to_assess(self.app.store, request.tenant, at, part, registrations)
        work = (at, rows, versions, (request.span,)) if rows else None
        if not piece.last:
            done.append((request, None, work))
            return
        body = answer_for(request.batch, request.registrations, at)
        status = 201 if any(r.outcome in ("registered", "amended") for r in request.registrations) else 200
        # A twin request with the same key may have won since this request's first slice; within one
        # transaction that looked a moment ago, a twin committed since fails the key's unique insert, and
        # the group is then committed slice by slice, where the first look finds the twin's answer.
        stored = None if piece.first else _stored_answer(conn, request)
        if stored is not None:
            done.append((request, stored, work))
            return
        keep_answer(conn, request.tenant, request.key, request.digest, status, _encode(body).decode(), at)
        done.append((request, (status, body), work))

    # --- the assessor ---

    def _assess_loop(self) -> None:
        self.app.pipeline.warm()  # at start, not in the first request's batch (the model, scikit-learn's import)
        while self._assess.wait():
            if self._deadline is not None and time.monotonic() > self._deadline:
                return  # shutting down, out of time: what is left is registered, assessed at the next start
            # whole work items (each one writer slice, LONE_SLICE consignments at most), one per tenant per turn
            taken = self._assess.round(ASSESS_BATCH // SLICE, lambda _: 1, 1)
            try:
                for received_at, rows, versions, parents, _ in merge_work([(0, work) for _, work, _ in taken]):
                    with traces.child_of(parents, "assess", {"clearway.consignments": len(rows)}):
                        self._assess_rows(rows, versions, received_at)
            except OutOfTime:
                return  # stopped at a step of the batch under way: the rest of it stays registered
            finally:
                self._assess.done(len(taken))

    def _assess_rows(self, rows: list[BatchRow], versions: dict[str, int], as_of: dt.datetime) -> int:
        """Assess rows, each consignment that fails set aside alone; returns how many were set aside."""
        try:
            done = assess_isolated(
                self.app, rows, versions, as_of=as_of, decided_at=self.now(),
                record_chunk=lambda: RECORD_CHUNK if self.priority.busy() else QUIET_CHUNK,
                pause=until(lambda: self._deadline, self.priority.yield_point),
            )  # fmt: skip
            self.app.ledger.checkpoint_if_due(self.now())
        except OutOfTime:
            raise
        except Exception:  # the store itself failed: they stay as they were and are tried at the next start
            log.exception("assessment of %d consignments could not be stored; they stay registered", len(rows))
            return 0
        self.counts["assessment_failed"] += len(done.failed)
        if self.on_assessed is not None:
            self.on_assessed([row.key for row in rows if row.key not in done.failed])
        return len(done.failed)

    def assessor_restarts(self) -> int:
        """Times the assessor's process died and was started again (0 for an assessor in a thread)."""
        return 0 if self._remote is None else self._remote.restarts

    def _assessed_elsewhere(self, ids: list[str], failed: int) -> None:
        """What the assessor's process reports: for metrics and subscribers, as the in-process assessor does."""
        self.counts["assessment_failed"] += failed
        if self.on_assessed is not None and ids:
            self.on_assessed(ids)

    def assess_pending(self, *, retry: bool = True, registered: bool = True) -> int:
        """Assess every consignment registered without a decision for its current version (not with
        `registered` False: while the assessor runs, those are in its queue), and (with `retry`) those set
        aside whose next attempt is due; says truthfully how many were assessed and set aside."""
        if self._remote is not None and not registered:
            self._remote.retry_due()  # its process assesses them, in turn with the rest
            return 0
        batches = pending_batches(self.app, self.now() if retry else None, registered=registered)
        failed, tried = 0, sum(len(chunk) for chunk, _ in batches)
        for chunk, versions in batches:
            failed += self._assess_rows(chunk, versions, self.now())
        if tried:
            log.info(
                "assessed %d of %d consignments left unassessed or due for another attempt; %d set aside "
                "(assessment_failed)", tried - failed, tried, failed,
            )  # fmt: skip
        return tried


def merge_work(
    work: list[tuple[int, _Work]],
) -> list[tuple[dt.datetime, list[BatchRow], dict[str, int], tuple[SpanContext, ...], list[int]]]:
    """Queued work (each with a number) as few batches as possible, with the numbers each batch holds; a
    consignment amended twice in the queue is assessed apart."""
    merged: list[tuple[dt.datetime, list[BatchRow], dict[str, int], tuple[SpanContext, ...], list[int]]] = []
    for number, (received_at, rows, versions, parents) in work:
        if merged and not (versions.keys() & merged[-1][2].keys()):
            merged[-1][1].extend(rows)
            merged[-1][2].update(versions)
            merged[-1] = (*merged[-1][:3], merged[-1][3] + parents, [*merged[-1][4], number])
        else:
            merged.append((received_at, list(rows), dict(versions), parents, [number]))
    return merged


def _at(piece: _Slice, received_at: dt.datetime) -> dt.datetime:
    """When a slice's request was received: the group's instant for its first slice."""
    return piece.request.received_at or received_at


def _replayed(request: _Request, kept: tuple[str, int, bytes | str] | None, done: list[_Done]) -> bool:
    """Whether a request's first slice is answered from what its key kept (the same body: that answer; another
    body: refused), `done` holding the answer."""
    try:
        stored = _kept_answer(request, kept)
    except IdempotencyConflict as exc:
        done.append((request, exc, None))
        return True
    if stored is not None:
        done.append((request, stored, None))
    return stored is not None


def _stored_answer(conn: Connection, request: _Request) -> tuple[int, dict[str, Any]] | None:
    return _kept_answer(request, stored_answer(conn, request.tenant, request.key))


def _kept_answer(request: _Request, kept: tuple[str, int, bytes | str] | None) -> tuple[int, dict[str, Any]] | None:
    """The answer kept under the request's key, for a replay of the same body (None when the key is new)."""
    if kept is None:
        return None
    digest, status, body = kept
    if digest != request.digest:
        raise IdempotencyConflict(
            f"Idempotency-Key {request.key!r} was used before with another body: use a new key for new content"
        )
    return status, msgspec.json.decode(body)
