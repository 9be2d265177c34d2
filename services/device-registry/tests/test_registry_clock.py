"""The device clock drift history (A-8, D-8): read at each pre-use check, and reported by ingest
at each upload in ``recording.ingested``."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from quancheng.common.auth import Role
from quancheng.common.events import RecordingIngested, encode
from quancheng.common.service import ServiceState
from quancheng.common.testing.kit import TokenFactory, appoint


def check(offset: float, battery: int = 90) -> dict[str, Any]:
    return {
        "fault_free": True,
        "battery_percent": battery,
        "free_storage_mb": 32_000,
        "clock_offset_seconds": offset,
    }


async def stocked_device(client: httpx.AsyncClient, office: dict[str, str]) -> str:
    body = {"kind": "body_camera", "serial_number": "BC-1", "model": "DSJ", "section": "JC1"}
    device_id: str = (await client.post("/api/v1/devices", json=body, headers=office)).json()["id"]
    stocked = await client.post(
        f"/api/v1/devices/{device_id}/transitions", json={"to": "in_stock"}, headers=office
    )
    assert stocked.status_code == 200, stocked.text
    return device_id


def ingested(
    device_id: str, drift: float | None, record_id: UUID | None = None
) -> RecordingIngested:
    return RecordingIngested(
        record_id=record_id or uuid4(),
        upload_id="u1",
        object_key="JC1/originals/x",
        sha256="0" * 64,
        size=10,
        filename="录像.mp4",
        kind="video",
        device_id=device_id,
        officer_id="officer-7",
        clock_drift_seconds=drift,
    )


async def deliver(registry: FastAPI, event: RecordingIngested) -> None:
    state: ServiceState = registry.state.service
    await state.consumers.handle(encode(event, {}))


async def clock(
    client: httpx.AsyncClient, headers: dict[str, str], device_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/devices/{device_id}/clock", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["threshold_seconds"] == 60
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.req("A-8")
async def test_each_pre_use_check_leaves_a_clock_reading_passing_or_not(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    device_id = await stocked_device(client, office)
    path = f"/api/v1/devices/{device_id}/issue"

    failed = await client.post(
        path, json={"officer_id": "officer-7", "check": check(300)}, headers=office
    )
    passed = await client.post(
        path, json={"officer_id": "officer-7", "check": check(-12.5)}, headers=office
    )

    assert (failed.status_code, passed.status_code) == (409, 200)
    readings = await clock(client, office, device_id)
    assert [(r["drift_seconds"], r["source"], r["beyond_threshold"]) for r in readings] == [
        (300, "pre_use_check", True),
        (-12.5, "pre_use_check", False),
    ]
    assert readings[0]["source_label"] == "使用前检查"


@pytest.mark.req("D-8")
async def test_the_drift_ingest_measures_at_upload_is_kept_once(
    app: FastAPI, client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    device_id = await stocked_device(client, office)
    event = ingested(device_id, 95.0)

    await deliver(app, event)
    await deliver(app, event)  # redelivered
    await deliver(app, ingested(device_id, None))  # no clock reported
    await deliver(app, ingested(str(uuid4()), 5.0))  # not a device of this registry

    readings = await clock(client, office, device_id)
    assert [(r["drift_seconds"], r["source"], r["beyond_threshold"]) for r in readings] == [
        (95.0, "upload", True)
    ]
    assert readings[0]["source_label"] == "上传"


async def test_the_clock_history_is_seen_by_those_who_see_the_device(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory
) -> None:
    device_id = await stocked_device(client, office)
    path = f"/api/v1/devices/{device_id}/clock"
    await appoint(client, office, "JC1", head="h1")
    await appoint(client, office, "JC2", head="h2")
    own = {"Authorization": f"Bearer {token('h1', Role.SECTION_HEAD, section='JC1')}"}
    other = {"Authorization": f"Bearer {token('h2', Role.SECTION_HEAD, section='JC2')}"}

    assert (await client.get(path, headers=own)).status_code == 200
    assert (await client.get(path, headers=other)).status_code == 404
