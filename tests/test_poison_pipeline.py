"""One bad upload must never stop the platform: times outside the platform's years are refused
where they come in (tus metadata, activities, query filters), and an event the catalog cannot
take — one already in ingest's outbox, from before that check — goes to the dead letters while
later recordings keep arriving; the gateway's /readyz shows it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from quancheng.common.auth import Role
from quancheng.common.db import Database, session_scope
from quancheng.common.events import RecordingIngested, record
from quancheng.common.settings import Settings
from quancheng.common.testing.kit import (
    Embedded,
    TokenFactory,
    issued_device,
    seed_staff,
    upload_recording,
)

YEAR_ONE = "0001-01-01T00:00:00+14:00"  # has no UTC form
LAST_MOMENT = "9999-12-31T23:59:59+00:00"  # overflows once a deadline is added


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.bus.max_delivery_attempts = 2
    return settings


def tus_creation(headers: dict[str, str], meta: dict[str, str], data: bytes) -> dict[str, Any]:
    return {
        "headers": {
            **headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Metadata": ",".join(
                f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()
            ),
        },
        "content": data,
    }


@pytest.mark.parametrize("moment", [YEAR_ONE, LAST_MOMENT, "1969-12-31T23:59:59+00:00"])
async def test_an_upload_with_a_time_outside_the_platforms_years_is_refused(
    embedded: Embedded, token: TokenFactory, moment: str
) -> None:
    office = embedded.auth(token("office-1", Role.OFFICE))
    officer = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    await seed_staff(embedded.client, office)
    device_id = await issued_device(embedded.client, office, officer, serial="BC-1")
    meta = {
        "filename": "a.mp4",
        "device_id": device_id,
        "officer_id": "officer-7",
        "kind": "video",
        "captured_at": "2026-11-28T09:30:00+08:00",
    }
    for key in ("captured_at", "captured_until", "device_clock", "returned_at"):
        response = await embedded.client.post(
            "/files/", **tus_creation(officer, {**meta, key: moment}, b"x")
        )
        assert response.status_code == 400, (key, response.text)
        body = response.json()
        assert (body["error"], body["key"]) == ("invalid_metadata", key)
        assert "1970-01-01" in body["message"]
        assert "须在 1970-01-01 至 2100-01-01" in body["message_zh"]


async def test_activities_and_query_filters_refuse_times_outside_the_platforms_years(
    embedded: Embedded, token: TokenFactory
) -> None:
    office = embedded.auth(token("office-1", Role.OFFICE))
    activity = {
        "kind": "inspection",
        "type": "daily_inspection",
        "matter": "日常检查",
        "section": "JC1",
        "officers": ["officer-7"],
        "started_at": YEAR_ONE,
    }
    created = await embedded.client.post("/api/v1/activities", json=activity, headers=office)
    assert created.status_code == 422, created.text
    body = created.json()
    assert body["problems"][0]["field"] == "body.started_at"
    assert "body.started_at：须在 1970-01-01 至 2100-01-01（UTC）之间" in body["message_zh"]

    for path, name in (
        ("/api/v1/records", "captured_from"),
        ("/api/v1/records", "captured_to"),
        ("/api/v1/activities", "started_from"),
        ("/api/v1/statistics", "started_to"),
        ("/api/v1/compliance", "started_from"),
    ):
        response = await embedded.client.get(path, params={name: LAST_MOMENT}, headers=office)
        assert response.status_code == 400, (path, response.text)
        body = response.json()
        assert body["error"] == "invalid_query"
        assert body["message_zh"] == f"{name} 须在 1970-01-01 至 2100-01-01（UTC）之间"


async def readiness(embedded: Embedded) -> dict[str, Any]:
    response = await embedded.client.get("/readyz")
    assert response.status_code == 200, response.text
    services: dict[str, Any] = response.json()["services"]
    return services


async def test_a_poison_event_sits_in_the_dead_letters_while_later_recordings_arrive(
    embedded: Embedded, token: TokenFactory
) -> None:
    office = embedded.auth(token("office-1", Role.OFFICE))
    officer = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    await seed_staff(embedded.client, office)
    device_id = await issued_device(embedded.client, office, officer, serial="BC-1")
    # An event that an earlier version let through: the catalog fails converting its time.
    poison = RecordingIngested(
        record_id=uuid4(),
        upload_id=uuid4().hex,
        object_key=f"originals/{uuid4().hex}",
        sha256=hashlib.sha256(b"poison").hexdigest(),
        size=6,
        filename="poison.mp4",
        kind="video",
        device_id=device_id,
        officer_id="officer-7",
        section="JC1",
        captured_at=datetime.fromisoformat(YEAR_ONE),
    )
    ingest_db = Database(embedded.settings.database_url("ingest"))
    ingest_db.connect()
    try:
        async with session_scope(ingest_db) as session:
            record(session, poison)
    finally:
        await ingest_db.dispose()

    meta = {
        "filename": "after.mp4",
        "device_id": device_id,
        "officer_id": "officer-7",
        "kind": "video",
        "captured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    record_id = await upload_recording(embedded.client, officer, meta, b"a later recording")
    for _ in range(300):
        shown = await embedded.client.get(f"/api/v1/records/{record_id}", headers=office)
        if shown.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert shown.status_code == 200, shown.text
    missing = await embedded.client.get(f"/api/v1/records/{poison.record_id}", headers=office)
    assert missing.status_code == 404

    services = await readiness(embedded)
    assert services["catalog"]["events"]["dead_letters"] == 1
    assert services["catalog"]["events"]["failing_events"] == 0
    assert services["ingest"]["events"]["outbox_pending"] == 0
