"""Operational metrics in Prometheus format at `/metrics`: requests and their latency (Litestar's
middleware: counts, duration histograms, in flight, by method, route and status), and clearway's own:
consignments accepted and rejected by error code, the write and assessment queues, webhook deliveries
waiting, consignments whose assessment failed, the time bulk work gave way to short requests, and server
errors. `/metrics` answers the operator's scraper
only: a token with the `metrics` scope, or no token on a listener the operator keeps internal."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from clearway.errors import Forbidden, Unauthenticated
from clearway.services.ingest import over_capacity
from clearway.store.manifests import waiting_counts
from clearway.workers.runtime import Runtime


class ClearwayCollector(Collector):
    """Reads the running service's counters and queues at each scrape."""

    def __init__(self) -> None:
        self.runtimes: list[Runtime] = []
        self.lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        with self.lock:
            runtimes = list(self.runtimes)
        consignments = CounterMetricFamily("clearway_consignments", "consignments submitted", labels=["outcome"])
        rejections = CounterMetricFamily("clearway_rejections", "errors in rejected consignments", labels=["code"])
        queues = GaugeMetricFamily("clearway_queue_depth", "requests or batches waiting", labels=["queue"])
        failed = GaugeMetricFamily(
            "clearway_assessment_failed", "consignments set aside because their assessment failed (retried)"
        )
        yielded = CounterMetricFamily(
            "clearway_bulk_yield_seconds", "seconds bulk work (bodies, slices, assessment) gave way to short requests"
        )
        overrun = CounterMetricFamily(
            "clearway_mandatory_over_capacity",
            "mandatory stops decided in batches whose mandatory stops alone exceeded the inspection capacity",
        )
        without_data = GaugeMetricFamily(
            "clearway_arrived_without_data", "houses of arrived manifests that no filing names"
        )
        not_arrived = GaugeMetricFamily(
            "clearway_not_arrived", "filings not arrived CLEARWAY_ARRIVAL_GRACE_HOURS after their declared arrival"
        )
        restarts = CounterMetricFamily(
            "clearway_assessor_restarts", "times the assessor's process died and was started again"
        )
        unmatched = late = 0.0
        started_again = 0.0
        totals: dict[str, float] = {}
        depth = {"writes": 0.0, "assessments": 0.0, "webhook_deliveries": 0.0}
        set_aside = 0.0
        gave_way = 0.0
        over = 0.0
        for runtime in runtimes:
            gave_way += runtime.submissions.priority.yielded
            started_again += runtime.submissions.assessor_restarts()
            over += over_capacity(runtime.app).stops
            for key, value in runtime.submissions.counts.items():
                totals[key] = totals.get(key, 0.0) + value
            for queue, value in runtime.submissions.queue_depth().items():
                depth[queue] += value
            grace = dt.timedelta(hours=runtime.app.settings.arrival_grace_hours)
            counted = waiting_counts(runtime.app.store.engine, dt.datetime.now(dt.UTC) - grace)
            depth["webhook_deliveries"] += counted["webhook_deliveries"]
            set_aside += counted["assessment_failed"]
            unmatched, late = unmatched + counted["arrived_without_data"], late + counted["not_arrived"]
        for outcome in ("accepted", "rejected"):
            consignments.add_metric([outcome], totals.get(outcome, 0.0))
        for key, value in sorted(totals.items()):
            if key.startswith("error:"):
                rejections.add_metric([key.removeprefix("error:")], value)
        for queue, value in depth.items():
            queues.add_metric([queue], value)
        failed.add_metric([], set_aside)
        yielded.add_metric([], gave_way)
        overrun.add_metric([], over)
        without_data.add_metric([], unmatched)
        not_arrived.add_metric([], late)
        restarts.add_metric([], started_again)
        yield from (consignments, rejections, queues, failed, yielded, overrun, without_data, not_arrived, restarts)


COLLECTOR = ClearwayCollector()
REGISTRY.register(COLLECTOR)


def metrics_controller(runtime: Runtime, *, public: bool) -> type[PrometheusController]:
    """`/metrics`, for a bearer token with the `metrics` scope (a `monitor` client, as Prometheus's oauth2
    scrape configuration gets one, or an officer); without a token only where the operator serves it on an
    internal listener of its own (`CLEARWAY_METRICS_PUBLIC=1`)."""

    def scraper(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if public:
            return
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send `Authorization: Bearer <token>` of a client with the `metrics` scope")
        if "metrics" not in runtime.tokens.verify(token.strip()).scopes:
            raise Forbidden("this client may not read the metrics (it needs the `metrics` scope)")

    class MetricsController(PrometheusController):
        path = "/metrics"
        include_in_schema = False
        guards = [scraper]

    return MetricsController


def metrics_config(runtime: Runtime) -> PrometheusConfig:
    """The middleware's configuration; the runtime's counters join the scrape while the app runs."""
    with COLLECTOR.lock:
        COLLECTOR.runtimes.append(runtime)
    return PrometheusConfig(app_name="clearway", prefix="clearway", group_path=True, exclude=["/metrics"])


def forget(runtime: Runtime) -> None:
    with COLLECTOR.lock:
        if runtime in COLLECTOR.runtimes:
            COLLECTOR.runtimes.remove(runtime)
