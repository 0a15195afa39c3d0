"""The assessor in a process of its own (`CLEARWAY_ASSESSOR=process`, the default of a running service).

In the API's process, assessing a bulk batch takes turns at the interpreter lock with every request: a quiet
tenant's single filing waited behind another tenant's flood (issue 17, `python -m bench fairness`). Here the
writer hands each committed slice to a child process, which shares the work between tenants round-robin as
the in-process assessor does, runs at a lower CPU priority (the API's requests come first on the machine's
cores) and reports what it assessed back, for webhooks and metrics. Both processes write the same database;
the pipeline's configuration (profiles, selectivity, the targeting model, the watch list) is read again
from it before each batch, so what an officer activates is in force for the next batch.

A consignment committed and not yet assessed when the child stops or dies is `registered` in the store:
the child assesses such consignments when it starts, as the service does. Before each batch the child
writes down which consignments it holds; when it dies in the middle of one, the next child assesses that
batch in halves first, so that a consignment that brings the interpreter down (a crash, the kernel's
out-of-memory killer) is found in a few restarts and set aside alone (`assessment_failed`, tried again
after a back-off) while the rest of its batch, whoever filed it, is assessed. A child that dies without
having made progress is started again after a growing pause, not in a tight loop.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from opentelemetry.trace import SpanContext, TraceFlags

from clearway.pipeline import BatchRow
from clearway.settings import Settings

log = logging.getLogger("clearway.assessor")
NICENESS = 10
"""How much lower the child's CPU priority is than the API's (Linux `nice`)."""
CHILD_CHUNK = 5
"""Decisions stored per transaction by the child while the API has a short request in flight: at its lower
priority it holds the write turn longer for the same work, so it takes less each time."""


class _Parcel(msgspec.Struct, array_like=True):
    """One committed slice, as it crosses to the child: msgpack, not pickle (C-speed, and no code in it)."""

    tenant: str
    received_at: dt.datetime
    rows: list[BatchRow]
    versions: dict[str, int]
    spans: list[tuple[int, int, int]]  # the filing requests' trace and span ids and flags


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Parcel).decode
Work = tuple[dt.datetime, list[BatchRow], dict[str, int], tuple[SpanContext, ...]]
FIRST_PAUSE = 0.5
"""Seconds before a child that died without progress is started again; doubled each time, LONGEST_PAUSE at
most. A child that died in the middle of a batch it was narrowing down is started again at once."""
LONGEST_PAUSE = 30.0
HEALTHY_AFTER = 60.0
"""Seconds a child must have run for its death to count as a first one again."""


def ended(exitcode: int | None) -> str:
    """How a process ended, in words: its exit code, or the signal that ended it."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


class InFlight:
    """The consignments the child is assessing, written down before each batch in a file the parent reads
    when the child died (a file, not a queue: a message put just before a crash may never leave)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def hold(self, ids: list[str]) -> None:
        draft = self.path.with_suffix(".draft")
        draft.write_bytes(msgspec.json.encode(ids))
        os.replace(draft, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def taken(self) -> list[str]:
        """What the child held when it died (empty when it held nothing); forgotten once read."""
        try:
            ids = msgspec.json.decode(self.path.read_bytes(), type=list[str])
        except (OSError, msgspec.DecodeError):
            return []
        self.clear()
        return ids


class AssessorProcess:
    """The parent's side: hands work over, counts what is done, restarts a child that died."""

    def __init__(self, settings: Settings, on_assessed: Callable[[list[str], int], None]) -> None:
        self.settings = settings
        self.on_assessed = on_assessed  # (assessed ids, how many were set aside)
        self._context = multiprocessing.get_context("spawn")
        self._inbox: Any = self._context.Queue()
        self._outbox: Any = self._context.Queue()
        self.busy: Any = self._context.Value("i", 0, lock=False)  # the API's short requests in flight
        self._process: Any = None
        self._listener: threading.Thread | None = None
        self._cond = threading.Condition()
        self._sent = 0  # slices handed over
        self._done = 0  # slices the child finished
        self._rows: dict[int, int] = {}  # consignments of each slice not yet finished, by its number
        self._stopping = False
        self._folder = Path(tempfile.mkdtemp(prefix="clearway-assessor-"))
        self.in_flight = InFlight(self._folder / "in-flight.json")
        self._suspects: list[str] = []  # what the last child held when it died
        self._started = 0.0  # when the current child was started (monotonic)
        self._deaths = 0  # deaths in a row without progress
        self.restarts = 0

    def start(self) -> None:
        self._spawn()
        self._listener = threading.Thread(target=self._listen, name="clearway-assessor-results", daemon=True)
        self._listener.start()

    def put(self, tenant: str, work: Work) -> None:
        received_at, rows, versions, spans = work
        ids = [(s.trace_id, s.span_id, int(s.trace_flags)) for s in spans if s.is_valid]
        payload = _encode(_Parcel(tenant, received_at, rows, versions, ids))
        with self._cond:
            number = self._sent
            self._sent += 1
            self._rows[number] = len(rows)
            self._inbox.put((number, payload))

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every slice handed over is finished (or the child is gone); True when all are."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._done < self._sent and self.is_alive():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(0.05 if left is None else min(left, 0.05))
            return self._done >= self._sent

    def waiting(self) -> int:
        """Consignments handed over and not yet assessed."""
        with self._cond:
            return sum(self._rows.values())

    def slices(self) -> int:
        with self._cond:
            return self._sent - self._done

    def retry_due(self) -> None:
        """Ask the child to assess what was set aside and is due for another attempt."""
        self._inbox.put((-1, b"retry"))

    def stop(self, grace: float | None) -> None:
        """Let the child finish what it has (at most `grace` seconds), then end it."""
        self._stopping = True
        self._inbox.put((-1, b"stop" if grace is None else f"stop {grace}".encode()))
        if self._process is not None:
            self._process.join(None if grace is None else grace + 10)
            if self._process.is_alive():
                log.warning("the assessor did not stop in time; what it had stays registered for the next start")
                self._process.terminate()
                self._process.join(5)
        if self._listener is not None:
            self._outbox.put(None)
            self._listener.join(5)
        shutil.rmtree(self._folder, ignore_errors=True)

    def is_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _listen(self) -> None:
        while True:
            try:
                message = self._outbox.get(timeout=1.0)
            except queue.Empty:
                if not self.is_alive() and not self._stopping:
                    self._restart()
                continue
            if message is None:
                return
            number, assessed, failed = message
            if assessed or failed:
                try:
                    self.on_assessed(assessed, failed)
                except Exception:  # a subscriber's trouble must not stop the results
                    log.exception("after-assessment callback failed")
            if number >= 0:
                with self._cond:
                    self._done += 1
                    self._rows.pop(number, None)
                    self._cond.notify_all()

    def _restart(self) -> None:
        """The child died: what it had is registered in the store, and a new child assesses it at its start,
        the batch it died in first and in halves. A death that narrowed nothing down waits before the next."""
        how = ended(self._process.exitcode)
        held = self.in_flight.taken()
        lived = time.monotonic() - self._started
        progress = bool(held) and (not self._suspects or len(held) < len(self._suspects) or lived > HEALTHY_AFTER)
        self._deaths = 1 if lived > HEALTHY_AFTER or progress else self._deaths + 1
        pause = 0.0 if progress else min(FIRST_PAUSE * 2 ** (self._deaths - 1), LONGEST_PAUSE)
        self._suspects = held
        self.restarts += 1
        log.error(
            "the assessor process ended unexpectedly (%s) %s; starting another%s", how,
            f"while assessing {len(held)} consignments, which it assesses first, in halves" if held
            else "outside any batch", f" in {pause:.1f} s" if pause else "",
        )  # fmt: skip
        if pause:
            time.sleep(pause)
        with self._cond:
            self._done = self._sent  # handed-over slices are the new child's pending rows, not the queue's
            self._rows.clear()
            # new queues: the dead child may have held a queue's lock, or left half a message in its pipe
            self._inbox, self._outbox = self._context.Queue(), self._context.Queue()
            self._cond.notify_all()
        self._spawn(how)

    def _spawn(self, how: str = "") -> None:
        crash = (self._suspects, how) if self._suspects else None
        self._process = self._context.Process(
            target=_child, args=(self.settings, self._inbox, self._outbox, self.busy, self.in_flight.path, crash),
            name="clearway-assessor", daemon=True,
        )  # fmt: skip
        self._started = time.monotonic()
        self._process.start()


def _yielding(busy: Any, most: float = 0.02, share: float = 0.5) -> Callable[[], object]:
    """The child's side of `Priority.yield_point`: before each stage and each batch of decisions stored, wait
    while the API has a short request in flight (at most `most` seconds a point and `share` of a second),
    so that its write turn is not taken just when a short request needs it."""
    spent = [0, 0.0]

    def pause() -> float:
        if not busy.value:
            return 0.0
        started = time.monotonic()
        if spent[0] != int(started):
            spent[:] = [int(started), 0.0]
        deadline = started + min(most, share - spent[1])
        while busy.value and time.monotonic() < deadline:
            time.sleep(0.001)
        waited = time.monotonic() - started
        spent[1] += waited
        return waited

    return pause


def _child(
    settings: Settings, inbox: Any, outbox: Any, busy: Any, marker: Path, crash: tuple[list[str], str] | None
) -> None:
    """The child: bootstrap, narrow down the batch the last child died in (`crash`: its consignments, and
    how it ended), assess what an earlier run left registered, then assess what comes, tenants in turn, until
    told to stop."""
    from clearway.bootstrap import bootstrap
    from clearway.gc_tuning import tune_gc
    from clearway.services.ingest import OutOfTime, assess_isolated, until
    from clearway.store.engine import background_checkpoints
    from clearway.telemetry import logs, traces
    from clearway.workers.checkpoints import keep_checkpointing
    from clearway.workers.submissions import ASSESS_BATCH, QUIET_CHUNK, SLICE, FairQueue, merge_work

    for interrupt in (signal.SIGINT, signal.SIGTERM):  # the parent tells it when to stop, after its own work
        signal.signal(interrupt, signal.SIG_IGN)
    try:
        os.nice(NICENESS)  # the API's requests come first on the cores
    except OSError:
        log.warning("could not lower the assessor's CPU priority")
    logs.configure(settings.log_level, settings.log_format)
    traces.configure(settings.otlp_endpoint, "clearway-assessor")
    app = bootstrap(settings)
    if background_checkpoints(app.store.engine):  # the API's commits and ours leave it to this thread
        threading.Thread(target=keep_checkpointing, args=(app.store.engine,), name="clearway-checkpoints",
                         daemon=True).start()  # fmt: skip
    tune_gc()  # a full collection while it holds the write turn would hold up the API's commits
    # not warmed (`Pipeline.warm`): single submissions never need the text model (it learns from 50 lines or
    # more), and fitting it as the child boots delayed a new service's first assessments by 1.4 s
    pause = _yielding(busy)
    config = _Config(app)
    config.refresh()
    work: FairQueue[tuple[int, Work]] = FairQueue()
    deadline: list[float | None] = [None]

    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    in_flight = InFlight(marker)

    step = until(lambda: deadline[0], pause)  # give way to the API, or end the batch once out of time

    def assess(rows: list[BatchRow], versions: dict[str, int], as_of: dt.datetime, number: int) -> None:
        in_flight.hold([r.key for r in rows])
        try:
            done = assess_isolated(app, rows, versions, as_of=as_of, decided_at=now(), pause=step,
                                   record_chunk=lambda: CHILD_CHUNK if busy.value else QUIET_CHUNK)  # fmt: skip
            app.ledger.checkpoint_if_due(now())
        except OutOfTime:
            outbox.put((number, [], 0))
            raise
        except Exception:  # the store itself failed: they stay registered and are tried at the next start
            log.exception("assessment of %d consignments could not be stored; they stay registered", len(rows))
            outbox.put((number, [], 0))
            return
        finally:
            in_flight.clear()
        outbox.put((number, [r.key for r in rows if r.key not in done.failed], len(done.failed)))

    parent = multiprocessing.parent_process()

    def read() -> None:
        while True:
            try:
                number, payload = inbox.get(timeout=1.0)
            except queue.Empty:
                if parent is not None and not parent.is_alive():  # killed: what is left stays registered
                    log.warning("the service's process is gone; the assessor stops")
                    deadline[0] = time.monotonic()
                    work.close()
                    return
                continue
            if number >= 0:
                parcel = _decode(payload)
                spans = tuple(SpanContext(trace, span, True, TraceFlags(flags)) for trace, span, flags in parcel.spans)
                work.put(parcel.tenant, (number, (parcel.received_at, parcel.rows, parcel.versions, spans)))
            elif payload == b"retry":
                work.put("", (-1, (now(), [], {}, ())))
            elif payload.startswith(b"stop"):
                grace = payload.split()[1:]
                deadline[0] = time.monotonic() + float(grace[0]) if grace else None
                work.close()
                return

    # The inbox is read from the start: a stop that comes while an earlier run's backlog is assessed is heard.
    threading.Thread(target=read, name="clearway-assessor-inbox", daemon=True).start()
    try:
        if crash is not None:
            _narrow_down(app, now, assess, outbox, *crash)
        _assess_pending(app, now, assess)
        while work.wait():
            if deadline[0] is not None and time.monotonic() > deadline[0]:
                break  # out of time: what is left is registered, assessed at the next start
            taken = work.round(ASSESS_BATCH // SLICE, lambda _: 1, 1)
            try:
                config.refresh()
                retries = [n for _, (n, _), _ in taken if n < 0]
                if retries:
                    _assess_pending(app, now, assess, registered=False)
                items = [(n, item) for _, (n, item), _ in taken if n >= 0]
                for received_at, rows, versions, parents, numbers in merge_work(items):
                    with traces.child_of(parents, "assess", {"clearway.consignments": len(rows)}):
                        assess(rows, versions, received_at, numbers[0])
                    for number in numbers[1:]:
                        outbox.put((number, [], 0))
            finally:
                work.done(len(taken))
    except OutOfTime:  # ended at a step of the batch under way: the rest is registered, assessed at the next start
        log.warning("the shutdown grace ran out while assessing; what is left stays registered for the next start")
    outbox.put(None)


def _assess_pending(
    app: Any, now: Callable[[], dt.datetime], assess: Callable[..., None], *, registered: bool = True
) -> None:
    from clearway.services.ingest import pending_batches

    for chunk, versions in pending_batches(app, now(), registered=registered):
        assess(chunk, versions, now(), -1)


def _narrow_down(
    app: Any, now: Callable[[], dt.datetime], assess: Callable[..., None], outbox: Any, held: list[str], how: str
) -> None:
    """The last child died assessing `held`: alone, that consignment is set aside with how the process
    ended; more than one, each half is assessed as a batch of its own (a death in one hands that half on)."""
    from clearway.services.ingest import pending_rows

    rows, versions = pending_rows(app, now(), only=held)
    if len(held) == 1 and rows:
        cid = rows[0].key
        log.error("consignment %s was alone in the batch the assessor's process died in; set aside", cid)
        error = (f"AssessorDied: the assessor's process ended ({how}) while it assessed this consignment alone; "
                 "set aside so that the others are assessed, and tried again after a back-off")  # fmt: skip
        app.store.record_assessment_failures({cid: error}, versions, now())
        outbox.put((-1, [], 1))
        return
    middle = (len(rows) + 1) // 2
    for half in (rows[:middle], rows[middle:]):
        if half:
            assess(half, {r.key: versions[r.key] for r in half}, now(), -1)


class _Config:
    """The pipeline's configuration as stored: rebuilt when an officer activated profiles or selectivity, a
    model was promoted, or the watch list changed, since the last look."""

    def __init__(self, app: Any) -> None:
        from clearway.services.watchlist import WatchListRefresh

        self.app = app
        self.seen: dict[str, int] = {}
        self.watchlist = WatchListRefresh(app)

    def refresh(self) -> None:
        from clearway.bootstrap import champion
        from clearway.services.config import apply_stored
        from clearway.store.config import in_force

        stored = in_force(self.app.store.engine)
        if stored != self.seen:
            if stored.get("model") != self.seen.get("model"):
                self.app.model = champion(self.app.store.engine) or self.app.model
            apply_stored(self.app)
            self.app.pipeline = self.app.rebuild()
            self.seen = stored
        self.watchlist.refresh()
