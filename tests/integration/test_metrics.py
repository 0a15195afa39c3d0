"""Operational metrics in Prometheus format: throughput, latency histograms, queues, rejections by code."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import example
from tests.integration.clients import bearer
from tests.integration.test_api import service_for


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_what_the_service_did(tmp_path: Path) -> None:
    for service in service_for(f"sqlite:///{tmp_path / 'm.db'}", tmp_path):
        broken = example(reference="BAD")
        broken["items"][0]["hs_code"] = "999999"
        scraper = bearer(service.app, "prometheus", "monitor")
        before = samples(service.client.get("/metrics", headers=scraper).text)  # counters are per process: compare
        service.submit([example(reference="OK1"), example(reference="OK2"), broken])
        found = samples(service.client.get("/metrics", headers=scraper).text)

        grew = {key: value - before.get(key, 0.0) for key, value in found.items()}
        assert grew[("clearway_consignments_total", (("outcome", "accepted"),))] == 2
        assert grew[("clearway_consignments_total", (("outcome", "rejected"),))] == 1
        assert grew[("clearway_rejections_total", (("code", "hs.unknown"),))] == 1
        assert found[("clearway_queue_depth", (("queue", "writes"),))] == 0
        assert ("clearway_queue_depth", (("queue", "webhook_deliveries"),)) in found
        latency = [k for k in found if k[0] == "clearway_request_duration_seconds_bucket"
                   and dict(k[1]).get("path") == "/v1/consignments"]  # fmt: skip
        assert latency, "a latency histogram per route"
        posted = {"path": "/v1/consignments", "status_code": "201"}
        requests = [k for k in grew if k[0] == "clearway_requests_total" and posted.items() <= dict(k[1]).items()]
        assert sum(grew[k] for k in requests) == 1
        assert found[("clearway_assessment_failed", ())] == 0
        assert ("clearway_bulk_yield_seconds_total", ()) in found  # time bulk work gave way to short requests


def test_metrics_answer_the_scraper_only(tmp_path: Path) -> None:
    """Issue 17, finding 13: /metrics answered anyone on the API port."""
    for service in service_for(f"sqlite:///{tmp_path / 'm.db'}", tmp_path):
        anonymous = service.client.get("/metrics")
        assert anonymous.status_code == 401 and "clearway_" not in anonymous.text
        assert service.client.get("/metrics", headers=service.alpha).status_code == 403  # a platform's token
        assert service.client.get("/metrics", headers=bearer(service.app, "prom", "monitor")).status_code == 200
        assert service.client.get("/metrics", headers=service.officer).status_code == 200
    for service in service_for(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "p", metrics_public=True):
        assert service.client.get("/metrics").status_code == 200  # the operator's own internal listener
