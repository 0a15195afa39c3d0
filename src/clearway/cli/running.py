"""The long-running processes: `serve` (the HTTP API), `worker` (intake from a log) and the OpenAPI document."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Annotated

import typer

from clearway.cli.apps import app
from clearway.cli.common import out, utcnow
from clearway.gc_tuning import tune_gc


@app.command()
def worker(
    bus: Annotated[str, typer.Option(help="kafka://HOST:PORT/TOPIC (decisions go to TOPIC.decisions)")],
    batch: Annotated[int, typer.Option(min=1, help="messages per micro-batch")] = 500,
    health_port: Annotated[int, typer.Option(help="serve /healthz and /readyz on this port (0: none)")] = 0,
) -> None:
    """An intake worker in the consumer group: store and assess what the log carries, publish decisions;
    start as many as the topic has partitions. Stops on Ctrl-C or SIGTERM, between micro-batches."""
    import signal

    from clearway.bootstrap import bootstrap
    from clearway.scale.bus import open_bus
    from clearway.scale.worker import Worker
    from clearway.settings import Settings
    from clearway.telemetry import logs, traces
    from clearway.workers.health import heartbeat_check, serve_probes, storage_checks

    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _: stopping.append(signum))
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    traces.configure(settings.otlp_endpoint, "clearway-worker")
    log = open_bus(bus)
    application = bootstrap(settings)
    running = Worker(application, log, batch=batch, now=utcnow)
    tune_gc()
    probes = None
    if health_port:
        stale = 60.0  # a micro-batch polls for a second: a minute without one is a stuck loop
        probes = serve_probes(health_port, lambda: [
            *storage_checks(application), heartbeat_check(running.beat, time.monotonic(), stale)])  # fmt: skip
    try:
        running.run(lambda: bool(stopping))
    finally:
        log.close()
        if probes is not None:
            probes.shutdown()
            probes.server_close()
    out.print("worker stopped")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
) -> None:
    """Run the HTTP API on the configured database (OpenAPI at /schema)."""
    import uvicorn

    from clearway.api import create_app
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings
    from clearway.telemetry import logs, traces

    # hand the interpreter lock over every millisecond (not 5): a short request waits less behind a
    # long validation or assessment of another tenant's bulk batch (python -m bench fairness)
    sys.setswitchinterval(0.0005)
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    traces.configure(settings.otlp_endpoint)
    proxies = list(settings.trusted_proxies)  # X-Forwarded-For counts only from these (CLEARWAY_TRUSTED_PROXIES)
    api = create_app(bootstrap(settings))
    tune_gc()  # full collections stalled every request for 100 ms and more
    # SIGTERM: uvicorn stops accepting and answers the requests in flight (up to the grace period), then the
    # runtime stores and assesses what is queued (again up to the grace period) and the process exits
    uvicorn.run(
        api, host=host, port=port, proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None,
        log_config=None, timeout_graceful_shutdown=int(settings.shutdown_grace),
        timeout_keep_alive=math.ceil(settings.keep_alive),
    )  # fmt: skip


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI 3.1 document (the copy in docs/openapi.json is this output)."""
    import tempfile

    from clearway.api import create_app
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    with tempfile.TemporaryDirectory() as home:
        application = bootstrap(Settings.from_env({"CLEARWAY_HOME": home}))
        document = create_app(application).openapi_schema.to_schema()
        application.store.engine.dispose()
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
