"""The embedded platform: five services in one process behind the gateway."""

from __future__ import annotations

import asyncio
from uuid import UUID

from quancheng.common.auth import Role
from quancheng.common.db import Database
from quancheng.common.testing.kit import Embedded, TokenFactory, seed_staff
from quancheng.ingest.repository import KnownDeviceRepository


async def test_gateway_health_answers_for_every_service(embedded: Embedded) -> None:
    response = await embedded.client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["services"] == {
        "access-gateway": "ok",
        "device-registry": "ok",
        "ingest": "ok",
        "catalog": "ok",
        "retention": "ok",
    }


async def test_an_event_from_the_registry_reaches_ingest(
    embedded: Embedded, token: TokenFactory
) -> None:
    office = embedded.auth(token("office-1", Role.OFFICE))
    await seed_staff(embedded.client, office)
    response = await embedded.client.post(
        "/api/v1/devices",
        json={
            "kind": "body_camera",
            "serial_number": "BC-0001",
            "model": "DSJ-V9",
            "section": "JC1",
        },
        headers=office,
    )
    assert response.status_code == 201, response.text
    device_id = UUID(response.json()["id"])

    db = Database(embedded.settings.database_url("ingest"))
    db.connect()
    try:
        for _ in range(50):
            async with db.session() as session:
                known = await KnownDeviceRepository(session).get(device_id)
            if known is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        await db.dispose()
    assert known is not None
    assert (known.serial_number, known.kind, known.section) == ("BC-0001", "body_camera", "JC1")
