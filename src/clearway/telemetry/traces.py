"""OpenTelemetry traces: a span per request, with children for validation, storage and assessment (one per
pipeline stage), exported over OTLP/HTTP when CLEARWAY_OTLP_ENDPOINT is set, and off otherwise (the API's
no-op tracer: nothing is recorded, nothing costs).

Assessment runs after the answer, on the assessor thread: its span is a child of the request that filed
the consignments (the first, with links to the others when one batch assesses several requests), so one
trace shows a filing from the socket to its decision.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind

tracer = trace.get_tracer("clearway")


class PrivateIds(IdGenerator):
    """Trace and span ids from the system's randomness. The SDK's default draws them from the `random`
    module's shared state, which every span on every thread would then move under the feet of any code
    that seeds it (a simulation, a property test)."""

    def generate_span_id(self) -> int:
        return secrets.randbits(64) or 1  # 0 is the invalid id

    def generate_trace_id(self) -> int:
        return secrets.randbits(128) or 1


def configure(endpoint: str | None, service: str = "clearway") -> None:
    """Export spans to `endpoint` (OTLP over HTTP) in batches; with no endpoint, leave tracing off."""
    if not endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}), id_generator=PrivateIds())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)


def current() -> SpanContext:
    """The span context to carry to another thread (an invalid one when nothing is traced)."""
    return trace.get_current_span().get_span_context()


@contextmanager
def server_span(name: str, attributes: dict[str, Any]) -> Iterator[trace.Span]:
    with tracer.start_as_current_span(name, kind=SpanKind.SERVER, attributes=attributes) as span:
        yield span


@contextmanager
def child_of(parents: Sequence[SpanContext], name: str, attributes: dict[str, Any]) -> Iterator[trace.Span]:
    """A span whose parent is the first valid context of `parents` (linked to the rest), made current."""
    valid = [p for p in parents if p.is_valid]
    parent = otel_context.get_current()
    if valid:
        parent = trace.set_span_in_context(NonRecordingSpan(valid[0]))
    links = [Link(p) for p in valid[1:]]
    with tracer.start_as_current_span(name, context=parent, links=links, attributes=attributes) as span:
        yield span


@contextmanager
def stage(name: str) -> Iterator[None]:
    """A pipeline stage's span (the pipeline's observer)."""
    with tracer.start_as_current_span(f"stage {name}", attributes={"clearway.stage": name}):
        yield
