"""`python -m bench system`: one table for the whole system, each step beside its floor and the ratio.

Steps: decode and validate; each pipeline stage (rules, screening, the detectors, revenue, the targeting
model, selectivity); the whole pipeline on the day's frame and on one consignment (its fixed cost); one
`ingest` of the day (validate, store, assess, ledger); storage on SQLite and PostgreSQL; API bulk intake;
the Kafka worker (librdkafka's mock cluster); the back-test on the local engine and on Spark local[2].
Floors: msgspec decode of the same lines; LightGBM's bare predict for the model; a bare-table insert
(executemany on SQLite, COPY on PostgreSQL) for storage; a bare consumer of the same messages for the
worker; Spark reading and counting the same Parquet for the back-test; issue 18's targets where there is
no floor to run. Ratio = floor rate / step rate. Nothing is asserted: figures, printed.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.api import _measure
from bench.intake import (
    NOW,
    _database,
    _decode_or_none,
    _floor_rate,
    _store_rate,
    as_commands_run,
    best_of,
    cpu_seconds,
    timed,
)
from clearway.bootstrap import (
    App,
    bootstrap,
    build_pipeline,
    load_profiles,
    load_selectivity,
    load_watchlist,
    profiles_text,
)
from clearway.demo.officers import inspect_held
from clearway.intake.ndjson_reader import read_ndjson
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.pipeline.assess import assess
from clearway.pipeline.history import History
from clearway.revenue.packaged import load_revenue
from clearway.risk.selectivity import apply as apply_selectivity
from clearway.scale.candidate import Candidate
from clearway.scale.engines import backtest, stop_spark
from clearway.services.history_export import export_history
from clearway.services.ingest import ingest
from clearway.settings import Settings
from clearway.sim import simulate
from clearway.sim.writer import write_watchlist
from clearway.store import sqlite_url
from clearway.store.throwaway import available, postgres_server
from clearway.targeting.model import _array, train
from clearway.targeting.stage import ModelStage, batch_history
from clearway.workers.offload import Offloaded

Row = tuple[str, float, str, float, str]  # step, rate, floor, floor rate, unit
ASSESS_TARGET = 25_000.0
"""Consignments a second on one core that issue 18 sets for `assess` (a floor stated, not measured)."""
HISTORY_STAGES = ("repeat_offenders", "export_mismatch")  # they read only what the store remembers


def _stages(lines: list[bytes], decode_rate: float, watchlist: Path) -> list[Row]:
    submitted = list(read_ndjson(lines))
    accepted = [s.outcome.consignment for s in submitted if s.outcome.consignment is not None]
    frame = to_batch([BatchRow(f"{i:032x}", "bench", NOW, c) for i, c in enumerate(accepted)])
    # as the service runs it: selectivity last, so that "assess" is decisions out, capacity and sample drawn
    pipeline = build_pipeline(load_profiles(None), load_revenue(), load_selectivity(), load_watchlist(watchlist))
    context = Context(as_of=NOW, history=History())
    rows: list[Row] = []
    for stage in pipeline.stages:
        seconds, _ = timed(lambda stage=stage: stage.run(frame, context))
        name = f"stage: {stage.name}" + (" (no stored history)" if stage.name in HISTORY_STAGES else "")
        rows.append((name, frame.height / seconds, "msgspec decode", decode_rate, "consignments"))
    decisions = assess(frame, context, pipeline.stages)  # before selectivity, which the next row times
    seconds, _ = timed(lambda: apply_selectivity(decisions, frame, context, settings=load_selectivity()))
    rows.append(("stage: selectivity", frame.height / seconds, "msgspec decode", decode_rate, "consignments"))
    seconds, _ = best_of(lambda: pipeline(frame, context))
    rows.append(("assess: the frame in, decisions out, selectivity's included (best of 3)", frame.height / seconds,
                 "target", ASSESS_TARGET, "consignments"))  # fmt: skip
    # the target is per core: Polars runs a batch on every core it has, so the wall clock flatters it on two
    cpu = min(cpu_seconds(lambda: pipeline(frame, context)) for _ in range(3))
    rows.append(("assess, per core: consignments per CPU-second, all of Polars' threads counted (best of 3)",
                 frame.height / cpu, "target", ASSESS_TARGET, "consignments"))  # fmt: skip
    calls = 20
    # flagged: a parcel stopped on its own (in the day, a split shipment is flagged for its other parts); nothing
    # flagged: one the whole pipeline says nothing of (most parcels: no hit, not drawn, no trusted operator's)
    stopped = decisions.filter(pl.col("lane").is_in(["yellow", "red"]))["key"].head(50)
    flagged = next(k for k in stopped if pipeline(frame.filter(pl.col("key") == k), context)["lane"][0] != "green")
    quiet = pipeline(frame, context).filter(pl.col("reasons").list.len() == 0)["key"][0]
    firsts = {"flagged": flagged, "nothing flagged": quiet}
    for label, key in firsts.items():
        one = frame.filter(pl.col("key") == key)
        pipeline(one, context)
        seconds, _ = best_of(lambda one=one: [pipeline(one, context) for _ in range(calls)])
        rows.append((f"assess: one consignment, {label} (fixed cost of a call, best of 3)", calls / seconds,
                     "target: 5 ms", 200.0, "calls"))  # fmt: skip
    labels = pl.Series("label", [0, 1] * (frame.height // 2) + [0] * (frame.height % 2), dtype=pl.Int8)
    history = batch_history(frame).join(frame.select(pl.col("key").alias("consignment")).with_columns(labels),
                                        on="consignment")  # fmt: skip
    model = train(history.drop("consignment"), mapping="clearway", trained_on="bench")
    stage_s, _ = timed(lambda: ModelStage(model).run(frame, context))
    items = batch_history(frame)
    matrix = _array(model.matrix(items.drop("consignment")))
    bare_s, _ = timed(lambda: model.booster.predict(matrix, num_iteration=model.meta.rounds))
    rows.append(("stage: targeting model", items.height / stage_s, "LightGBM predict", items.height / bare_s,
                 "item rows"))  # fmt: skip
    return rows


def _worker(lines: list[bytes], tmp: Path, decode_rate: float) -> list[Row]:
    """The worker's own cost on the in-process bus; then, on librdkafka's mock cluster (which delivers a few
    hundred messages a second: a functional log, not a fast one), the worker beside a bare consumer."""
    from clearway.scale.bus import KafkaBus, MemoryBus
    from clearway.scale.worker import Worker

    def app_at(name: str) -> App:
        return bootstrap(dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(tmp)}),
                                             database_url=sqlite_url(tmp / f"{name}.db")))  # fmt: skip

    memory = MemoryBus()
    for line in lines:
        memory.send("bench", line)
    in_process = Worker(app_at("worker-memory"), memory, batch=1000)
    seconds, _ = timed(lambda: [in_process.step() for _ in range(0, len(lines), 1000)])
    rows: list[Row] = [("worker, in-process bus (store, assess, publish)", len(lines) / seconds, "msgspec decode",
                        decode_rate, "messages")]  # fmt: skip
    try:
        import confluent_kafka as ck
    except ImportError:
        return rows
    quiet = {"log_level": 0, "fetch.wait.max.ms": 10}
    sample = lines[:2000]
    cluster = ck.Producer({"test.mock.num.brokers": 1, "log_level": 0})
    brokers = ",".join(f"{b.host}:{b.port}" for b in cluster.list_topics(timeout=10).brokers.values())
    for topic in ("floor", "aed"):
        producer = ck.Producer({"bootstrap.servers": brokers, "log_level": 0})
        for line in sample:
            producer.produce(topic, value=line, headers={"submitter": b"bench"})
            producer.poll(0)
        producer.flush(120)
    reader = ck.Consumer({"bootstrap.servers": brokers, "group.id": "floor", "auto.offset.reset": "earliest",
                          **quiet})  # fmt: skip
    reader.subscribe(["floor"])
    got, started, deadline = 0, None, time.monotonic() + 300
    while got < len(sample) and time.monotonic() < deadline:
        batch = [m for m in reader.consume(1000, 1.0) if m.error() is None]
        if batch and started is None:
            started = time.perf_counter()
        got += len(batch)
    floor = got / (time.perf_counter() - (started or time.perf_counter()))
    reader.close()
    worker = Worker(app_at("worker-kafka"), KafkaBus(f"kafka://{brokers}/aed", **quiet), batch=1000)
    handled, started, deadline = 0, None, time.monotonic() + 300
    while handled < got and time.monotonic() < deadline:
        n = worker.step(timeout=1.0)
        if n and started is None:
            started = time.perf_counter()
        handled += n
    rate = handled / (time.perf_counter() - (started or time.perf_counter()))
    worker.bus.close()
    cluster.flush(5)
    rows.append(("worker, Kafka mock cluster (2,000 messages)", rate, "bare consumer, same mock", floor, "messages"))
    return rows


def _backtest(lines: list[bytes], tmp: Path, size: int) -> list[Row]:
    settings = dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(tmp)}),
                                   database_url=sqlite_url(tmp / "history.db"))  # fmt: skip
    app = bootstrap(settings)
    ingest(app, "bench", read_ndjson(lines), now=lambda: NOW)
    inspect_held(app, pl.DataFrame(schema={"submitter": pl.String, "reference": pl.String, "violation": pl.String}),
                 capacity=size // 100, seed=1, now=lambda: NOW)  # fmt: skip
    export_history(app, tmp / "history")
    text, source = profiles_text(None)
    candidate = Candidate(text, source)
    rows: list[Row] = []
    local_s, replayed = timed(lambda: backtest(tmp / "history", candidate, "local"))
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return [("back-test, local engine", replayed.height / local_s, "-", 0.0, "rows")]
    backtest(tmp / "history", candidate, "spark")  # start the JVM and the workers once, outside the timing
    spark_s, _ = timed(lambda: backtest(tmp / "history", candidate, "spark"))
    spark = SparkSession.getActiveSession()
    assert spark is not None
    count_s, count = timed(lambda: spark.read.parquet(str(tmp / "history")).count())
    rows.append(("back-test, Spark local[2]", replayed.height / spark_s, "Spark read + count", count / count_s, "rows"))
    rows.append(("back-test, local engine", replayed.height / local_s, "Spark read + count", count / count_s, "rows"))
    stop_spark()
    return rows


def _ingest_offloaded(app: App, settings: Settings, lines: list[bytes]) -> None:
    """What `clearway ingest` does with the default `CLEARWAY_ASSESSOR=process`: this process stores, a
    second one assesses (its start, about two seconds, is counted)."""
    with Offloaded(app, settings, now=lambda: NOW) as run:
        run.ingest("bench", read_ndjson(lines))


def run(size: int, postgres: bool = True) -> None:
    console = Console(width=150)
    console.print(f"simulating {size:,} consignments ...")
    lines = [r.line for r in simulate(size, 99, NOW.date()).records]
    rows: list[Row] = []
    decode_s, _ = timed(lambda: [_decode_or_none(line) for line in lines])
    decode_rate = size / decode_s
    validate_s, submitted = timed(lambda: list(read_ndjson(lines)))
    rows.append(("decode + validate", size / validate_s, "msgspec decode", decode_rate, "consignments"))
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        rows += _stages(lines, decode_rate, write_watchlist(tmp))
        rows.append(("store on SQLite", _store_rate(sqlite_url(tmp / "s.db"), submitted), "executemany, bare table",
                     _floor_rate(sqlite_url(tmp / "f.db"), lines), "consignments"))  # fmt: skip
        with Progress(console=console, transient=True) as progress:
            api = _measure("SQLite", sqlite_url(tmp / "api.db"), lines, 2, progress)
        app = bootstrap(dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(tmp)}),
                                            database_url=sqlite_url(tmp / "ingest.db")))  # fmt: skip
        with as_commands_run():  # as `clearway ingest` runs it
            seconds, _ = timed(lambda: ingest(app, "bench", read_ndjson(lines), now=lambda: NOW))
        rows.append(("ingest a day (validate, store, assess, ledger; SQLite)", size / seconds, "msgspec decode",
                     decode_rate, "consignments"))  # fmt: skip
        settings = dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(tmp)}),
                                       database_url=sqlite_url(tmp / "offload.db"))  # fmt: skip
        with as_commands_run():
            seconds, _ = timed(lambda: _ingest_offloaded(bootstrap(settings), settings, lines))
        rows.append(("ingest a day, two processes (`clearway ingest`, the demo)", size / seconds, "msgspec decode",
                     decode_rate, "consignments"))  # fmt: skip
        rows.append(("API bulk intake (SQLite)", api["bulk"], "msgspec decode", decode_rate, "consignments"))
        rows.append(("API bulk, assessed (SQLite)", api["bulk_assessed"], "msgspec decode", decode_rate,
                     "consignments"))  # fmt: skip
        if postgres and available() is None:
            with postgres_server() as server:
                stored = _store_rate(_database(server, "store"), submitted)
                copied = _floor_rate(_database(server, "floor"), lines)
                rows.append(("store on PostgreSQL", stored, "COPY, bare table", copied, "consignments"))
                with Progress(console=console, transient=True) as progress:
                    pg = _measure("PostgreSQL", _database(server, "api"), lines, 2, progress)
                rows.append(("API bulk intake (PostgreSQL)", pg["bulk"], "msgspec decode", decode_rate, "consignments"))
        rows += _worker(lines, tmp, decode_rate)
        rows += _backtest(lines, tmp, size)
    table = Table(title=f"clearway, the whole system: {size:,} simulated consignments")
    for column in ("step", "per second", "unit", "floor", "floor per second", "ratio"):
        table.add_column(column, justify="left" if column in ("step", "floor", "unit") else "right")
    for step, rate, floor, floor_rate, unit in rows:
        ratio = f"{floor_rate / rate:.1f}x" if floor_rate else "-"
        table.add_row(step, f"{rate:,.0f}", unit, floor, f"{floor_rate:,.0f}" if floor_rate else "-", ratio)
    console.print(table)
    console.print(json.dumps({r[0]: round(r[1]) for r in rows}))
