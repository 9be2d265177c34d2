"""A section's head and custodian act for it only if the registry names them so: a token's
``section_head`` or ``custodian`` role alone is not enough (A-6a, D-7). And every change of
the staff is told on the ``staff`` stream in the transaction that makes it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlmodel import col, select

from quancheng.common.auth import Role
from quancheng.common.db.database import sync_url
from quancheng.common.db.migrate import upgrade
from quancheng.common.events import OutboxMessage, SectionChanged
from quancheng.common.settings import Settings
from quancheng.common.testing.kit import PRE_USE_CHECK, TokenFactory, appoint, bearer, database_of
from quancheng.device_registry.config import MIGRATIONS

Headers = dict[str, str]


@pytest.fixture
async def client(client: httpx.AsyncClient, office: Headers) -> httpx.AsyncClient:
    """The test bureau's client; officer-8 keeps JC1's devices and officer-9 heads JC2."""
    await appoint(client, office, "JC1", custodian="officer-8")
    await appoint(client, office, "JC2", head="officer-9")
    return client


async def device_issued_to_officer_7(client: httpx.AsyncClient, office: Headers) -> str:
    body = {"kind": "body_camera", "serial_number": "BC-7", "model": "DSJ", "section": "JC1"}
    created = await client.post("/api/v1/devices", json=body, headers=office)
    assert created.status_code == 201, created.text
    device_id: str = created.json()["id"]
    for path, payload in (
        ("transitions", {"to": "in_stock"}),
        ("issue", {"officer_id": "officer-7", "check": PRE_USE_CHECK}),
    ):
        moved = await client.post(
            f"/api/v1/devices/{device_id}/{path}", json=payload, headers=office
        )
        assert moved.status_code == 200, moved.text
    return device_id


def refused_as_not_named(response: httpx.Response, subject: str, section: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "section_role_not_named"
    assert (body["section"], body["subject"]) == (section, subject)
    assert subject in body["message"]
    assert section in body["message"]
    assert subject in body["message_zh"]
    assert f"科室 {section}" in body["message_zh"]


async def holder(client: httpx.AsyncClient, office: Headers, device_id: str) -> Any:
    shown = await client.get(f"/api/v1/devices/{device_id}", headers=office)
    return shown.json()["status"], shown.json()["officer_id"]


@pytest.mark.req("A-6a")
@pytest.mark.req("D-7")
async def test_a_custodian_token_the_registry_does_not_back_cannot_take_back_a_device(
    client: httpx.AsyncClient, office: Headers, token: TokenFactory
) -> None:
    device_id = await device_issued_to_officer_7(client, office)
    # officer-7 holds the device; a colleague mints themself a custodian token for JC1
    pretender = bearer(token("officer-7-colleague", Role.CUSTODIAN, section="JC1"))
    # JC2's head, claiming JC1
    other_post = bearer(token("officer-9", Role.SECTION_HEAD, section="JC1"))
    custodian = bearer(token("officer-8", Role.CUSTODIAN, section="JC1"))
    path = f"/api/v1/devices/{device_id}/return"

    taken = await client.post(path, json={}, headers=pretender)
    refused_as_not_named(taken, "officer-7-colleague", "JC1")
    assert "设备专管员" in taken.json()["message_zh"]
    refused_as_not_named(await client.post(path, json={}, headers=other_post), "officer-9", "JC1")
    assert await holder(client, office, device_id) == ("issued", "officer-7")
    history = await client.get(f"/api/v1/devices/{device_id}/history", headers=office)
    assert [entry["to_status"] for entry in history.json()["items"]] == [
        "registered",
        "in_stock",
        "issued",
    ]

    returned = await client.post(path, json={}, headers=custodian)
    assert returned.status_code == 200, returned.text
    assert await holder(client, office, device_id) == ("returned", None)


@pytest.mark.req("A-6a")
@pytest.mark.req("D-7")
async def test_a_custodian_who_handed_the_post_over_no_longer_acts_for_the_section(
    client: httpx.AsyncClient, office: Headers, token: TokenFactory
) -> None:
    device_id = await device_issued_to_officer_7(client, office)
    former = bearer(token("officer-8", Role.CUSTODIAN, section="JC1"))
    await appoint(client, office, "JC1", custodian="keeper-new")
    successor = bearer(token("keeper-new", Role.CUSTODIAN, section="JC1"))

    listed = await client.get("/api/v1/devices", headers=former)
    refused_as_not_named(listed, "officer-8", "JC1")
    refused_as_not_named(
        await client.post(f"/api/v1/devices/{device_id}/credentials", headers=former),
        "officer-8",
        "JC1",
    )

    seen = await client.get("/api/v1/devices", headers=successor)
    assert [d["id"] for d in seen.json()["items"]] == [device_id]
    taken = await client.post(f"/api/v1/devices/{device_id}/return", json={}, headers=successor)
    assert taken.status_code == 200, taken.text


@pytest.mark.req("A-6a")
async def test_a_section_head_token_for_an_unknown_account_does_not_list_the_officers(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    stranger = bearer(token("nobody", Role.SECTION_HEAD, section="JC2"))
    head = bearer(token("officer-9", Role.SECTION_HEAD, section="JC2"))

    listed = await client.get("/api/v1/officers", headers=stranger)
    one = await client.get("/api/v1/officers/officer-9", headers=stranger)
    report = await client.get("/api/v1/allocation", headers=stranger)

    refused_as_not_named(listed, "nobody", "JC2")
    assert "负责人" in listed.json()["message_zh"]
    refused_as_not_named(one, "nobody", "JC2")
    refused_as_not_named(report, "nobody", "JC2")
    theirs = await client.get("/api/v1/officers", headers=head)
    assert [o["id"] for o in theirs.json()["items"]] == ["officer-9"]


@pytest.mark.req("A-6a")
async def test_office_staff_and_supervisors_are_not_section_bound(
    client: httpx.AsyncClient, office: Headers, token: TokenFactory
) -> None:
    device_id = await device_issued_to_officer_7(client, office)
    supervisor = bearer(token("inspector", Role.SUPERVISOR))
    clerk = bearer(token("office-2", Role.OFFICE, section="JC2"))

    seen = await client.get("/api/v1/officers", headers=supervisor)
    returned = await client.post(f"/api/v1/devices/{device_id}/return", json={}, headers=clerk)

    assert seen.json()["total"] == 3
    assert returned.status_code == 200, returned.text


async def staff_events(settings: Settings) -> list[tuple[str, str, dict[str, Any]]]:
    async with database_of(settings, "device-registry") as db, db.session() as session:
        rows = (
            await session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.topic == SectionChanged.topic())
                .order_by(col(OutboxMessage.seq))
            )
        ).all()
    return [(m.event_type, m.key, json.loads(m.payload)) for m in rows]


async def test_every_change_of_the_staff_is_told_on_the_staff_stream(
    client: httpx.AsyncClient, office: Headers, settings: Settings
) -> None:
    before = await staff_events(settings)
    body = {"id": "officer-10", "name": "赵敏", "section": "JC2"}
    assert (await client.post("/api/v1/officers", json=body, headers=office)).status_code == 201
    off = {"active": False}
    patched = await client.patch("/api/v1/officers/officer-10", json=off, headers=office)
    assert patched.status_code == 200, patched.text
    head = {"head_officer_id": "officer-7"}
    assert (
        await client.patch("/api/v1/sections/JC1", json=head, headers=office)
    ).status_code == 200
    # An import tells what it made; a dry run, or an import refused for one bad row, nothing.
    good = "账号,姓名,科室代码\nofficer-11,钱进,JC1\n".encode()
    bad = good + "officer-12,孙悦,XX9\n".encode()
    headers = {**office, "Content-Type": "text/csv"}
    url = "/api/v1/imports?kind=officers"
    dry = await client.post(f"{url}&dry_run=true", content=good, headers=headers)
    refused = await client.post(url, content=bad, headers=headers)
    imported = await client.post(url, content=good, headers=headers)
    assert (dry.status_code, refused.status_code, imported.status_code) == (200, 422, 200)

    told = (await staff_events(settings))[len(before) :]
    assert [(kind, key) for kind, key, _ in told] == [
        ("officer.registered", "officer-10"),
        ("officer.changed", "officer-10"),
        ("section.changed", "JC1"),
        ("officer.registered", "officer-11"),  # the import that was kept
    ]
    assert told[1][2]["active"] is False
    assert told[1][2]["section"] == "JC2"
    assert told[2][2]["head_officer_id"] == "officer-7"
    assert told[2][2]["custodian_officer_id"] == "officer-8"


async def test_the_staff_kept_before_the_staff_stream_is_told_once_on_upgrade(
    settings: Settings,
) -> None:
    url = settings.database_url("device-registry")
    await asyncio.to_thread(upgrade, url, MIGRATIONS, revision="r0003")
    engine = create_engine(sync_url(url))
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sections (code, name, supervisory, head_officer_id, updated_by,"
                " updated_at) VALUES ('JC1', '监管一科', true, 'officer-7', 'office-1', :at)"
            ),
            {"at": now},
        )
        connection.execute(
            text(
                "INSERT INTO officers (id, name, section, frontline, active, updated_by,"
                " updated_at) VALUES ('officer-7', '李明', 'JC1', true, true, 'office-1', :at)"
            ),
            {"at": now},
        )
    engine.dispose()

    await asyncio.to_thread(upgrade, url, MIGRATIONS)
    await asyncio.to_thread(upgrade, url, MIGRATIONS)  # again: nothing more is told

    told = await staff_events(settings)
    assert [(kind, key) for kind, key, _ in told] == [
        ("section.changed", "JC1"),
        ("officer.registered", "officer-7"),
    ]
    assert told[0][2]["head_officer_id"] == "officer-7"
    assert (told[1][2]["name"], told[1][2]["section"], told[1][2]["active"]) == (
        "李明",
        "JC1",
        True,
    )
