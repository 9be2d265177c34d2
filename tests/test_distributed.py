"""Distributed mode end to end: the five services as separate ``quancheng serve`` processes on
PostgreSQL, Apache Kafka and MinIO, each server genuine and private to this run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import urllib3
from minio import Minio
from minio.error import S3Error
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from conftest import seed_staff_sync
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
from quancheng.common.testing.kafka import KafkaServer
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

    def start(self, service: str) -> None:
        command = [CLI, "serve", service, "--port", str(self.ports[service])]
        with (self.logs / f"{service}.log").open("ab") as log:
            process = subprocess.Popen(
                [*command, "--data-dir", str(self.data_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )
        self.processes[service] = process
        try:
            wait_healthy(f"{self.url(service)}/readyz", process, timeout=WAIT)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log(service)}") from exc

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
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresServer,
    kafka_server: KafkaServer,
    minio_server: MinioServer,
) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("distributed"), postgres, kafka_server, minio_server)
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
