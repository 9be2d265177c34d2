"""Distributed mode end to end: the five services as separate ``quancheng serve`` processes on
PostgreSQL, Apache Kafka and MinIO, each server genuine and private to this run."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import urllib3
from minio import Minio
from minio.error import S3Error
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from quancheng.common.auth import BuiltinIssuer, Role
from quancheng.common.db.database import sync_url
from quancheng.common.settings import (
    SERVICES,
    MinioSettings,
    ObjectStoreKind,
    ObjectStoreSettings,
    Settings,
)
from quancheng.common.storage import ObjectExistsError
from quancheng.common.storage.minio import MinioObjectStore
from quancheng.common.testing.cache import free_ports
from quancheng.common.testing.jaeger import JaegerServer, Span, spans_of
from quancheng.common.testing.kafka import KafkaServer
from quancheng.common.testing.kit import seed_staff_sync
from quancheng.common.testing.minio import MinioServer
from quancheng.common.testing.postgres import PostgresServer
from quancheng.common.testing.process import CLI, wait_healthy

WAIT = 90.0


def env_name(service: str) -> str:
    return service.replace("-", "_").upper()


class Cluster:
    """Five service processes sharing a data dir (for the issuer key) and the three servers."""

    def __init__(
        self, tmp: Path, postgres: PostgresServer, kafka: KafkaServer, minio: MinioServer
    ) -> None:
        self.data_dir = tmp / "var"
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
        self.database_urls = {
            name: postgres.create_database(f"d_{env_name(name).lower()}_{uuid.uuid4().hex[:8]}")
            for name in SERVICES
        }
        self.bucket = f"originals-{uuid.uuid4().hex[:12]}"
        self.env = {
            "QUANCHENG_MODE": "distributed",
            "QUANCHENG_BUS__KIND": "kafka",
            "QUANCHENG_BUS__KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap,
            "QUANCHENG_BUS__KAFKA__DEAD_LETTER_TOPIC": f"e2e.dead-letter.{uuid.uuid4().hex}",
            "QUANCHENG_BUS__RELAY_INTERVAL_SECONDS": "0.5",
            "QUANCHENG_OBJECT_STORE__KIND": "minio",
            "QUANCHENG_OBJECT_STORE__MINIO__ENDPOINT": minio.endpoint,
            "QUANCHENG_OBJECT_STORE__MINIO__ACCESS_KEY": minio.access_key,
            "QUANCHENG_OBJECT_STORE__MINIO__SECRET_KEY": minio.secret_key,
            "QUANCHENG_OBJECT_STORE__MINIO__BUCKET": self.bucket,
            **{f"QUANCHENG_DATABASE__{env_name(n)}": url for n, url in self.database_urls.items()},
            **{
                f"QUANCHENG_SERVICES__{env_name(n)}": f"http://127.0.0.1:{port}"
                for n, port in self.ports.items()
                if n != "access-gateway"
            },
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, service: str, *, replica: str | None = None) -> None:
        """Start ``service``; with ``replica``, one more process of it under that name."""
        name = replica or service
        if name not in self.ports:
            self.ports[name] = free_ports(1)[0]
        command = [CLI, "serve", service, "--port", str(self.ports[name])]
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [*command, "--data-dir", str(self.data_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )
        self.processes[name] = process
        try:
            wait_healthy(f"{self.url(name)}/readyz", process, timeout=WAIT)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log(name)}") from exc

    def stop(self, service: str, *, kill: bool = False) -> None:
        process = self.processes.pop(service)
        process.send_signal(signal.SIGKILL if kill else signal.SIGINT)
        returncode = process.wait(timeout=60)
        assert kill or returncode == 0, self.log(service)

    def log(self, service: str) -> str:
        return (self.logs / f"{service}.log").read_text(errors="replace")[-6000:]

    def close(self) -> None:
        for service in list(self.processes):
            self.stop(service)

    def query(self, service: str, sql: str, **params: object) -> list[tuple[object, ...]]:
        engine = create_engine(sync_url(self.database_urls[service]))
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params)]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def jaeger() -> Iterator[JaegerServer]:
    with JaegerServer() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresServer,
    kafka_server: KafkaServer,
    minio_server: MinioServer,
    jaeger: JaegerServer,
) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("distributed"), postgres, kafka_server, minio_server)
    # Every service exports its spans to Jaeger, a batch every 200 ms.
    cluster.env |= {
        "OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.otlp_endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    try:
        for service in SERVICES:  # the gateway last: its readiness does not wait for the others
            cluster.start(service)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def office(cluster: Cluster) -> dict[str, str]:
    settings = Settings(data_dir=cluster.data_dir)
    issuer = BuiltinIssuer.from_directory(
        settings.identity_dir, issuer=settings.identity.issuer, audience=settings.identity.audience
    )
    headers = {"Authorization": f"Bearer {issuer.mint('office-1', [Role.OFFICE])}"}
    seed_staff_sync(cluster.url("access-gateway"), headers)
    return headers


def register(cluster: Cluster, headers: dict[str, str], serial: str) -> str:
    response = httpx.post(
        f"{cluster.url('access-gateway')}/api/v1/devices",
        headers=headers,
        timeout=30,
        json={"kind": "body_camera", "serial_number": serial, "model": "DSJ-V9", "section": "JC1"},
    )
    assert response.status_code == 201, response.text
    device_id: str = response.json()["id"]
    return device_id


def eventually(check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.3)


def known_to_ingest(cluster: Cluster, device_ids: list[str]) -> set[str]:
    rows = cluster.query("ingest", "SELECT device_id FROM known_devices")
    known = {str(uuid.UUID(str(row[0]))) for row in rows}
    return known & set(device_ids)


def times_applied(cluster: Cluster, device_ids: list[str]) -> dict[str, int]:
    """How often ingest applied each device's registration (its processed-event records)."""
    outbox = cluster.query(
        "device-registry", "SELECT event_id, key FROM outbox WHERE event_type = 'device.registered'"
    )
    event_of = {str(key): str(event_id) for event_id, key in outbox if str(key) in device_ids}
    processed = cluster.query(
        "ingest", "SELECT event_id FROM processed_events WHERE consumer = 'ingest'"
    )
    counts = [str(row[0]) for row in processed]
    return {device: counts.count(event) for device, event in event_of.items()}


def test_the_gateway_reaches_every_service_process(cluster: Cluster) -> None:
    health = httpx.get(f"{cluster.url('access-gateway')}/healthz", timeout=30).json()

    assert health["status"] == "ok"
    assert set(health["services"]) == set(SERVICES)


def test_an_event_from_one_service_is_consumed_by_another_over_kafka(
    cluster: Cluster, office: dict[str, str]
) -> None:
    device_id = register(cluster, office, f"BC-{uuid.uuid4().hex[:8]}")

    eventually(lambda: known_to_ingest(cluster, [device_id]) == {device_id}, "ingest knows it")
    assert times_applied(cluster, [device_id]) == {device_id: 1}


def test_a_service_killed_mid_stream_resumes_from_its_committed_offsets_without_duplicates(
    cluster: Cluster, office: dict[str, str]
) -> None:
    before = [register(cluster, office, f"BK-{n}-{uuid.uuid4().hex[:6]}") for n in range(3)]
    cluster.stop("ingest", kill=True)  # no graceful shutdown: whatever was in hand is lost
    during = [register(cluster, office, f"DK-{n}-{uuid.uuid4().hex[:6]}") for n in range(5)]
    cluster.start("ingest")
    devices = before + during

    eventually(lambda: known_to_ingest(cluster, devices) == set(devices), "ingest caught up")
    assert times_applied(cluster, devices) == dict.fromkeys(devices, 1)


def test_a_broker_outage_loses_no_event(
    cluster: Cluster, office: dict[str, str], kafka_server: KafkaServer
) -> None:
    kafka_server.stop_broker()
    try:
        # The registry keeps working: each event waits in its outbox while the broker is away.
        devices = [register(cluster, office, f"OUT-{n}-{uuid.uuid4().hex[:6]}") for n in range(3)]
        time.sleep(2)
    finally:
        kafka_server.start_broker()

    eventually(lambda: known_to_ingest(cluster, devices) == set(devices), "events after outage")
    assert times_applied(cluster, devices) == dict.fromkeys(devices, 1)


@pytest.mark.req("A-6a")
def test_device_credentials_work_across_processes_and_revocation_stops_them_at_once(
    cluster: Cluster, office: dict[str, str]
) -> None:
    """The registry mints with the issuer key the gateway verifies with, and the gateway asks
    the registry process, over HTTP, about every request a device token makes."""
    gateway = cluster.url("access-gateway")
    device_id = register(cluster, office, f"CR-{uuid.uuid4().hex[:8]}")
    creds = httpx.post(
        f"{gateway}/api/v1/devices/{device_id}/credentials", headers=office, timeout=30
    ).json()
    form = {"grant_type": "client_credentials", **creds}
    form = {k: v for k, v in form.items() if k in ("grant_type", "client_id", "client_secret")}
    exchanged = httpx.post(f"{gateway}/api/v1/device-tokens", data=form, timeout=30)
    assert exchanged.status_code == 200, exchanged.text
    device = {"Authorization": f"Bearer {exchanged.json()['access_token']}"}
    status = f"{gateway}/api/v1/device-tokens/current"
    assert httpx.get(status, headers=device, timeout=30).status_code == 200

    revoked = httpx.post(
        f"{gateway}/api/v1/upload-clients/{creds['client_id']}/revoke",
        json={},
        headers=office,
        timeout=30,
    )
    assert revoked.status_code == 200, revoked.text

    refused = httpx.get(status, headers=device, timeout=30)
    assert refused.status_code == 401
    assert refused.json()["error"] == "device_credentials_revoked"


@pytest.mark.req("A-13")
@pytest.mark.req("B-8")
async def test_minio_itself_refuses_to_delete_an_original_in_the_bucket_the_services_made(
    cluster: Cluster, minio_server: MinioServer
) -> None:
    """The services created the bucket with Object Lock and a default COMPLIANCE retention of
    at least three years: an original written there without naming a retention is protected by
    MinIO itself, whoever asks."""
    store = MinioObjectStore(
        ObjectStoreSettings(
            kind=ObjectStoreKind.MINIO,
            minio=MinioSettings(
                endpoint=minio_server.endpoint,
                access_key=minio_server.access_key,
                secret_key=SecretStr(minio_server.secret_key),
                bucket=cluster.bucket,
            ),
        )
    )
    key = f"JC1/2026/{uuid.uuid4().hex}.mp4"
    try:
        await store.put(key, b"original recording", retain_until=None)
        with pytest.raises(ObjectExistsError):
            await store.put(key, b"forged", retain_until=None)
        info = await store.head(key)
    finally:
        store.close()
    pool = urllib3.PoolManager()
    raw = Minio(
        minio_server.endpoint,
        access_key=minio_server.access_key,
        secret_key=minio_server.secret_key,
        secure=False,
        http_client=pool,
    )
    try:
        version = raw.stat_object(cluster.bucket, key).version_id
        with pytest.raises(S3Error) as deleting:
            raw.remove_object(cluster.bucket, key, version_id=version)
    finally:
        pool.clear()

    assert info.retain_until is not None
    assert info.retain_until > datetime.now(UTC) + timedelta(days=3 * 365)
    assert deleting.value.code == "InvalidRequest"
    assert "WORM" in (deleting.value.message or "")


# Uploads across ingest processes, on PostgreSQL and MinIO.

MIB = 1024 * 1024
PRE_USE = {
    "fault_free": True,
    "battery_percent": 90,
    "free_storage_mb": 32_000,
    "clock_offset_seconds": 0.5,
}


@pytest.fixture(scope="module")
def officer(cluster: Cluster, office: dict[str, str]) -> dict[str, str]:
    settings = Settings(data_dir=cluster.data_dir)
    issuer = BuiltinIssuer.from_directory(
        settings.identity_dir, issuer=settings.identity.issuer, audience=settings.identity.audience
    )
    return {"Authorization": f"Bearer {issuer.mint('officer-7', [Role.OFFICER], section='JC1')}"}


def issued_body_camera(cluster: Cluster, office: dict[str, str], officer: dict[str, str]) -> str:
    gateway = cluster.url("access-gateway")
    device_id = register(cluster, office, f"UP-{uuid.uuid4().hex[:8]}")
    for path, body in (
        ("transitions", {"to": "in_stock"}),
        ("issue", {"officer_id": "officer-7", "check": PRE_USE}),
    ):
        moved = httpx.post(
            f"{gateway}/api/v1/devices/{device_id}/{path}", json=body, headers=office, timeout=30
        )
        assert moved.status_code == 200, moved.text
    params = {"device_id": device_id, "officer_id": "officer-7"}
    eventually(
        lambda: (
            httpx.get(
                f"{gateway}/api/v1/upload-permission", params=params, headers=officer, timeout=30
            ).status_code
            == 200
        ),
        "ingest learns of the issue",
    )
    return device_id


def tus_metadata(device_id: str, name: str) -> str:
    values = {
        "filename": name,
        "device_id": device_id,
        "officer_id": "officer-7",
        "kind": "video",
        "captured_at": datetime.now(UTC).isoformat(),
    }
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def stored_original(cluster: Cluster, minio_server: MinioServer, record_id: str) -> bytes:
    rows = cluster.query(
        "ingest", "SELECT object_key FROM originals WHERE record_id = :r", r=uuid.UUID(record_id)
    )
    assert len(rows) == 1
    raw = Minio(
        minio_server.endpoint,
        access_key=minio_server.access_key,
        secret_key=minio_server.secret_key,
        secure=False,
    )
    response = raw.get_object(cluster.bucket, str(rows[0][0]))
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


TUS_HEADERS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS_HEADERS, "Content-Type": "application/offset+octet-stream"}


@pytest.mark.req("E-11")
def test_two_ingest_processes_take_turns_on_one_upload(
    cluster: Cluster, office: dict[str, str], officer: dict[str, str], minio_server: MinioServer
) -> None:
    """Each chunk goes to the other replica; 3 MiB chunks leave remainders that a part can't
    hold yet, so the rest of a part waits in the database for the other replica to go on with."""
    cluster.start("ingest", replica="ingest-2")
    try:
        device_id = issued_body_camera(cluster, office, officer)
        data = os.urandom(23 * MIB + 7)
        replicas = [cluster.url("ingest"), cluster.url("ingest-2")]
        created = httpx.post(
            f"{replicas[0]}/files/",
            headers={
                **officer,
                **TUS_HEADERS,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": tus_metadata(device_id, "交替上传.mp4"),
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        for turn, offset in enumerate(range(0, len(data), 3 * MIB)):
            replica = replicas[turn % 2]
            patched = httpx.patch(
                replica + location,
                content=data[offset : offset + 3 * MIB],
                headers={**officer, **OCTETS, "Upload-Offset": str(offset)},
                timeout=60,
            )
            assert patched.status_code == 204, (replica, patched.text)
            head = httpx.head(
                replicas[(turn + 1) % 2] + location, headers={**officer, **TUS_HEADERS}
            )
            assert int(head.headers["upload-offset"]) == min(offset + 3 * MIB, len(data))

        upload_id = location.rsplit("/", 1)[1]
        receipt = httpx.get(
            f"{replicas[1]}/api/v1/uploads/{upload_id}/receipt", headers=officer, timeout=30
        ).json()
        assert receipt["safe_to_wipe"] is True
        assert receipt["sha256"] == hashlib.sha256(data).hexdigest()
        assert stored_original(cluster, minio_server, receipt["record_id"]) == data
    finally:
        cluster.stop("ingest-2")


def test_partial_uploads_on_two_replicas_become_one_original_in_minio(
    cluster: Cluster, office: dict[str, str], officer: dict[str, str], minio_server: MinioServer
) -> None:
    """tus concatenation on MinIO: each partial upload goes to its own replica, in parallel;
    the final one is created on one replica and its receipt read from the other."""
    cluster.start("ingest", replica="ingest-2")
    try:
        device_id = issued_body_camera(cluster, office, officer)
        data = os.urandom(13 * MIB + 5)
        pieces = [data[: 6 * MIB + 1], data[6 * MIB + 1 :]]
        replicas = [cluster.url("ingest"), cluster.url("ingest-2")]
        meta = tus_metadata(device_id, "并行上传.mp4")
        locations: list[str] = []
        for piece in pieces:
            created = httpx.post(
                f"{replicas[0]}/files/",
                headers={
                    **officer,
                    **TUS_HEADERS,
                    "Upload-Length": str(len(piece)),
                    "Upload-Concat": "partial",
                    "Upload-Metadata": meta,
                },
                timeout=30,
            )
            assert created.status_code == 201, created.text
            locations.append(created.headers["location"])

        def send(replica: str, location: str, piece: bytes) -> int:
            return httpx.patch(
                replica + location,
                content=piece,
                headers={**officer, **OCTETS, "Upload-Offset": "0"},
                timeout=60,
            ).status_code

        with ThreadPoolExecutor(2) as pool:
            sent = list(pool.map(send, replicas, locations, pieces))
        assert sent == [204, 204]
        final = httpx.post(
            f"{replicas[0]}/files/",
            headers={
                **officer,
                **TUS_HEADERS,
                "Upload-Concat": "final;" + " ".join(locations),
                "Upload-Metadata": meta,
            },
            timeout=30,
        )
        assert final.status_code == 201, final.text

        upload_id = final.headers["location"].rsplit("/", 1)[1]
        receipt = httpx.get(
            f"{replicas[1]}/api/v1/uploads/{upload_id}/receipt", headers=officer, timeout=60
        ).json()
        assert receipt["safe_to_wipe"] is True, receipt
        assert receipt["sha256"] == hashlib.sha256(data).hexdigest()
        assert stored_original(cluster, minio_server, receipt["record_id"]) == data
    finally:
        cluster.stop("ingest-2")


def _ancestors(span: Span, by_id: dict[str, Span]) -> list[Span]:
    found = []
    while span.parent_id is not None:
        span = by_id[span.parent_id]
        found.append(span)
    return found


def test_one_upload_is_one_trace_across_the_gateway_ingest_kafka_and_the_catalog(
    cluster: Cluster, office: dict[str, str], officer: dict[str, str], jaeger: JaegerServer
) -> None:
    """An operator finds an upload in Jaeger whole: the gateway's request, ingest serving it
    (over HTTP) and the catalog consuming its recording.ingested event (over Kafka), each the
    child of the span that called it."""
    device_id = issued_body_camera(cluster, office, officer)
    gateway = cluster.url("access-gateway")
    data = os.urandom(256 * 1024)
    created = httpx.post(
        f"{gateway}/files/",
        content=data,
        headers={
            **officer,
            **OCTETS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": tus_metadata(device_id, "追踪.mp4"),
        },
        timeout=60,
    )
    assert created.status_code == 201, created.text
    upload_id = created.headers["location"].rsplit("/", 1)[1]
    receipt = httpx.get(
        f"{gateway}/api/v1/uploads/{upload_id}/receipt", headers=officer, timeout=30
    ).json()
    record_id = receipt["record_id"]
    assert record_id, receipt
    eventually(
        lambda: bool(
            cluster.query(
                "catalog", "SELECT 1 FROM records WHERE record_id = :r", r=uuid.UUID(record_id)
            )
        ),
        "the catalog has the recording",
    )
    [(event_id,)] = cluster.query(
        "ingest",
        "SELECT event_id FROM outbox WHERE event_type = 'recording.ingested' AND key = :k",
        k=record_id,
    )

    # The catalog's span for that very event leads to the trace.
    consumed = {"messaging.message.id": str(event_id)}
    spans: list[Span] = []

    def whole() -> bool:
        nonlocal spans
        found = jaeger.traces("catalog", tags=consumed)
        if len(found) != 1:
            return False
        trace = jaeger.trace(found[0]["traceID"])
        spans = spans_of(trace) if trace is not None else []
        ids = {span.span_id for span in spans}
        services = {span.service for span in spans}
        dangling = [s for s in spans if s.parent_id is not None and s.parent_id not in ids]
        return {"access-gateway", "ingest", "catalog"} <= services and not dangling

    eventually(whole, "the upload's trace is whole in Jaeger", timeout=30)
    by_id = {span.span_id: span for span in spans}
    [root] = [span for span in spans if span.parent_id is None]
    # The instrumentation's default (pre-stable) HTTP conventions name the method http.method.
    method = root.tags.get("http.request.method", root.tags.get("http.method"))
    assert (root.service, root.tags["span.kind"], method) == (
        "access-gateway",
        "server",
        "POST",
    )
    # Over HTTP: ingest's server span is the child of the gateway's client span, under the root.
    [served] = [s for s in spans if s.service == "ingest" and s.tags["span.kind"] == "server"]
    called, *above = _ancestors(served, by_id)
    assert (called.service, called.tags["span.kind"]) == ("access-gateway", "client")
    assert above[-1] == root
    # Over Kafka: the consumer's span descends from ingest's request, which recorded the event.
    # (Other services consume the same event, each with a span of its own.)
    [consumer] = [
        s
        for s in spans
        if s.service == "catalog" and s.tags.get("messaging.message.id") == str(event_id)
    ]
    assert (consumer.service, consumer.operation, consumer.tags["span.kind"]) == (
        "catalog",
        "consume recording.ingested",
        "consumer",
    )
    producer, *_ = _ancestors(consumer, by_id)
    assert producer.service == "ingest"
    assert served in _ancestors(consumer, by_id)


class Killer(threading.Thread):
    """Kills the ingest process with SIGKILL at random moments and starts it again."""

    def __init__(self, cluster: Cluster, kills: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.cluster, self.wanted, self.random = cluster, kills, random.Random(seed)
        self.kills = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while self.kills < self.wanted:
                time.sleep(self.random.uniform(0.2, 1.5))
                self.cluster.stop("ingest", kill=True)
                self.kills += 1
                self.cluster.start("ingest")
        except BaseException as exc:  # reported by the test
            self.failure = exc


def resilient(call: Callable[[], httpx.Response], *, ok: tuple[int, ...]) -> httpx.Response:
    """Retry ``call`` through the outages (the gateway answers 502 while ingest is down)."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            response = call()
            if response.status_code in ok:
                return response
            if response.status_code not in (502, 503, 423):
                raise AssertionError(f"{response.status_code}: {response.text}")
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "ingest did not come back"
        time.sleep(0.2)


def upload_through_crashes(
    gateway: str, officer: dict[str, str], device_id: str, data: bytes, rng: random.Random
) -> str:
    """Upload ``data`` in random chunks, resuming from the server's offset after every failure;
    returns the upload id."""
    created = resilient(
        lambda: httpx.post(
            f"{gateway}/files/",
            headers={
                **officer,
                **TUS_HEADERS,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": tus_metadata(device_id, f"{uuid.uuid4().hex}.mp4"),
            },
            timeout=30,
        ),
        ok=(201,),
    )
    url = gateway + created.headers["location"]
    offset = 0
    while offset < len(data):
        chunk = data[offset : offset + rng.randint(256 * 1024, 6 * MIB)]
        try:
            response = httpx.patch(
                url,
                content=chunk,
                headers={**officer, **OCTETS, "Upload-Offset": str(offset)},
                timeout=60,
            )
            if response.status_code not in (204, 409, 423, 502, 503):
                raise AssertionError(f"{response.status_code}: {response.text}")
        except httpx.TransportError:
            pass
        head = resilient(
            lambda: httpx.head(url, headers={**officer, **TUS_HEADERS}, timeout=30), ok=(200,)
        )
        offset = int(head.headers["upload-offset"])
    return url.rsplit("/", 1)[1]


@pytest.mark.req("A-13")
@pytest.mark.req("D-18")
def test_ingest_killed_at_random_moments_loses_nothing_and_records_each_file_once(
    cluster: Cluster, office: dict[str, str], officer: dict[str, str], minio_server: MinioServer
) -> None:
    device_id = issued_body_camera(cluster, office, officer)
    gateway = cluster.url("access-gateway")
    rng = random.Random(20261128)
    killer = Killer(cluster, kills=20, seed=7)
    files: list[tuple[str, bytes]] = []
    killer.start()
    try:
        while killer.is_alive() or not files:
            data = os.urandom(rng.randint(1 * MIB, 24 * MIB))
            files.append((upload_through_crashes(gateway, officer, device_id, data, rng), data))
    finally:
        killer.join(timeout=WAIT * 3)
    assert killer.failure is None, killer.failure
    assert killer.kills >= 20

    for upload_id, data in files:
        receipt_url = f"{gateway}/api/v1/uploads/{upload_id}/receipt"
        receipt = httpx.get(receipt_url, headers=officer, timeout=30).json()
        digest = hashlib.sha256(data).hexdigest()
        assert (receipt["safe_to_wipe"], receipt["sha256"], receipt["size"]) == (
            True,
            digest,
            len(data),
        )
        assert stored_original(cluster, minio_server, receipt["record_id"]) == data
        originals = cluster.query(
            "ingest", "SELECT count(*) FROM originals WHERE sha256 = :s", s=digest
        )
        events = cluster.query(
            "ingest",
            "SELECT count(*) FROM outbox WHERE event_type = 'recording.ingested' AND key = :k",
            k=receipt["record_id"],
        )
        assert (originals[0][0], events[0][0]) == (1, 1)
