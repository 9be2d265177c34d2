"""Outages of a dependency, on the genuine servers: with MinIO or PostgreSQL stopped in the middle
of uploads and requests, every service answers 503 with Retry-After (never a 500), nothing is
lost, and everything works again by itself once the server is back.

The servers are this module's own, so that stopping them disturbs no other test."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from quancheng.common.auth import Role
from quancheng.common.settings import (
    SERVICES,
    BusSettings,
    DatabaseSettings,
    MinioSettings,
    ObjectStoreKind,
    ObjectStoreSettings,
    Settings,
    TelemetrySettings,
)
from quancheng.common.testing.kit import Embedded, TokenFactory, issued_device, seed_staff
from quancheng.common.testing.minio import MinioServer
from quancheng.common.testing.postgres import PostgresServer

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_minio() -> Iterator[MinioServer]:
    server = MinioServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, own_postgres: PostgresServer, own_minio: MinioServer) -> Settings:
    """The platform in one process on the module's PostgreSQL and MinIO."""
    urls = {
        name.replace("-", "_"): own_postgres.create_database(f"o_{uuid.uuid4().hex}")
        for name in SERVICES
    }
    return Settings(
        data_dir=tmp_path / "var",
        database=DatabaseSettings.model_validate(urls),
        object_store=ObjectStoreSettings(
            kind=ObjectStoreKind.MINIO,
            minio=MinioSettings(
                endpoint=own_minio.endpoint,
                access_key=own_minio.access_key,
                secret_key=SecretStr(own_minio.secret_key),
                bucket=f"outage-{uuid.uuid4().hex}",
            ),
        ),
        bus=BusSettings(relay_interval_seconds=0.2),
        telemetry=TelemetrySettings(json_logs=False, log_level="WARNING"),
    )


def assert_outage(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["error"] == code
    assert "请稍后重试" in body["message_zh"]


async def patch(
    embedded: Embedded, headers: dict[str, str], upload: str, offset: int, data: bytes
) -> httpx.Response:
    return await embedded.client.patch(
        upload,
        headers={
            **headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
        content=data,
    )


async def test_with_minio_stopped_an_upload_waits_with_503_and_resumes_when_it_is_back(
    embedded: Embedded, token: TokenFactory, own_minio: MinioServer
) -> None:
    office = embedded.auth(token("office-1", Role.OFFICE))
    officer = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    await seed_staff(embedded.client, office)
    device_id = await issued_device(embedded.client, office, officer, serial="BC-1")
    data = bytes(range(256)) * (12 * MIB // 256)
    meta = {
        "filename": "outage.mp4",
        "device_id": device_id,
        "officer_id": "officer-7",
        "kind": "video",
        "captured_at": "2026-11-28T09:30:00+08:00",
    }
    created = await embedded.client.post(
        "/files/",
        headers={
            **officer,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Upload-Metadata": ",".join(
                f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()
            ),
        },
    )
    assert created.status_code == 201, created.text
    upload = created.headers["location"]
    half = len(data) // 2
    first = await patch(embedded, officer, upload, 0, data[:half])
    assert first.status_code == 204, first.text

    own_minio.pause()
    try:
        refused = await patch(embedded, officer, upload, half, data[half:])
        assert_outage(refused, "storage_unavailable")
        assert refused.headers["tus-resumable"] == "1.0.0"
        # Nothing of the refused request counts; what was acknowledged stands.
        head = await embedded.client.head(upload, headers={**officer, "Tus-Resumable": "1.0.0"})
        assert head.headers["upload-offset"] == str(half)
    finally:
        own_minio.start()

    resumed = await patch(embedded, officer, upload, half, data[half:])
    assert resumed.status_code == 204, resumed.text
    upload_id = upload.rsplit("/", 1)[1]
    for _ in range(300):
        receipt = await embedded.client.get(f"/api/v1/uploads/{upload_id}/receipt", headers=officer)
        if receipt.status_code == 200 and receipt.json()["record_id"]:
            break
        await asyncio.sleep(0.1)
    assert receipt.json()["sha256"] == hashlib.sha256(data).hexdigest()


async def test_with_postgresql_stopped_requests_answer_503_and_recover_by_themselves(
    embedded: Embedded, token: TokenFactory, own_postgres: PostgresServer
) -> None:
    office = embedded.auth(token("office-1", Role.OFFICE))
    await seed_staff(embedded.client, office)
    before = await embedded.client.get("/api/v1/officers", headers=office)
    assert before.status_code == 200, before.text

    own_postgres.pause()
    try:
        for path in ("/api/v1/officers", "/api/v1/records", "/api/v1/devices"):
            assert_outage(await embedded.client.get(path, headers=office), "database_unavailable")
        device = {"kind": "camera", "serial_number": "CAM-1", "model": "M", "section": "JC1"}
        posted = await embedded.client.post("/api/v1/devices", json=device, headers=office)
        assert_outage(posted, "database_unavailable")
    finally:
        own_postgres.resume()

    # A client that waits as told gets its answer; what was there before is all still there.
    for _ in range(30):
        after = await embedded.client.get("/api/v1/officers", headers=office)
        if after.status_code == 200:
            break
        assert_outage(after, "database_unavailable")
        await asyncio.sleep(1)
    assert after.json() == before.json()
    posted = await embedded.client.post("/api/v1/devices", json=device, headers=office)
    assert posted.status_code == 201, posted.text
