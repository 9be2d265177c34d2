"""Where spans go: the standard OTEL_* variables decide, a bad one stops the start with its name,
and an unreachable collector is told in the log once, not at every batch."""

from __future__ import annotations

import logging
import os

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from quancheng.common.settings import TelemetrySettings
from quancheng.common.telemetry import span_exporters, tracer_provider


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)


def _kinds(settings: TelemetrySettings | None = None) -> list[type]:
    exporters = span_exporters(settings or TelemetrySettings())
    for exporter in exporters:
        exporter.shutdown()
    return [type(e) for e in exporters]


def test_nothing_is_exported_unless_a_collector_is_named() -> None:
    assert _kinds() == []


@pytest.mark.parametrize(
    "variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
def test_an_otlp_endpoint_sends_spans_there(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:4318")
    assert _kinds() == [OTLPSpanExporter]


def test_the_exporter_variable_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert _kinds() == []
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console, otlp")
    assert _kinds() == [ConsoleSpanExporter, OTLPSpanExporter]
    monkeypatch.delenv("OTEL_TRACES_EXPORTER")
    assert _kinds(TelemetrySettings(console_spans=True)) == [
        ConsoleSpanExporter,
        OTLPSpanExporter,
    ]


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("OTEL_TRACES_EXPORTER", "zipkin", "zipkin is not available"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "only http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", "only http/protobuf"),
    ],
)
def test_an_exporter_we_do_not_have_stops_the_start_with_its_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, complaint: str
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=complaint) as refused:
        span_exporters(TelemetrySettings())
    assert variable in str(refused.value)


def test_the_standard_service_name_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = tracer_provider(TelemetrySettings(), "ingest")
    assert provider.resource.attributes["service.name"] == "ingest"
    provider.shutdown()
    monkeypatch.setenv("OTEL_SERVICE_NAME", "ingest-campaign")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=bureau")
    provider = tracer_provider(TelemetrySettings(), "ingest")
    assert provider.resource.attributes["service.name"] == "ingest-campaign"
    assert provider.resource.attributes["deployment.environment"] == "bureau"
    provider.shutdown()


def test_an_absent_collector_is_logged_once_not_at_every_batch(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    provider = tracer_provider(TelemetrySettings(), "ingest")
    tracer = provider.get_tracer("test")
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            with tracer.start_as_current_span("upload"):
                pass
            provider.force_flush()
    provider.shutdown()
    exporter_lines = [r for r in caplog.records if r.name == OTLPSpanExporter.__module__]
    assert exporter_lines, "the failed export is told"
    kinds = [(r.levelno, str(r.msg)) for r in exporter_lines]
    assert len(kinds) == len(set(kinds)), kinds
