"""The catalog knows the registry's staff from its events (the ``staff`` stream): an activity
names only active officers of its own section, and a section head acts for a section only if
the registry names them its head (A-6a)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from quancheng.common.auth import Role
from quancheng.common.events import (
    OfficerChanged,
    OfficerRegistered,
    RecordingIngested,
    SectionChanged,
)
from quancheng.common.testing.kit import TokenFactory, auth, tell

Headers = dict[str, str]
MORNING = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "inspection",
        "type": "daily_inspection",
        "matter": "日常检查",
        "section": "JC1",
        "officers": ["officer-7", "officer-8"],
        "started_at": MORNING.isoformat(),
        **overrides,
    }


def refused_for(response: httpx.Response, *officers: str) -> list[dict[str, Any]]:
    """The 422 naming each refused officer, in English and Chinese; its problems."""
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["error"] == "invalid_officers"
    problems: list[dict[str, Any]] = answer["problems"]
    assert [p["officer_id"] for p in problems] == list(officers)
    for officer in officers:
        assert officer in answer["message"]
        assert officer in answer["message_zh"]
    return problems


async def activities(client: httpx.AsyncClient, office: Headers) -> int:
    listed = await client.get("/api/v1/activities", headers=office)
    total: int = listed.json()["total"]
    return total


@pytest.mark.req("A-6a")
async def test_an_activity_naming_an_officer_the_registry_does_not_have_is_refused(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)

    response = await client.post(
        "/api/v1/activities", json=body(officers=["officer-7", "ghost-1"]), headers=office
    )

    (problem,) = refused_for(response, "ghost-1")
    assert (problem["field"], problem["reason"]) == ("body.officers.1", "unknown")
    assert "未在设备登记中登记" in response.json()["message_zh"]
    assert "register them there first" in response.json()["message"]
    assert await activities(client, office) == 0


@pytest.mark.req("A-6a")
async def test_an_activity_naming_an_officer_off_duty_or_of_another_section_is_refused(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    officer = auth(token, "officer-7", Role.OFFICER, section="JC1")
    await tell(
        app,
        OfficerChanged(officer_id="officer-8", name="王芳", section="JC1", active=False, by="o"),
    )

    off_duty = await client.post("/api/v1/activities", json=body(), headers=officer)
    elsewhere = await client.post(
        "/api/v1/activities", json=body(officers=["officer-7", "officer-9"]), headers=office
    )
    both = await client.post(
        "/api/v1/activities",
        json=body(officers=["officer-9", "officer-8", "officer-7"]),
        headers=office,
    )

    (problem,) = refused_for(off_duty, "officer-8")
    assert problem["reason"] == "inactive"
    assert "王芳（officer-8）不在岗" in off_duty.json()["message_zh"]
    (problem,) = refused_for(elsewhere, "officer-9")
    assert problem["reason"] == "other_section"
    assert "张伟（officer-9）属于科室 JC2" in elsewhere.json()["message_zh"]
    assert "JC1" in problem["problem_zh"]
    assert [p["reason"] for p in refused_for(both, "officer-9", "officer-8")] == [
        "other_section",
        "inactive",
    ]
    assert await activities(client, office) == 0


@pytest.mark.req("A-6a")
async def test_the_platform_may_name_an_officer_once_the_registry_has_told_of_them(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    platform = auth(token, "district-platform", Role.INTEGRATION)
    office = auth(token, "office-1", Role.OFFICE)
    url = "/api/v1/activities/external/ACT-2026-77"
    crew = body(officers=["officer-7", "officer-10"])

    too_early = await client.put(url, json=crew, headers=platform)
    refused_for(too_early, "officer-10")
    assert await activities(client, office) == 0

    await tell(app, OfficerRegistered(officer_id="officer-10", name="赵敏", section="JC1", by="o"))
    created = await client.put(url, json=crew, headers=platform)

    assert created.status_code == 201, created.text
    assert created.json()["officers"] == ["officer-7", "officer-10"]


@pytest.mark.req("A-6a")
async def test_a_correction_checks_the_officers_it_adds_not_those_who_took_part(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    created = await client.post("/api/v1/activities", json=body(), headers=office)
    assert created.status_code == 201, created.text
    url = f"/api/v1/activities/{created.json()['id']}"
    # officer-8 moves to JC2 after the activity
    await tell(app, OfficerChanged(officer_id="officer-8", name="王芳", section="JC2", by="o"))

    corrected = await client.put(url, json=body(matter="日常检查（复查）"), headers=office)
    added = await client.put(
        url, json=body(officers=["officer-7", "officer-8", "officer-9"]), headers=office
    )
    moved = await client.put(url, json=body(section="JC2"), headers=office)

    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["officers"] == ["officer-7", "officer-8"]
    refused_for(added, "officer-9")
    refused_for(moved, "officer-7")  # in JC2 it is checked anew: officer-8 serves there now
    shown = await client.get(url, headers=office)
    assert (shown.json()["matter"], shown.json()["section"]) == ("日常检查（复查）", "JC1")


def refused_as_not_named(response: httpx.Response, subject: str, section: str) -> None:
    assert response.status_code == 403, response.text
    answer = response.json()
    assert answer["error"] == "section_role_not_named"
    assert (answer["subject"], answer["section"]) == (subject, section)
    assert f"{subject} 不是科室 {section} 的负责人" in answer["message_zh"]
    assert subject in answer["message"]


@pytest.mark.req("A-6a")
async def test_a_section_head_token_the_registry_does_not_back_does_not_act_for_the_section(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    pretender = auth(token, "nobody", Role.SECTION_HEAD, section="JC1")
    head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
    created = await client.post("/api/v1/activities", json=body(), headers=office)
    activity_id = created.json()["id"]
    path = f"/api/v1/activities/{activity_id}"
    work_record = {"reason": "emergency", "basis": "紧急情况", "work_record": "未能录像"}
    filed = await client.post(f"{path}/exemptions", json=work_record, headers=office)
    ack = f"{path}/exemptions/{filed.json()['id']}/acknowledge"
    loose = RecordingIngested(
        record_id=uuid4(),
        upload_id=uuid4().hex,
        object_key="sections/JC1/originals/x",
        sha256="ab" * 32,
        size=1,
        filename="现场.mp4",
        kind="video",
        device_id="dev-1",
        officer_id="officer-7",
        section="JC1",
        captured_at=MORNING,
    )
    await tell(app, loose)
    assign = f"/api/v1/records/{loose.record_id}/activity"
    describe = f"/api/v1/records/{loose.record_id}/archival"

    attempts = [
        await client.post("/api/v1/activities", json=body(), headers=pretender),
        await client.post(f"{path}/end", json={}, headers=pretender),
        await client.post(f"{path}/interruptions", json=interruption(), headers=pretender),
        await client.post(ack, headers=pretender),
        await client.put(assign, json={"activity_id": activity_id}, headers=pretender),
        await client.put(describe, json={"proves": "现场经过"}, headers=pretender),
    ]
    for attempt in attempts:
        refused_as_not_named(attempt, "nobody", "JC1")
    assert (await client.get(path, headers=office)).json()["status"] == "open"
    exemption = (await client.get(f"{path}/exemptions", headers=office)).json()[0]
    assert exemption["acknowledged_by"] is None
    record = (await client.get(f"/api/v1/records/{loose.record_id}", headers=office)).json()
    assert (record["activity_id"], record["proves"]) == (None, None)
    assert await activities(client, office) == 1

    # The head the registry names does all of it.
    assert (await client.post(ack, headers=head)).json()["acknowledged_by"] == "head-1"
    tied = await client.put(assign, json={"activity_id": activity_id}, headers=head)
    assert tied.status_code == 200, tied.text
    assert (await client.post("/api/v1/activities", json=body(), headers=head)).status_code == 201


@pytest.mark.req("A-6a")
async def test_a_head_who_handed_the_section_over_no_longer_acts_for_it(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
    successor = auth(token, "officer-8", Role.SECTION_HEAD, section="JC1")
    before = await client.post("/api/v1/activities", json=body(), headers=head)
    await tell(
        app, SectionChanged(code="JC1", name="监管一科", head_officer_id="officer-8", by="o")
    )

    after = await client.post("/api/v1/activities", json=body(), headers=head)
    by_successor = await client.post("/api/v1/activities", json=body(), headers=successor)

    assert before.status_code == 201, before.text
    refused_as_not_named(after, "head-1", "JC1")
    assert by_successor.status_code == 201, by_successor.text


async def test_an_event_told_again_or_late_does_not_undo_a_later_one(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    earlier = OfficerChanged(
        officer_id="officer-8",
        name="王芳",
        section="JC2",
        by="o",
        occurred_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    later = OfficerChanged(officer_id="officer-8", name="王芳", section="JC1", by="o")
    await tell(app, later, earlier, later)

    created = await client.post("/api/v1/activities", json=body(), headers=office)

    assert created.status_code == 201, created.text


def interruption() -> dict[str, Any]:
    return {
        "device_id": "dev-1",
        "stopped_at": (MORNING + timedelta(minutes=10)).isoformat(),
        "resumed_at": (MORNING + timedelta(minutes=20)).isoformat(),
        "reason": "battery",
        "explanation": "电量不足",
    }
