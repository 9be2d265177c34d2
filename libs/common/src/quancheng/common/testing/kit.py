"""The test kit every suite shares: a client for any service's app, tokens as request headers,
and the seeding of the test bureau (its staff, devices issued to its officers, an uploaded
recording, records to ask access for). Test modules import it; fixtures stay in the conftest
files.

It imports no service: an app, or the factory that makes one, is passed in.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlmodel import col, select
from starlette.applications import Starlette

from quancheng.common.audit import AuditEntry
from quancheng.common.auth import Clearance, Role
from quancheng.common.db import Database, session_scope
from quancheng.common.events import (
    Event,
    OfficerRegistered,
    OutboxMessage,
    SectionChanged,
    encode,
)
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


# The access workflow's test bureau: recordings of two sections, to be asked for.
ACCESS_REQUESTS = "/api/v1/access-requests"
ACCESS_DOCUMENTS = "/api/v1/access-documents"
SCANNED_PDF = b"%PDF-1.7\n% a scanned business licence\n"


@dataclass(frozen=True)
class AccessBureau:
    """JC1 (head-1; officers 7 and 8) and JC2 (head-2; officer 9). JC1 keeps an open
    recording, one with faces flagged, and a secret one; JC2 an open one."""

    office: Headers
    archivist: Headers
    head1: Headers
    head2: Headers
    officer8: Headers  # JC1
    officer9: Headers  # JC2
    open1: str
    flagged1: str
    secret1: str
    open2: str


async def _access_recording(
    embedded: Embedded, officer: Headers, officer_id: str, device_id: str, name: str
) -> str:
    meta = {
        "filename": name,
        "device_id": device_id,
        "officer_id": officer_id,
        "kind": "video",
        "captured_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
    }
    return await upload_recording(embedded.client, officer, meta, name.encode() * 1000)


async def access_bureau(embedded: Embedded, token: TokenFactory) -> AccessBureau:
    """Seed :class:`AccessBureau` through the gateway."""
    office = embedded.auth(token("office-1", Role.OFFICE, clearance=Clearance.TOP_SECRET))
    client = embedded.client
    await seed_staff(client, office)
    await appoint(client, office, "JC1", head="head-1")
    await appoint(client, office, "JC2", head="head-2")
    officer7 = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    officer9 = embedded.auth(token("officer-9", Role.OFFICER, section="JC2"))
    device1 = await issued_device(client, office, officer7, serial="BC-1")
    device2 = await issued_device(
        client, office, officer9, serial="BC-2", officer_id="officer-9", section="JC2"
    )
    open1 = await _access_recording(embedded, officer7, "officer-7", device1, "检查.mp4")
    flagged1 = await _access_recording(embedded, officer7, "officer-7", device1, "询问.mp4")
    secret1 = await _access_recording(embedded, officer7, "officer-7", device1, "查封.mp4")
    open2 = await _access_recording(embedded, officer9, "officer-9", device2, "复查.mp4")
    for _ in range(100):  # the records travel through the outbox relay
        listed = await client.get("/api/v1/records", headers=office)
        if listed.json()["total"] == 4:
            break
        await asyncio.sleep(0.1)
    for record_id, body in (
        (flagged1, {"privacy_flags": ["人脸", "未成年人"]}),
        (secret1, {"secrecy": "secret"}),
    ):
        described = await client.put(
            f"/api/v1/records/{record_id}/archival", json=body, headers=office
        )
        assert described.status_code == 200, described.text
    return AccessBureau(
        office=office,
        archivist=embedded.auth(token("archivist-1", Role.ARCHIVIST, clearance=Clearance.SECRET)),
        head1=embedded.auth(token("head-1", Role.SECTION_HEAD, section="JC1")),
        head2=embedded.auth(token("head-2", Role.SECTION_HEAD, section="JC2")),
        officer8=embedded.auth(token("officer-8", Role.OFFICER, section="JC1")),
        officer9=officer9,
        open1=open1,
        flagged1=flagged1,
        secret1=secret1,
        open2=open2,
    )


def ask_for(*record_ids: str, **more: Any) -> dict[str, Any]:
    """An access request's body: to view ``record_ids`` for a week, unless ``more`` says else."""
    return {"record_ids": list(record_ids), "purpose": "核查执法过程", "days": 7, **more}


async def submitted_request(
    embedded: Embedded, headers: Headers, body: dict[str, Any]
) -> dict[str, Any]:
    made = await embedded.client.post(ACCESS_REQUESTS, json=body, headers=headers)
    assert made.status_code == 201, made.text
    request: dict[str, Any] = made.json()
    return request


async def decide_request(
    embedded: Embedded, headers: Headers, request_id: str, decision: str = "approved", **more: Any
) -> Any:
    body = {"decision": decision, "opinion": "同意调阅" if decision == "approved" else "不同意"}
    return await embedded.client.post(
        f"{ACCESS_REQUESTS}/{request_id}/decisions", json={**body, **more}, headers=headers
    )


async def attach_document(
    embedded: Embedded, headers: Headers, request_id: str, kind: str, data: bytes = SCANNED_PDF
) -> Any:
    return await embedded.client.post(
        ACCESS_DOCUMENTS,
        params={"request_id": request_id, "kind": kind, "filename": f"{kind}.pdf"},
        content=data,
        headers={**headers, "Content-Type": "application/pdf"},
    )


async def told_and_audited(embedded: Embedded, request_id: str) -> tuple[list[str], list[str]]:
    """The events the gateway told about a request (oldest first), and the actions its audit
    trail holds for it."""
    state: ServiceState = embedded.app.state.service
    async with session_scope(state.db) as session:
        events = (
            await session.exec(
                select(OutboxMessage.event_type)
                .where(col(OutboxMessage.key) == request_id)
                .order_by(col(OutboxMessage.seq))
            )
        ).all()
        actions = (
            await session.exec(
                select(AuditEntry.action)
                .where(col(AuditEntry.target) == f"access-request:{request_id}")
                .order_by(col(AuditEntry.seq))
            )
        ).all()
    return list(events), list(actions)


async def told_payloads(embedded: Embedded, key: str, event_type: str) -> list[dict[str, Any]]:
    """The payloads of the gateway's events of ``event_type`` about ``key``, oldest first."""
    state: ServiceState = embedded.app.state.service
    async with session_scope(state.db) as session:
        rows = await session.exec(
            select(OutboxMessage.payload)
            .where(col(OutboxMessage.key) == key, col(OutboxMessage.event_type) == event_type)
            .order_by(col(OutboxMessage.seq))
        )
        return [json.loads(payload) for payload in rows.all()]
