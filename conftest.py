"""Fixtures shared by every test suite: settings on a temporary data dir, the embedded platform
running in-process, and tokens from its built-in issuer."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from quancheng.common.auth import BuiltinIssuer, Clearance, Role
from quancheng.common.embedded import create_embedded_app
from quancheng.common.events import Event, OfficerRegistered, SectionChanged, encode
from quancheng.common.service import ServiceState
from quancheng.common.settings import (
    SERVICES,
    BusSettings,
    DatabaseSettings,
    Settings,
    TelemetrySettings,
)
from quancheng.common.testing.kafka import KafkaServer
from quancheng.common.testing.minio import MinioServer
from quancheng.common.testing.postgres import PostgresServer

TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One private PostgreSQL cluster for the whole run; each test takes its own database."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka_server() -> Iterator[KafkaServer]:
    """One private Kafka broker for the whole run; tests use their own topics and groups."""
    server = KafkaServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def minio_server() -> Iterator[MinioServer]:
    """One private MinIO server for the whole run; each test takes its own bucket."""
    server = MinioServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind the services run on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"t_{uuid.uuid4().hex}")


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on a temporary data dir; the services' databases are SQLite files or, in the
    second run of each test, PostgreSQL databases of their own."""
    databases = DatabaseSettings()
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        urls = {
            name.replace("-", "_"): server.create_database(f"s_{uuid.uuid4().hex}")
            for name in SERVICES
        }
        databases = DatabaseSettings.model_validate(urls)
    return Settings(
        data_dir=tmp_path / "var",
        database=databases,
        bus=BusSettings(relay_interval_seconds=0.2),
        telemetry=TelemetrySettings(json_logs=False, log_level="WARNING"),
    )


@pytest.fixture
def issuer(settings: Settings) -> BuiltinIssuer:
    """The data dir's built-in issuer (the platform loads the same key when it starts)."""
    return BuiltinIssuer.from_directory(
        settings.identity_dir, issuer=settings.identity.issuer, audience=settings.identity.audience
    )


@pytest.fixture
def token(issuer: BuiltinIssuer) -> TokenFactory:
    def mint(
        sub: str = "tester",
        *roles: Role,
        section: str | None = None,
        clearance: Clearance = Clearance.INTERNAL,
    ) -> str:
        return issuer.mint(sub, roles, section=section, clearance=clearance)

    return mint


@dataclass
class Embedded:
    app: Starlette
    client: httpx.AsyncClient
    settings: Settings

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def embedded(settings: Settings, issuer: BuiltinIssuer) -> AsyncIterator[Embedded]:
    """All five services in this process, reached through the gateway like a client would."""
    app = create_embedded_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Embedded(app, client, settings)


# A small bureau for tests that register and issue devices: the registry refuses devices of
# unknown sections and issues only to its own officers. Seeded through the CSV import.
STAFF_CSV = {
    "sections": "科室代码,科室名称,监管科室\nJC1,监管一科,是\nJC2,监管二科,是\nJD2,执法二大队,否\n",
    "officers": (
        "账号,姓名,执法证号,科室代码,一线执法\n"
        "officer-7,李明,44010001,JC1,是\n"
        "officer-8,王芳,44010002,JC1,是\n"
        "officer-9,张伟,44010003,JC2,是\n"
    ),
}


def _staff_requests() -> list[tuple[str, bytes]]:
    return [(f"/api/v1/imports?kind={kind}", csv.encode()) for kind, csv in STAFF_CSV.items()]


async def seed_staff(client: httpx.AsyncClient, office: dict[str, str]) -> None:
    """Sections JC1, JC2, JD2 and officers officer-7, officer-8 (JC1), officer-9 (JC2); through
    the gateway, it returns once the registry's staff events have been delivered (so that the
    catalog knows the officers an activity names)."""
    for path, body in _staff_requests():
        headers = {**office, "Content-Type": "text/csv"}
        response = await client.post(path, content=body, headers=headers)
        assert response.status_code == 200, response.text
    await staff_told(client)


async def appoint(
    client: httpx.AsyncClient,
    office: dict[str, str],
    section: str,
    *,
    head: str | None = None,
    custodian: str | None = None,
) -> None:
    """Make ``head`` and ``custodian`` (registered as officers of ``section`` if they are not
    yet) the section's head and device custodian in the registry: a ``section_head`` or
    ``custodian`` token acts for a section only for the person the registry names."""
    posts = {"head_officer_id": head, "custodian_officer_id": custodian}
    for account in {a for a in posts.values() if a is not None}:
        if (await client.get(f"/api/v1/officers/{account}", headers=office)).status_code == 404:
            body = {"id": account, "name": account, "section": section}
            made = await client.post("/api/v1/officers", json=body, headers=office)
            assert made.status_code == 201, made.text
    named = {post: account for post, account in posts.items() if account is not None}
    changed = await client.patch(f"/api/v1/sections/{section}", json=named, headers=office)
    assert changed.status_code == 200, changed.text
    await staff_told(client)


async def staff_told(client: httpx.AsyncClient) -> None:
    """Wait until the registry's outbox is empty: in embedded mode its events have then been
    handled by every consumer (the in-process bus delivers before the row counts as relayed).
    ``client`` may reach the gateway or the registry itself."""
    for _ in range(200):
        body = (await client.get("/readyz")).json()
        registry = body.get("services", {}).get("device-registry", body)
        if registry.get("events", {}).get("outbox_pending") == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the registry's events were not delivered: {body}")


# The test bureau as the registry tells it (:data:`STAFF_CSV`, with head-1 heading JC1 and head-2
# heading JC2), for a catalog tested without the registry.
STAFF_EVENTS: list[Event] = [
    *(
        SectionChanged(code=code, name=name, head_officer_id=head, by="office-1")
        for code, name, head in (
            ("JC1", "监管一科", "head-1"),
            ("JC2", "监管二科", "head-2"),
            ("JD2", "执法二大队", None),
        )
    ),
    *(
        OfficerRegistered(officer_id=officer, name=name, section=section, by="office-1")
        for officer, name, section in (
            ("officer-7", "李明", "JC1"),
            ("officer-8", "王芳", "JC1"),
            ("officer-9", "张伟", "JC2"),
            ("head-1", "陈静", "JC1"),
            ("head-2", "刘洋", "JC2"),
        )
    ),
]


async def tell(app: Starlette, *events: Event) -> None:
    """Hand ``events`` to a service's consumers as the bus would (by default
    :data:`STAFF_EVENTS`, the test bureau's staff)."""
    state: ServiceState = app.state.service
    for event in events or STAFF_EVENTS:
        await state.consumers.handle(encode(event, {}))


def seed_staff_sync(base_url: str, office: dict[str, str]) -> None:
    """:func:`seed_staff` for a platform reached over real HTTP."""
    for path, body in _staff_requests():
        headers = {**office, "Content-Type": "text/csv"}
        response = httpx.post(base_url + path, content=body, headers=headers, timeout=30)
        assert response.status_code == 200, response.text


PRE_USE_CHECK = {
    "fault_free": True,
    "battery_percent": 90,
    "free_storage_mb": 32_000,
    "clock_offset_seconds": 0.5,
}


async def issued_device(
    client: httpx.AsyncClient,
    office: dict[str, str],
    officer: dict[str, str],
    *,
    serial: str,
    officer_id: str = "officer-7",
    section: str = "JC1",
) -> str:
    """A body camera of ``section`` issued to ``officer_id``, once ingest knows it is (through
    the gateway; the test bureau must be seeded). Returns the device id."""
    body = {"kind": "body_camera", "serial_number": serial, "model": "DSJ", "section": section}
    created = await client.post("/api/v1/devices", json=body, headers=office)
    assert created.status_code == 201, created.text
    device_id: str = created.json()["id"]
    for path, payload in (
        ("transitions", {"to": "in_stock"}),
        ("issue", {"officer_id": officer_id, "check": PRE_USE_CHECK}),
    ):
        moved = await client.post(
            f"/api/v1/devices/{device_id}/{path}", json=payload, headers=office
        )
        assert moved.status_code == 200, moved.text
    params = {"device_id": device_id, "officer_id": officer_id}
    for _ in range(200):
        allowed = await client.get("/api/v1/upload-permission", params=params, headers=officer)
        if allowed.status_code == 200:
            return device_id
        await asyncio.sleep(0.05)
    raise AssertionError(f"ingest never learnt that {serial} is issued to {officer_id}")


async def upload_recording(
    client: httpx.AsyncClient, headers: dict[str, str], meta: dict[str, str], data: bytes
) -> str:
    """One tus creation-with-upload through the gateway; the record id its receipt names once
    the original is stored."""
    created = await client.post(
        "/files/",
        headers={
            **headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Metadata": ",".join(
                f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()
            ),
        },
        content=data,
    )
    assert created.status_code == 201, created.text
    upload_id = created.headers["location"].rsplit("/", 1)[1]
    for _ in range(100):
        receipt = await client.get(f"/api/v1/uploads/{upload_id}/receipt", headers=headers)
        assert receipt.status_code == 200, receipt.text
        if receipt.json()["record_id"]:
            return str(receipt.json()["record_id"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"upload {meta.get('filename')} never completed")
