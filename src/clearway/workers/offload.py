"""Ingest on two cores: this process validates and stores each batch while a second process assesses the
batch before it (issue 18: "assessment in its own process").

In one process, a day's ingest alternates between storing a batch and assessing it, and one of the
machine's cores idles. Here the assessor's process (spawned, bootstrapped from the same settings) assesses
batch N while this process stores batch N+1. Each batch is assessed as the in-process `ingest` assesses it:
the same rows, the same receipt time, its decisions stored in one transaction; what each batch's assessment
sees of the store is what it would see in one process, as long as the history it reads stops at the batch's
receipt (`store/risk_history.py`). At most `AHEAD` batches wait for the assessor, so memory stays bounded
and storing waits when assessing is the slower.

A batch whose assessment the process could not finish (it died, or the pool broke) stays registered in the
store; this process then assesses whatever is left registered itself, as a restarted service would.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import msgspec
import polars as pl

from clearway.bootstrap import App
from clearway.intake.submitted import Submitted
from clearway.pipeline import BatchRow
from clearway.services.ingest import IngestReport, StoredBatch, assess_isolated, pending_batches, store_batches
from clearway.settings import Settings

log = logging.getLogger("clearway.offload")
AHEAD = 2
"""Stored batches that may wait for the assessor's process before storing waits for it."""
OFFLOAD_FROM = 16 * 1024 * 1024
"""Bytes of input (about 15,000 consignments) from which a second process pays for its start: measured,
10,000 consignments ingested at 2,149 a second in one process and 2,014 in two; 20,000 at 2,549 and 2,824;
40,000 at 2,557 and 3,055."""

OFFLOAD_DAY = 10_000
"""Consignments of a simulated day from which the demo assesses in a second process: the day's simulation
hides most of that process's start. Measured (whole demo, alternating): 2,500 parcels took 17.2-17.5 s in
one process and 18.3-19.4 s in two; 10,000 took 28.1-30.9 s and 24.8-29.5 s; one parcel waited 5.8 s for
the second process to start."""


class _Work(msgspec.Struct, array_like=True):
    """A stored batch as it crosses to the assessor's process (msgpack, not pickle)."""

    received_at: dt.datetime
    rows: list[BatchRow]
    versions: dict[str, int]


class _Done(msgspec.Struct, array_like=True):
    """What the assessor's process did with a batch: the decision summaries (Arrow IPC) and the counts."""

    decisions: bytes
    returns: int
    return_problems: list[str]
    failed: int


_encode = msgspec.msgpack.Encoder().encode
_work = msgspec.msgpack.Decoder(_Work).decode
_done = msgspec.msgpack.Decoder(_Done).decode
_child_app: App | None = None


def _start(settings: Settings, prepare: Callable[[App], App] | None, quiet_commits: bool) -> None:
    """The assessor's process: the application, as the parent built it from the same settings; with
    `quiet_commits`, its commits leave checkpoints to the parent's thread (`workers/checkpoints.py`)."""
    import signal

    from clearway.bootstrap import bootstrap
    from clearway.gc_tuning import tune_gc
    from clearway.store.engine import background_checkpoints

    global _child_app
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops this process
    app = bootstrap(settings, migrate=False)
    if quiet_commits:
        background_checkpoints(app.store.engine)
    _child_app = prepare(app) if prepare is not None else app
    _child_app.pipeline.warm()  # while the parent stores its first batches (or simulates the demo's day)
    tune_gc()


def _ready() -> None:
    """Nothing: submitted first, so that the process starts and boots while the first batch is stored."""


def _assess(payload: bytes) -> bytes:
    app = _child_app
    assert app is not None, "the assessor's process was not started"
    work = _work(payload)
    done = assess_isolated(app, work.rows, work.versions, as_of=work.received_at, decided_at=dt.datetime.now(dt.UTC))
    summary = io.BytesIO()
    frames = [a.summary() for a in done.assessed]
    if frames:
        pl.concat(frames, how="vertical_relaxed").write_ipc(summary)
    return _encode(_Done(summary.getvalue(), done.returns, done.return_problems, len(done.failed)))


class Offloaded:
    """Ingests, storing here and assessing in a second process; `close` waits for the last assessments.

    The second process is started at once, so that it boots (about two seconds) while this one validates
    and stores the first batches; it pays off on inputs of several batches (`clearway ingest` offloads from
    OFFLOAD_FROM bytes of input; a smaller one is assessed in one process)."""

    def __init__(
        self, app: App, settings: Settings, *, prepare: Callable[[App], App] | None = None,
        now: Callable[[], dt.datetime], quiet_commits: bool = False,
    ) -> None:  # fmt: skip
        """`quiet_commits`: this process checkpoints the database in a thread (`checkpointing`), so the
        assessor's commits leave it to that thread too."""
        self.app, self.now = app, now
        self.report = IngestReport()
        self._waiting: deque[tuple[Future[bytes], int, Callable[[int], None] | None]] = deque()
        self._broken = False
        self._started: float | None = None  # the first `ingest`: the report's seconds are the ingest's
        self._closed = False
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
            initargs=(settings, prepare, quiet_commits),
        )  # fmt: skip
        self._pool.submit(_ready)  # the process starts now, not with the first batch

    def __enter__(self) -> Offloaded:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.close()
        elif self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def ingest(
        self, submitter: str, submitted: Iterable[Submitted], *, on_batch: Callable[[int], None] | None = None
    ) -> None:
        """Store `submitter`'s submissions here, batch by batch, and have each batch assessed."""
        if self._started is None:
            self._started = time.perf_counter()
        for stored in store_batches(self.app, submitter, submitted, self.report, now=self.now):
            self._send(stored, on_batch)

    def close(self) -> IngestReport:
        """Wait for every batch handed over, assess here what is left, and return the whole report (once:
        closing again returns the same report)."""
        if self._closed:
            return self.report
        self._closed = True
        while self._waiting:
            self._collect()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._broken:  # what the process did not finish is registered: assessed here, as at a restart
            for rows, versions in pending_batches(self.app, self.now(), registered=True):
                self.report.add(assess_isolated(self.app, rows, versions, as_of=self.now(), decided_at=self.now()))
        self.app.ledger.checkpoint_if_due(self.now())
        self.report.seconds = time.perf_counter() - (self._started or time.perf_counter())
        return self.report

    def _send(self, stored: StoredBatch, on_batch: Callable[[int], None] | None) -> None:
        if not stored.rows or self._broken:  # after a break, what is stored stays registered for `close`
            if on_batch is not None:
                on_batch(stored.size)
            return
        assert self._pool is not None, "closed"
        while len(self._waiting) >= AHEAD:
            self._collect()
        payload = _encode(_Work(stored.received_at, stored.rows, stored.versions))
        try:
            self._waiting.append((self._pool.submit(_assess, payload), stored.size, on_batch))
        except BrokenProcessPool:
            self._gone()
            if on_batch is not None:
                on_batch(stored.size)

    def _collect(self) -> None:
        future, size, on_batch = self._waiting.popleft()
        try:
            done = _done(future.result())
        except BrokenProcessPool:
            self._gone()
        else:
            if done.decisions:
                self.report.decisions.append(pl.read_ipc(io.BytesIO(done.decisions)))
            self.report.returns += done.returns
            self.report.return_problems += done.return_problems
            self.report.assessment_failed += done.failed
            # signed here, where there is time to spare, not in the assessor's process, whose time every batch
            # waits for: reading the new leaves into a tree is a good part of a batch's work
            self.app.ledger.checkpoint_if_due(self.now())
        if on_batch is not None:
            on_batch(size)

    def _gone(self) -> None:
        if not self._broken:
            log.error("the assessor's process ended unexpectedly; what it did not assess is assessed here")
        self._broken = True
