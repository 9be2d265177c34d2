"""Traces (OpenTelemetry, FastAPI + httpx, exported over OTLP), structured JSON logs and Prometheus
metrics."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping

import httpx
from fastapi import FastAPI, Response
from opentelemetry import trace
from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
)
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quancheng.common.settings import TelemetrySettings

_configured = False


def configure_process(settings: TelemetrySettings, service_name: str) -> None:
    """Logging and the tracer provider are process-wide: set them up once per process."""
    global _configured
    if _configured:
        return
    _configured = True
    handler = logging.StreamHandler(sys.stderr)
    if settings.json_logs:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    trace.set_tracer_provider(tracer_provider(settings, service_name))


def tracer_provider(settings: TelemetrySettings, service_name: str) -> TracerProvider:
    """A provider exporting to :func:`span_exporters`, in batches from a thread of its own (a
    slow or unreachable collector never holds up a request). It flushes and shuts down at
    process exit, so that a short-lived command loses none of its spans."""
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the service's own name.
    resource = Resource.create({SERVICE_NAME: service_name}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    for exporter in span_exporters(settings):
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


_SUPPORTED_EXPORTERS = {"otlp", "console", "none"}
_OTLP_PROTOCOL = "http/protobuf"
_EXPORT_LOG_INTERVAL_SECONDS = 300.0


def span_exporters(settings: TelemetrySettings) -> list[SpanExporter]:
    """Where spans go, as the standard variables say: OTLP when ``OTEL_TRACES_EXPORTER`` names
    ``otlp`` or, unset, when an OTLP endpoint is given (the exporter reads every other
    ``OTEL_EXPORTER_OTLP_*`` variable itself); the console when asked for."""
    named = {
        name.strip().lower()
        for name in os.environ.get(OTEL_TRACES_EXPORTER, "").split(",")
        if name.strip()
    }
    if unsupported := named - _SUPPORTED_EXPORTERS:
        raise ValueError(
            f"{OTEL_TRACES_EXPORTER}: {', '.join(sorted(unsupported))} is not available "
            f"(choose from {', '.join(sorted(_SUPPORTED_EXPORTERS))})"
        )
    exporters: list[SpanExporter] = []
    if settings.console_spans or "console" in named:
        exporters.append(ConsoleSpanExporter())
    endpoint = os.environ.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or os.environ.get(
        OTEL_EXPORTER_OTLP_ENDPOINT
    )
    # Unset, the exporter defaults to otlp; but with no endpoint named, nothing is sent.
    if ("otlp" in named) if named else bool(endpoint):
        exporters.append(_otlp_exporter())
    return exporters


def _otlp_exporter() -> OTLPSpanExporter:
    for variable in (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL):
        protocol = os.environ.get(variable)
        if protocol and protocol.strip() != _OTLP_PROTOCOL:
            raise ValueError(f"{variable}={protocol}: only {_OTLP_PROTOCOL} is available")
    exporter_log = logging.getLogger(OTLPSpanExporter.__module__)
    if not any(isinstance(f, _Repeats) for f in exporter_log.filters):
        exporter_log.addFilter(_Repeats(_EXPORT_LOG_INTERVAL_SECONDS))
    return OTLPSpanExporter()


class _Repeats(logging.Filter):
    """Each kind of warning or error passes once per interval: while the collector is away,
    the exporter logs every retry and every batch it gives up on."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self._interval = interval
        self._passed: dict[tuple[int, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.levelno, str(record.msg))
        last = self._passed.get(kind)
        if last is not None and record.created - last < self._interval:
            return False
        self._passed[kind] = record.created
        return True


def instrument_app(app: FastAPI) -> None:
    # No span per body message: an upload's PATCH arrives in hundreds of them.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="/healthz,/readyz,/metrics", exclude_spans=["receive", "send"]
    )


def instrument_client(client: httpx.AsyncClient) -> None:
    HTTPXClientInstrumentor.instrument_client(client)


class Metrics:
    """A service's own registry, so that several services in one process keep separate figures."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "quancheng_http_requests_total",
            "HTTP requests served",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "quancheng_http_request_duration_seconds",
            "HTTP request duration",
            ["service", "method", "route"],
            registry=self.registry,
        )
        # The event pipeline, read when scraped: a stuck relay or consumer shows here.
        self.events = Gauge(
            "quancheng_events",
            "The event pipeline: outbox_pending, outbox_oldest_seconds, outbox_head_attempts, "
            "dead_letters, failing_events",
            ["service", "figure"],
            registry=self.registry,
        )
        self.service = service

    def install(
        self, app: FastAPI, events: Callable[[], Awaitable[Mapping[str, object]]] | None = None
    ) -> None:
        app.add_middleware(_MetricsMiddleware, metrics=self)

        @app.get("/metrics", include_in_schema=False)
        async def _metrics() -> Response:
            if events is not None:
                for figure, value in (await events()).items():
                    if isinstance(value, int | float):
                        self.events.labels(self.service, figure).set(value)
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _MetricsMiddleware:
    """Plain ASGI (not BaseHTTPMiddleware), so streamed upload bodies pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            # The router records the matched route in the scope; report its template, not the URL.
            template = getattr(scope.get("route"), "path", "unmatched")
            m = self.metrics
            m.requests.labels(m.service, scope["method"], template, status).inc()
            m.latency.labels(m.service, scope["method"], template).observe(
                time.perf_counter() - started
            )
