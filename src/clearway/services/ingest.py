"""Ingest: validate, store and assess consignments in batches, and count what happened."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

import msgspec
import polars as pl

from clearway.bootstrap import App
from clearway.clearance.policy import ClearancePolicy
from clearway.errors import ClearwayError
from clearway.intake.submitted import Submitted
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.services.history import gather, gatherer
from clearway.services.returns import is_return, returned_lines
from clearway.store import Registration, Store
from clearway.store import consignments as stored
from clearway.telemetry import traces
from clearway.telemetry.traces import tracer

log = logging.getLogger("clearway.ingest")


@dataclass
class IngestReport:
    """What one ingest run did; `decisions` keeps the frames for summaries and reports."""

    submitted: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    decisions: list[pl.DataFrame] = field(default_factory=list)
    seconds: float = 0.0
    returns: int = 0  # declared returns checked: each is refunded when its exit is reported
    return_problems: list[str] = field(default_factory=list)
    assessment_failed: int = 0  # consignments set aside because their assessment failed

    def decision_frame(self) -> pl.DataFrame:
        return pl.concat(self.decisions, how="vertical_relaxed") if self.decisions else pl.DataFrame()

    def add(self, done: Isolated) -> None:
        """What an assessment of stored rows did."""
        self.returns += done.returns
        self.return_problems += done.return_problems
        self.decisions.extend(a.summary() for a in done.assessed)
        self.assessment_failed += len(done.failed)

    def merge(self, other: IngestReport) -> None:
        self.submitted += other.submitted
        self.outcomes.update(other.outcomes)
        self.errors.update(other.errors)
        self.warnings.update(other.warnings)
        self.decisions.extend(other.decisions)
        self.seconds += other.seconds
        self.returns += other.returns
        self.return_problems.extend(other.return_problems)
        self.assessment_failed += other.assessment_failed


@dataclass
class Assessed:
    """The pipeline's answer for registered rows, stored; `frame` is the batch they were assessed as."""

    frame: pl.DataFrame
    decisions: pl.DataFrame
    returns: int = 0  # declared returns checked: each is refunded when its exit is reported
    return_problems: list[str] = field(default_factory=list)

    def summary(self) -> pl.DataFrame:
        """Decisions beside the batch columns that summaries and reports group by."""
        revenue = [
            c
            for c in ("collection_model", "revenue_currency", "duty", "vat", "total_due", "due_eur", "value_eur")
            if c in self.decisions.columns
        ]
        return self.decisions.select("key", "lane", "referrals", "reasons", "score", *revenue).join(
            self.frame.select("key", "channel", "destination_country", "dispatch_country", "reference", "submitter",
                              "intrinsic_value", "currency"),
            on="key",
        )  # fmt: skip


def to_assess(
    store: Store,
    submitter: str,
    received_at: dt.datetime,
    batch: Sequence[Submitted],
    registrations: Sequence[Registration],
) -> tuple[list[BatchRow], dict[str, int]]:
    """The rows a stored batch needs assessed (registered or amended), and their versions: one row for each
    consignment, its latest version. A parcel filed and amended in one batch was assessed once for each
    version, both recorded as the latest: two decisions, and its duty owed twice. (Requests stay apart: each
    is its own work for the assessor, which assesses one version after the other, `merge_work`.)"""
    rows: dict[str, BatchRow] = {}
    versions: dict[str, int] = {}
    for item, registration in zip(batch, registrations, strict=True):
        if registration.outcome in ("registered", "amended") and item.outcome.consignment is not None:
            assert registration.consignment_id is not None and registration.version is not None
            consignment = item.outcome.consignment
            keys = registration.party_keys or (store.party_keys(consignment) if store.party_keys else None)
            rows[registration.consignment_id] = BatchRow(registration.consignment_id, submitter, received_at,
                                                         consignment, keys)  # fmt: skip
            versions[registration.consignment_id] = registration.version
    return list(rows.values()), versions


def with_release_modes(policy: ClearancePolicy, frame: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """Each decision with how its parcel is released when no control stops it (the policy's `release`)."""
    facts = frame.select("key", "channel", "category").join(decisions.select("key", *(
        ["assessment"] if "assessment" in decisions.columns else [])), on="key", how="right")  # fmt: skip
    modes, missing = {}, {}
    for row in facts.iter_rows(named=True):
        assessment = msgspec.json.decode(row["assessment"]) if row.get("assessment") else None
        modes[row["key"]] = mode = policy.release_mode(row["channel"], row["category"], assessment)
        if mode == "full_declaration":
            missing[row["key"]] = policy.missing(assessment)
    return decisions.with_columns(
        pl.col("key").replace_strict(modes, return_dtype=pl.String).alias("release"),
        pl.col("key").replace_strict(missing, default=None, return_dtype=pl.List(pl.String)).alias("missing"),
    )


class OutOfTime(Exception):
    """Raised by a `pause` when the assessor is stopping and its grace has run out: the batch under way ends at
    that step. Decisions already stored stay; the rest of the batch stays registered for the next start."""


def until(deadline: Callable[[], float | None], pause: Callable[[], float]) -> Callable[[], float]:
    """An assessor's yield point: `pause` (giving way to short requests), or `OutOfTime` once `deadline()` (a
    `time.monotonic()` instant, None while not stopping) has passed."""

    def step() -> float:
        limit = deadline()
        if limit is not None and time.monotonic() > limit:
            raise OutOfTime("the shutdown grace ran out")
        return pause()

    return step


Chunk = int | Callable[[], int]
"""Decisions stored per transaction: a number, or a callable asked before each transaction (the assessors
take fewer while a short request is in flight and more when none is)."""


def assess_rows(
    app: App,
    rows: list[BatchRow],
    versions: dict[str, int],
    *,
    as_of: dt.datetime,
    decided_at: dt.datetime,
    record_chunk: Chunk | None = None,
    pause: Callable[[], object] | None = None,
) -> Assessed:
    """Refund what returns name, run the pipeline over the rows, store the decisions (and move each on),
    `record_chunk` decisions a transaction (all in one without it; a callable is asked before each).
    `pause`, when given, is called between steps (before the history, each stage, each chunk of decisions
    stored): the API's assessor gives way there to short requests (`workers/priority.py`), and a stopping
    assessor ends the batch there by raising `OutOfTime`."""
    step = pause or (lambda: None)

    @contextlib.contextmanager
    def observe(stage: str) -> Iterator[None]:
        step()
        with traces.stage(stage):
            yield

    done = Assessed(pl.DataFrame(), pl.DataFrame())
    for row in rows:  # a declared return is checked now, and refunded when it leaves (`Clearance.exit`)
        if is_return(row.consignment):
            try:
                returned_lines(app, row.submitter, row.consignment)
                done.returns += 1
            except ClearwayError as exc:
                done.return_problems.append(f"{row.consignment.reference}: {exc.message}")
    done.frame = to_batch(rows)
    step()
    with tracer.start_as_current_span("history", attributes={"clearway.consignments": len(rows)}):
        context = Context(as_of=as_of, history=gather(app, rows, as_of), observe=observe)
    with tracer.start_as_current_span("pipeline", attributes={"clearway.consignments": len(rows)}):
        done.decisions = with_release_modes(app.policy, done.frame, app.pipeline(done.frame, context))
    over_capacity(app).note(done.decisions)
    gatherer(app).count_decided(as_of, done.decisions)
    with tracer.start_as_current_span("record decisions", attributes={"clearway.consignments": len(rows)}):
        prepared = app.store.prepare_decisions(done.decisions)  # read once, outside the write lock
        start, height = 0, done.decisions.height
        while start < height:  # short transactions where others wait
            size = record_chunk() if callable(record_chunk) else record_chunk or height
            step()
            app.store.record_decisions(done.decisions.slice(start, size), versions, decided_at, prepared=prepared)
            start += size
    return done


@dataclass
class OverCapacity:
    """Mandatory stops decided in batches whose mandatory stops alone exceeded the inspection capacity: said
    loudly (a warning, `/metrics`, the officers' dashboard) rather than overrun in silence."""

    stops: int = 0
    batches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, decisions: pl.DataFrame) -> None:
        if "mandatory_over_capacity" not in decisions.columns:
            return
        over = int(decisions["mandatory_over_capacity"].sum())
        if not over:
            return
        with self.lock:
            self.stops += over
            self.batches += 1
        log.warning(
            "mandatory stops alone exceed the inspection capacity: %d of %d consignments in this batch are "
            "mandatory stops; no discretionary stop was kept", over, decisions.height,
        )  # fmt: skip


def over_capacity(app: App) -> OverCapacity:
    """The application's tally (made on first use, then kept)."""
    tally = app.caches.get("over_capacity")
    if not isinstance(tally, OverCapacity):
        tally = app.caches.setdefault("over_capacity", OverCapacity())
    assert isinstance(tally, OverCapacity)
    return tally


@dataclass
class Isolated:
    """What an isolated assessment did: the batches it assessed, and the consignments it set aside."""

    assessed: list[Assessed] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # consignment id -> the error, for officers

    @property
    def returns(self) -> int:
        return sum(a.returns for a in self.assessed)

    @property
    def return_problems(self) -> list[str]:
        return [p for a in self.assessed for p in a.return_problems]


def assess_isolated(
    app: App,
    rows: list[BatchRow],
    versions: dict[str, int],
    *,
    as_of: dt.datetime,
    decided_at: dt.datetime,
    record_chunk: Chunk | None = None,
    pause: Callable[[], object] | None = None,
) -> Isolated:
    """Assess the rows; when the batch fails, halve it until the consignments that fail are alone, so that
    whatever one consignment holds, the others of its batch are assessed. Those that fail alone are set
    aside (`assessment_failed`, with their error) and tried again after a back-off."""
    done = Isolated()

    def attempt(part: list[BatchRow]) -> None:
        try:
            done.assessed.append(
                assess_rows(
                    app,
                    part,
                    {r.key: versions[r.key] for r in part},
                    as_of=as_of,
                    decided_at=decided_at,
                    record_chunk=record_chunk,
                    pause=pause,
                )  # fmt: skip
            )
        except OutOfTime:
            raise  # the assessor is stopping: not a failure of these consignments
        except Exception as exc:  # noqa: BLE001 - any failure is narrowed down to the consignments that cause it
            if len(part) == 1:
                done.failed[part[0].key] = f"{type(exc).__name__}: {exc}"
                return
            middle = len(part) // 2
            attempt(part[:middle])
            attempt(part[middle:])

    if rows:
        attempt(rows)
    if done.failed:
        log.warning("set aside %d consignments whose assessment failed: %s", len(done.failed), sorted(done.failed))
        app.store.record_assessment_failures(done.failed, versions, decided_at)
    return done


def pending_rows(
    app: App, now: dt.datetime | None = None, *, registered: bool = True, only: Collection[str] | None = None
) -> tuple[list[BatchRow], dict[str, int]]:
    """Consignments registered but not assessed (a run stopped between the two; not with `registered` False,
    while a running assessor has them queued), and those set aside whose next attempt is due at `now`, with
    their versions; with `only`, those of them among these ids."""
    return stored.pending(app.store, now, registered=registered, only=only)


def pending_batches(
    app: App, now: dt.datetime | None = None, *, registered: bool = True
) -> list[tuple[list[BatchRow], dict[str, int]]]:
    """`pending_rows` in batches of the configured size, each with its versions."""
    rows, versions = pending_rows(app, now, registered=registered)
    size = app.settings.batch_size
    return [
        (chunk, {r.key: versions[r.key] for r in chunk})
        for chunk in (rows[start : start + size] for start in range(0, len(rows), size))
    ]


def _batches(items: Iterable[Submitted], size: int) -> Iterator[list[Submitted]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass(frozen=True)
class StoredBatch:
    """One batch as stored: when it was received, what of it needs assessing (and the versions), its size."""

    received_at: dt.datetime
    rows: list[BatchRow]
    versions: dict[str, int]
    size: int


def store_batches(
    app: App, submitter: str, submitted: Iterable[Submitted], report: IngestReport, *, now: Callable[[], dt.datetime]
) -> Iterator[StoredBatch]:
    """Store every submission batch by batch, counting outcomes, errors and warnings in `report`; each
    stored batch is handed on for assessment (in this process, or in the assessor's: `workers/offload.py`)."""
    for batch in _batches(submitted, app.settings.batch_size):
        received_at = now()
        registrations = app.store.record_batch(submitter, received_at, batch)
        for item, registration in zip(batch, registrations, strict=True):
            report.outcomes[registration.outcome] += 1
            report.errors.update(e.code for e in (*item.outcome.errors, *registration.errors))
            report.warnings.update(w.code for w in item.outcome.warnings)
        report.submitted += len(batch)
        rows, versions = to_assess(app.store, submitter, received_at, batch, registrations)
        yield StoredBatch(received_at, rows, versions, len(batch))


def ingest(
    app: App,
    submitter: str,
    submitted: Iterable[Submitted],
    *,
    now: Callable[[], dt.datetime],
    on_batch: Callable[[int], None] | None = None,
) -> IngestReport:
    """Store every submission and assess what was registered or amended, batch by batch."""
    report = IngestReport()
    started = time.perf_counter()
    for stored_batch in store_batches(app, submitter, submitted, report, now=now):
        if stored_batch.rows:
            report.add(assess_isolated(app, stored_batch.rows, stored_batch.versions,
                                       as_of=stored_batch.received_at, decided_at=now()))  # fmt: skip
        app.ledger.checkpoint_if_due(now())
        if on_batch is not None:
            on_batch(stored_batch.size)
    report.seconds = time.perf_counter() - started
    return report
