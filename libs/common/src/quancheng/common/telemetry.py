"""Traces (OpenTelemetry, FastAPI + httpx), structured JSON logs and Prometheus metrics."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping

import httpx
from fastapi import FastAPI, Response
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
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
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if settings.console_spans:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)


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
