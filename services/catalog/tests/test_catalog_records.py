"""Records: every original ingest announces becomes one record, which the right people see,
find and page through."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from quancheng.common.auth import Role
from quancheng.common.events import RecordingIngested, encode
from quancheng.common.service import ServiceState
from quancheng.common.testing.kit import (
    Embedded,
    TokenFactory,
    auth,
    issued_device,
    seed_staff,
    upload_recording,
)

MORNING = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def ingested(
    *,
    officer: str = "officer-7",
    section: str = "JC1",
    kind: str = "video",
    device: str = "dev-1",
    activity: str | None = None,
    at: datetime = MORNING,
    record_id: UUID | None = None,
) -> RecordingIngested:
    return RecordingIngested(
        record_id=record_id or uuid4(),
        upload_id=uuid4().hex,
        object_key=f"sections/{section}/originals/x",
        sha256="ab" * 32,
        size=1234,
        filename="现场检查.mp4",
        kind=kind,
        device_id=device,
        officer_id=officer,
        activity_id=activity,
        section=section,
        captured_at=at,
        captured_until=at + timedelta(minutes=20),
        clock_drift_seconds=-3.5,
        deadline_missed=True,
        party_informed=True,
    )


async def deliver(catalog: FastAPI, *events: RecordingIngested) -> None:
    state: ServiceState = catalog.state.service
    for event in events:
        await state.consumers.handle(encode(event, {}))


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str], **query: Any
) -> dict[str, Any]:
    response = await client.get("/api/v1/records", params=query, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_an_ingested_recording_becomes_one_record_even_if_announced_twice(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    event = ingested()

    await deliver(app, event, event.model_copy(update={"event_id": uuid4()}))

    page = await listed(client, auth(token, "office-1", Role.OFFICE))
    assert page["total"] == 1
    (item,) = page["items"]
    assert item["record_id"] == str(event.record_id)
    assert (item["filename"], item["kind"], item["kind_label"]) == ("现场检查.mp4", "video", "视频")
    assert (item["deadline_missed"], item["party_informed"], item["activity_id"]) == (
        True,
        True,
        None,
    )
    assert item["clock_drift_seconds"] == -3.5
    assert datetime.fromisoformat(item["captured_at"]) == MORNING


@pytest.mark.req("E-10")
async def test_each_caller_sees_the_records_of_their_section_or_their_own(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    mine = ingested(officer="officer-7", section="JC1")
    colleague = ingested(officer="officer-8", section="JC1")
    elsewhere = ingested(officer="officer-9", section="JC2")
    await deliver(app, mine, colleague, elsewhere)

    def ids(page: dict[str, Any]) -> set[str]:
        return {item["record_id"] for item in page["items"]}

    office = await listed(client, auth(token, "office-1", Role.OFFICE))
    head = await listed(client, auth(token, "head-1", Role.SECTION_HEAD, section="JC1"))
    officer = await listed(client, auth(token, "officer-7", Role.OFFICER, section="JC1"))
    custodian = await listed(client, auth(token, "keeper-2", Role.CUSTODIAN, section="JC2"))
    device = await listed(client, auth(token, "dev-1", Role.DEVICE, section="JC1"))

    assert ids(office) == {str(r.record_id) for r in (mine, colleague, elsewhere)}
    assert ids(head) == {str(mine.record_id), str(colleague.record_id)}
    assert ids(officer) == {str(mine.record_id)}
    assert ids(custodian) == {str(elsewhere.record_id)}
    assert (ids(device), device["total"]) == (set(), 0)
    officer_7 = auth(token, "officer-7", Role.OFFICER, section="JC1")
    hidden = await client.get(f"/api/v1/records/{colleague.record_id}", headers=officer_7)
    shown = await client.get(f"/api/v1/records/{mine.record_id}", headers=officer_7)
    assert (hidden.status_code, hidden.json()["error"]) == (404, "record_not_found")
    assert "未找到" in hidden.json()["message_zh"]
    assert shown.json()["record_id"] == str(mine.record_id)


@pytest.mark.req("D-11")
async def test_recordings_tied_to_no_activity_are_listed_for_the_section_head(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    platform = auth(token, "district-platform", Role.INTEGRATION)
    created = await client.put(
        "/api/v1/activities/external/ACT-2026-001",
        headers=platform,
        json={
            "kind": "inspection",
            "type": "daily_inspection",
            "matter": "日常检查",
            "section": "JC1",
            "officers": ["officer-7"],
            "started_at": MORNING.isoformat(),
        },
    )
    assert created.status_code == 201
    loose = ingested(section="JC1")
    linked = ingested(section="JC1", activity="ACT-2026-001")
    other_section = ingested(section="JC2", officer="officer-9")
    await deliver(app, loose, linked, other_section)
    head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")

    unassigned = await listed(client, head, unassigned="true")
    assigned = await listed(client, head, unassigned="false")

    assert [i["record_id"] for i in unassigned["items"]] == [str(loose.record_id)]
    assert [i["record_id"] for i in assigned["items"]] == [str(linked.record_id)]


async def test_records_are_found_by_what_they_are_and_paged_without_overlap(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    same_time = [ingested(at=MORNING + timedelta(hours=1)) for _ in range(3)]
    events = [
        *same_time,
        ingested(kind="photo", device="dev-2"),
        ingested(at=MORNING - timedelta(days=1)),
    ]
    await deliver(app, *events)
    office = auth(token, "office-1", Role.OFFICE)

    everything = await listed(client, office)
    pages = [await listed(client, office, limit=2, offset=offset) for offset in (0, 2, 4)]
    photos = await listed(client, office, kind="photo")
    on_dev_2 = await listed(client, office, device_id="dev-2")
    that_morning = await listed(
        client,
        office,
        captured_from=MORNING.isoformat(),
        captured_to=(MORNING + timedelta(hours=1)).isoformat(),
    )
    naive = await client.get(
        "/api/v1/records", params={"captured_from": "2026-11-27T09:00:00"}, headers=office
    )

    order = [i["record_id"] for i in everything["items"]]
    assert everything["total"] == 5
    assert [i["record_id"] for page in pages for i in page["items"]] == order  # no overlap
    assert order[:3] == sorted(str(e.record_id) for e in same_time)  # newest, ties by id
    assert order[-1] == str(events[-1].record_id)
    assert [i["kind_label"] for i in photos["items"]] == ["照片"]
    assert on_dev_2["total"] == 1
    assert that_morning["total"] == 1  # the photo; the next hour's three start at the bound
    assert (naive.status_code, naive.json()["error"]) == (400, "invalid_query")


async def test_records_are_sorted_by_the_key_asked_for_either_way_and_paged_without_overlap(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    files = [("b.mp4", 300, "video"), ("c.mp4", 100, "photo"), ("a.mp4", 200, "video")]
    events = [
        ingested(at=MORNING + timedelta(hours=n), kind=kind).model_copy(
            update={"filename": name, "size": size}
        )
        for n, (name, size, kind) in enumerate(files)
    ]
    undated = ingested(kind="audio").model_copy(update={"filename": "d.mp3", "captured_at": None})
    await deliver(app, *events, undated)
    office = auth(token, "office-1", Role.OFFICE)

    async def names(**query: Any) -> list[str]:
        return [i["filename"] for i in (await listed(client, office, **query))["items"]]

    assert await names() == ["a.mp4", "c.mp4", "b.mp4", "d.mp3"]  # newest capture first
    assert await names(sort="-captured_at") == await names()
    assert await names(sort="captured_at") == ["b.mp4", "c.mp4", "a.mp4", "d.mp3"]  # undated last
    assert await names(sort="filename") == ["a.mp4", "b.mp4", "c.mp4", "d.mp3"]
    assert await names(sort="-filename") == ["d.mp3", "c.mp4", "b.mp4", "a.mp4"]
    assert await names(sort="size") == ["c.mp4", "a.mp4", "b.mp4", "d.mp3"]
    assert await names(sort="-size") == ["d.mp3", "b.mp4", "a.mp4", "c.mp4"]
    # Audio, photo, video; the two videos in the order of their record ids.
    videos = [e.filename for e in sorted(events[0::2], key=lambda e: str(e.record_id))]
    assert await names(sort="kind") == ["d.mp3", "c.mp4", *videos]
    assert await names(sort="-kind") == [*videos, "c.mp4", "d.mp3"]
    for sort in ("kind", "-kind", "-size"):
        pages = [await names(sort=sort, limit=3, offset=offset) for offset in (0, 3)]
        assert [n for page in pages for n in page] == await names(sort=sort)

    unknown = await client.get("/api/v1/records", params={"sort": "-colour"}, headers=office)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_sort")
    assert unknown.json()["message_zh"].startswith(
        "不支持按 colour 排序，可用：captured_at、filename、kind、officer_id、section、size、"
        "ingested_at"
    )


async def test_an_upload_through_the_platform_appears_as_a_record(
    embedded: Embedded, token: TokenFactory
) -> None:
    office = embedded.auth(token("office-1", Role.OFFICE))
    officer = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    await seed_staff(embedded.client, office)
    device_id = await issued_device(embedded.client, office, officer, serial="BC-1")
    data = b"a recording of an inspection"
    meta = {
        "filename": "检查.mp4",
        "device_id": device_id,
        "officer_id": "officer-7",
        "kind": "video",
        "captured_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    record_id = await upload_recording(embedded.client, officer, meta, data)

    for _ in range(100):  # the event travels through the outbox relay
        page = (await embedded.client.get("/api/v1/records", headers=officer)).json()
        if page["total"]:
            break
        await asyncio.sleep(0.1)

    (record,) = page["items"]
    assert record["record_id"] == record_id
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert (record["filename"], record["section"], record["deadline_missed"]) == (
        "检查.mp4",
        "JC1",
        False,
    )
