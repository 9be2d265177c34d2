"""The test kit every suite shares: a client for any service's app, tokens as request headers,
and the seeding of the test bureau (its staff, devices issued to its officers, an uploaded
recording). Test modules import it; fixtures stay in the conftest files.

It imports no service: an app, or the factory that makes one, is passed in.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette

from quancheng.common.auth import Role
from quancheng.common.db import Database
from quancheng.common.events import Event, OfficerRegistered, SectionChanged, encode
from quancheng.common.service import ServiceState
from quancheng.common.settings import Settings

# The root conftest's ``token`` fixture: token(sub, *roles, section=..., clearance=...).
TokenFactory = Callable[..., str]
Headers = dict[str, str]
App = TypeVar("App", bound=Starlette)


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def auth(token: TokenFactory, sub: str, *roles: Role, **claims: Any) -> Headers:
    """The headers of a request made by ``sub`` in ``roles`` (``claims``: section, clearance)."""
    return bearer(token(sub, *roles, **claims))


@asynccontextmanager
async def started(app: App) -> AsyncIterator[App]:
    """``app`` with its lifespan running: connected, migrated, consuming."""
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def client_of(
    app: Starlette, base_url: str = "http://svc"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client that calls ``app`` in this process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client


@asynccontextmanager
async def service_client(
    create_app: Callable[[Settings], Starlette], settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app ``create_app`` makes on ``settings``, running until the block ends."""
    async with started(create_app(settings)) as app, client_of(app) as client:
        yield client


@asynccontextmanager
async def database_of(settings: Settings, service: str) -> AsyncIterator[Database]:
    """A service's database, opened beside the running app to look at what it stored."""
    db = Database(settings.database_url(service))
    db.connect()
    try:
        yield db
    finally:
        await db.dispose()


@dataclass
class Embedded:
    """The whole platform in this process (the root conftest's ``embedded``): ``app`` is the
    gateway, with every service behind it."""

    app: Starlette
    client: httpx.AsyncClient
    settings: Settings

    def auth(self, token: str) -> Headers:
        return bearer(token)


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


async def seed_staff(client: httpx.AsyncClient, office: Headers) -> None:
    """Sections JC1, JC2, JD2 and officers officer-7, officer-8 (JC1), officer-9 (JC2); through
    the gateway, it returns once the registry's staff events have been delivered (so that the
    catalog knows the officers an activity names)."""
    for path, body in _staff_requests():
        headers = {**office, "Content-Type": "text/csv"}
        response = await client.post(path, content=body, headers=headers)
        assert response.status_code == 200, response.text
    await staff_told(client)


def seed_staff_sync(base_url: str, office: Headers) -> None:
    """:func:`seed_staff` for a platform reached over real HTTP."""
    for path, body in _staff_requests():
        headers = {**office, "Content-Type": "text/csv"}
        response = httpx.post(base_url + path, content=body, headers=headers, timeout=30)
        assert response.status_code == 200, response.text


async def appoint(
    client: httpx.AsyncClient,
    office: Headers,
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
# heading JC2), for a service tested without the registry.
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


PRE_USE_CHECK = {
    "fault_free": True,
    "battery_percent": 90,
    "free_storage_mb": 32_000,
    "clock_offset_seconds": 0.5,
}


async def issued_device(
    client: httpx.AsyncClient,
    office: Headers,
    officer: Headers,
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
    client: httpx.AsyncClient, headers: Headers, meta: dict[str, str], data: bytes
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
