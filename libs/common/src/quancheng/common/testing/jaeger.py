"""A private Jaeger all-in-one (v2: OTLP receivers, memory storage, the query API) on 127.0.0.1,
built from its Go module into the test servers' cache."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from quancheng.common.testing.cache import cache_dir, free_ports, go_build

JAEGER_MODULE = "github.com/jaegertracing/jaeger"
JAEGER_PACKAGE = f"{JAEGER_MODULE}/cmd/jaeger"
JAEGER_VERSION = "v1.75.0"
_START_TIMEOUT_SECONDS = 60
_STOP_TIMEOUT_SECONDS = 10


def jaeger_binary() -> Path:
    """Where :func:`install` puts ``jaeger`` (it may not be there yet)."""
    return cache_dir() / "bin" / "jaeger"


def install() -> Path:
    """Build Jaeger into the cache's ``bin`` directory unless it is already there (as a tool:
    Jaeger's go.mod has replace directives)."""
    binary = jaeger_binary()
    if not binary.is_file():
        go_build("Jaeger", JAEGER_PACKAGE, JAEGER_VERSION, binary, as_tool=True)
    return binary


@dataclass(frozen=True)
class Span:
    """One span of a trace as Jaeger's query API gives it."""

    trace_id: str
    span_id: str
    # The span it is a child of (in the same trace), None for the trace's root.
    parent_id: str | None
    service: str
    operation: str
    tags: dict[str, Any]


def spans_of(trace: dict[str, Any]) -> list[Span]:
    """The spans of one trace from :meth:`JaegerServer.trace` or :meth:`JaegerServer.traces`."""
    services = {key: process["serviceName"] for key, process in trace["processes"].items()}
    found = []
    for span in trace["spans"]:
        parents = [
            ref["spanID"]
            for ref in span["references"]
            if ref["refType"] == "CHILD_OF" and ref["traceID"] == span["traceID"]
        ]
        found.append(
            Span(
                trace_id=span["traceID"],
                span_id=span["spanID"],
                parent_id=parents[0] if parents else None,
                service=services[span["processID"]],
                operation=span["operationName"],
                tags={tag["key"]: tag["value"] for tag in span["tags"]},
            )
        )
    return found


class JaegerServer:
    """Jaeger all-in-one keeping traces in memory: OTLP/HTTP in, the query API out, every port
    on 127.0.0.1. Its traces go on stop."""

    def __init__(self) -> None:
        self.otlp_port, self.query_port, self._query_grpc_port = free_ports(3)
        self._dir = Path(tempfile.mkdtemp(prefix="quancheng-jaeger-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def otlp_endpoint(self) -> str:
        """What ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes: spans are posted to ``/v1/traces``."""
        return f"http://127.0.0.1:{self.otlp_port}"

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.query_port}"

    @property
    def log_path(self) -> Path:
        return self._dir / "server.log"

    def _config(self) -> dict[str, Any]:
        # cmd/jaeger/internal/all-in-one.yaml cut down: OTLP/HTTP only, no sampling, metrics,
        # health or debugging endpoints, and no traces of Jaeger's own queries.
        return {
            "service": {
                "extensions": ["jaeger_storage", "jaeger_query"],
                "pipelines": {
                    "traces": {
                        "receivers": ["otlp"],
                        "processors": ["batch"],
                        "exporters": ["jaeger_storage_exporter"],
                    }
                },
                "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "info"}},
            },
            "extensions": {
                "jaeger_storage": {"backends": {"memstore": {"memory": {"max_traces": 100000}}}},
                "jaeger_query": {
                    "storage": {"traces": "memstore"},
                    "enable_tracing": False,
                    "http": {"endpoint": f"127.0.0.1:{self.query_port}"},
                    "grpc": {"endpoint": f"127.0.0.1:{self._query_grpc_port}"},
                },
            },
            "receivers": {
                "otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{self.otlp_port}"}}}
            },
            "processors": {"batch": {}},
            "exporters": {"jaeger_storage_exporter": {"trace_storage": "memstore"}},
        }

    def start(self) -> None:
        binary = jaeger_binary()
        if not binary.is_file():
            raise RuntimeError(
                "Jaeger is not installed: run python -m quancheng.common.testing.jaeger"
            )
        config = self._dir / "config.yaml"
        config.write_text(json.dumps(self._config(), indent=2))  # JSON is YAML
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [str(binary), "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_until_ready(self._process)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Jaeger exited at start:\n{self._log_tail()}")
            try:
                # Both ends: the query API, and the receiver taking an empty export.
                queried = httpx.get(f"{self.query_url}/api/services", timeout=2)
                received = httpx.post(
                    f"{self.otlp_endpoint}/v1/traces",
                    content=b"",
                    headers={"Content-Type": "application/x-protobuf"},
                    timeout=2,
                )
                if queried.status_code == received.status_code == httpx.codes.OK:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Jaeger did not come up in {_START_TIMEOUT_SECONDS} s:\n{self._log_tail()}"
                )
            time.sleep(0.2)

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except FileNotFoundError:
            return ""

    def _get(self, path: str, **params: str | int) -> httpx.Response:
        return httpx.get(f"{self.query_url}{path}", params=params, timeout=10)

    def services(self) -> list[str]:
        """The services that sent spans."""
        response = self._get("/api/services")
        response.raise_for_status()
        return list(response.json()["data"] or [])

    def traces(
        self, service: str, *, tags: Mapping[str, str] | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The latest traces with a span of ``service`` (that carries ``tags``), each whole:
        every service's spans."""
        params: dict[str, str | int] = {"service": service, "limit": limit}
        if tags:
            params["tags"] = json.dumps(dict(tags))
        response = self._get("/api/traces", **params)
        response.raise_for_status()
        return list(response.json()["data"] or [])

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        """One trace, None if Jaeger has no span of it."""
        response = self._get(f"/api/traces/{trace_id}")
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data[0]

    def stop(self) -> None:
        try:
            if self._process is not None and self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=_STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
        finally:
            self._process = None
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> JaegerServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":
    install()
