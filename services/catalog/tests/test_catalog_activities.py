"""Enforcement activities (A-4, B-2): recorded by their section or kept in step by the district
platform under its own ids, seen by the right people, ended, archived; recordings name them by
either id and section heads tie the unassigned ones to them (A-3, D-11)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text, update
from sqlmodel import col

from quancheng.catalog.config import MIGRATIONS
from quancheng.catalog.main import create_app
from quancheng.catalog.models import Activity, ActivityStatus
from quancheng.common.auth import Role
from quancheng.common.db import session_scope
from quancheng.common.db.database import sync_url
from quancheng.common.db.migrate import upgrade
from quancheng.common.events import OfficerChanged, RecordingIngested, encode
from quancheng.common.service import ServiceState
from quancheng.common.settings import Settings
from quancheng.common.testing.kit import TokenFactory, auth, tell

MORNING = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CREDIT_CODE = "91350100M000100Y43"


def ingested(
    *, officer: str = "officer-7", section: str = "JC1", activity: str | None = None
) -> RecordingIngested:
    return RecordingIngested(
        record_id=uuid4(),
        upload_id=uuid4().hex,
        object_key=f"sections/{section}/originals/x",
        sha256="ab" * 32,
        size=1234,
        filename="现场检查.mp4",
        kind="video",
        device_id="dev-1",
        officer_id=officer,
        activity_id=activity,
        section=section,
        captured_at=MORNING,
    )


async def deliver(catalog: FastAPI, *events: RecordingIngested) -> None:
    state: ServiceState = catalog.state.service
    for event in events:
        await state.consumers.handle(encode(event, {}))


async def behind_the_apis_back(catalog: FastAPI, statement: Any) -> None:
    """Change a row as the API cannot (yet, or any more)."""
    state: ServiceState = catalog.state.service
    async with session_scope(state.db) as session:
        await session.exec(statement)


async def archive(catalog: FastAPI, activity_id: str) -> None:
    """Archive the activity directly (the API would also want it ended and its recordings
    described first, which these tests don't need)."""
    archived = update(Activity).values(status=ActivityStatus.ARCHIVED)
    await behind_the_apis_back(catalog, archived.where(col(Activity.id) == UUID(activity_id)))


async def transferred(catalog: FastAPI, officer: str, name: str, section: str) -> None:
    """The registry tells that ``officer`` now serves in ``section``."""
    await tell(
        catalog, OfficerChanged(officer_id=officer, name=name, section=section, by="office-1")
    )


# Who goes along when a test names no officers: the section's own (see kit.STAFF_EVENTS).
CREW = {"JC1": ["officer-7", "officer-8"], "JC2": ["officer-9"]}


def activity_body(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "coercion",
        "type": "sealing_seizure",
        "matter": "查封违规储存的危险化学品",
        "case_number": "江应急强〔2026〕12号",
        "section": "JC1",
        "officers": CREW[overrides.get("section", "JC1")],
        "place": "江城区化工园区纬二路 8 号",
        "region": "江城街道",
        "started_at": MORNING.isoformat(),
        **overrides,
    }


Headers = dict[str, str]


async def submit(client: httpx.AsyncClient, headers: Headers, **overrides: Any) -> httpx.Response:
    return await client.post("/api/v1/activities", json=activity_body(**overrides), headers=headers)


async def recorded(client: httpx.AsyncClient, headers: Headers, **overrides: Any) -> Any:
    response = await submit(client, headers, **overrides)
    assert response.status_code == 201, response.text
    return response.json()


async def listed(client: httpx.AsyncClient, headers: Headers, **query: Any) -> list[str]:
    """The ids of the activities listed, in order; checks that ``total`` counts them all."""
    response = await client.get("/api/v1/activities", params=query, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    if "limit" not in query:
        assert page["total"] == len(page["items"])
    return [item["id"] for item in page["items"]]


async def record(client: httpx.AsyncClient, headers: Headers, record_id: UUID) -> Any:
    response = await client.get(f"/api/v1/records/{record_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def unassigned(client: httpx.AsyncClient, headers: Headers) -> list[str]:
    response = await client.get("/api/v1/records", params={"unassigned": "true"}, headers=headers)
    return [item["record_id"] for item in response.json()["items"]]


async def assign(
    client: httpx.AsyncClient, headers: Headers, record_id: UUID, activity_id: str | None
) -> httpx.Response:
    url = f"/api/v1/records/{record_id}/activity"
    return await client.put(url, json={"activity_id": activity_id}, headers=headers)


async def registered_enterprise(client: httpx.AsyncClient, office: Headers) -> str:
    body = {"name": "江城精细化工有限公司", "credit_code": CREDIT_CODE}
    response = await client.post("/api/v1/enterprises", json=body, headers=office)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def refusal(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


@pytest.mark.req("D-4")
@pytest.mark.req("A-4")
async def test_an_officer_records_an_activity_of_their_section_with_chinese_labels(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    officer = auth(token, "officer-7", Role.OFFICER, section="JC1")
    types = {
        "sealing_seizure": "查封扣押",
        "daily_inspection": "日常执法检查",
        "document_service": "文书送达",
        "hearing": "听证",
    }

    bodies = [await recorded(client, officer, type=t) for t in types]

    assert [b["type_label"] for b in bodies] == list(types.values())
    first = bodies[0]
    labels = (first["kind_label"], first["status"], first["status_label"])
    assert labels == ("行政强制", "open", "进行中")
    assert (first["created_by"], first["ended_at"], first["section"]) == ("officer-7", None, "JC1")
    assert first["officers"] == ["officer-7", "officer-8"]
    fetched = await client.get(f"/api/v1/activities/{first['id']}", headers=officer)
    assert fetched.json()["id"] == first["id"]
    assert datetime.fromisoformat(fetched.json()["started_at"]) == MORNING


async def test_every_time_is_answered_in_utc_whatever_offset_it_came_in(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    """The answer to the POST (which echoes what was sent) and a later GET write times alike."""
    officer = auth(token, "officer-7", Role.OFFICER, section="JC1")
    beijing = timezone(timedelta(hours=8))
    started = MORNING.astimezone(beijing).isoformat()  # 2026-11-27T17:00:00+08:00

    created = await recorded(client, officer, started_at=started)
    ended = await client.post(
        f"/api/v1/activities/{created['id']}/end",
        json={"ended_at": (MORNING + timedelta(hours=2)).astimezone(beijing).isoformat()},
        headers=officer,
    )
    fetched = await client.get(f"/api/v1/activities/{created['id']}", headers=officer)

    assert created["started_at"] == "2026-11-27T09:00:00Z"
    assert ended.json()["ended_at"] == fetched.json()["ended_at"] == "2026-11-27T11:00:00Z"
    for answer in (created, ended.json(), fetched.json()):
        times = [answer[k] for k in ("started_at", "ended_at", "created_at", "updated_at")]
        assert all(t is None or t.endswith("Z") for t in times), times


@pytest.mark.req("B-2")
async def test_the_four_kinds_of_enforcement_are_recorded(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    kinds = {
        "licensing": "行政许可",
        "penalty": "行政处罚",
        "coercion": "行政强制",
        "inspection": "行政检查",
    }

    labels = {kind: (await recorded(client, office, kind=kind))["kind_label"] for kind in kinds}
    unknown = await submit(client, office, kind="reward")

    assert labels == kinds
    assert len(await listed(client, office, kind="inspection")) == 1
    assert unknown.status_code == 422


async def test_activities_are_recorded_only_for_the_callers_own_section(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    officer = auth(token, "officer-7", Role.OFFICER, section="JC1")
    head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
    office = auth(token, "office-1", Role.OFFICE)

    for caller in (officer, head):
        assert (await recorded(client, caller))["section"] == "JC1"
        other = await submit(client, caller, section="JC2")
        assert refusal(other) == (403, "not_your_section")
        assert "本科室" in other.json()["message_zh"]
    mine = await recorded(client, officer)
    moved = await client.put(
        f"/api/v1/activities/{mine['id']}", json=activity_body(section="JC2"), headers=officer
    )
    assert refusal(moved) == (403, "not_your_section")
    assert (await recorded(client, office, section="JC2"))["created_by"] == "office-1"
    for role in (Role.CUSTODIAN, Role.SUPERVISOR, Role.ARCHIVIST):
        refused = await submit(client, auth(token, "someone", role, section="JC1"))
        assert refusal(refused) == (403, "forbidden")
    assert len(await listed(client, office)) == 4


async def test_an_activity_that_cannot_be_right_is_refused(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    wrong: list[dict[str, Any]] = [
        {"started_at": "2026-11-27T09:00:00"},  # no UTC offset
        {"ended_at": (MORNING - timedelta(minutes=1)).isoformat()},
        {"type": "picnic"},
        {"officers": []},
        {"matter": ""},
    ]

    for overrides in wrong:
        response = await submit(client, office, **overrides)
        assert refusal(response) == (422, "invalid_request"), overrides
    unknown = await submit(client, office, enterprise_id=str(uuid4()))
    assert refusal(unknown) == (400, "enterprise_unknown")
    assert "企业不存在" in unknown.json()["message_zh"]
    enterprise_id = await registered_enterprise(client, office)
    ended = MORNING + timedelta(hours=2)
    known = await recorded(client, office, enterprise_id=enterprise_id, ended_at=ended.isoformat())
    assert known["enterprise_id"] == enterprise_id
    assert (known["status"], known["status_label"]) == ("closed", "已结束")
    assert await listed(client, office) == [known["id"]]


async def test_the_platform_keeps_an_activity_in_step_under_its_own_id(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    platform = auth(token, "district-platform", Role.INTEGRATION)
    office = auth(token, "office-1", Role.OFFICE)
    officer = auth(token, "officer-7", Role.OFFICER, section="JC1")
    url = "/api/v1/activities/external/ACT-2026-001"
    changes = activity_body(matter="复查整改情况", section="JC2", officers=["officer-9"])

    first = await client.put(url, json=activity_body(), headers=platform)
    again = await client.put(url, json=activity_body(), headers=platform)
    changed = await client.put(url, json=changes, headers=platform)
    by_officer = await client.put(url, json=activity_body(), headers=officer)

    activity_id = first.json()["id"]
    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 200)
    assert activity_id == again.json()["id"] == changed.json()["id"]
    assert first.json()["external_id"] == "ACT-2026-001"
    assert first.json()["created_by"] == "district-platform"
    assert await listed(client, office) == [activity_id]
    shown = (await client.get(f"/api/v1/activities/{activity_id}", headers=office)).json()
    assert (shown["matter"], shown["officers"]) == ("复查整改情况", ["officer-9"])
    assert await listed(client, office, officer_id="officer-9") == [activity_id]
    assert await listed(client, office, officer_id="officer-7") == []
    assert refusal(by_officer) == (403, "forbidden")


@pytest.mark.req("A-3")
@pytest.mark.req("D-11")
async def test_a_recording_naming_an_activity_not_yet_known_is_tied_to_it_when_it_appears(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
    early = ingested(activity="EXT-1")
    await deliver(app, early)

    before = await record(client, head, early.record_id)
    assert (before["activity_id"], before["activity_ref"]) == (None, "EXT-1")
    assert await unassigned(client, head) == [str(early.record_id)]

    platform = auth(token, "district-platform", Role.INTEGRATION)
    url = "/api/v1/activities/external/EXT-1"
    created = await client.put(url, json=activity_body(), headers=platform)
    own = await recorded(client, head)
    late, by_uuid = ingested(activity="EXT-1"), ingested(activity=own["id"])
    await deliver(app, late, by_uuid)

    activity_id = created.json()["id"]
    after = await record(client, head, early.record_id)
    assert (after["activity_id"], after["activity_ref"]) == (activity_id, None)
    assert (await record(client, head, late.record_id))["activity_id"] == activity_id
    assert (await record(client, head, by_uuid.record_id))["activity_id"] == own["id"]
    assert await unassigned(client, head) == []


async def test_an_activity_is_ended_not_before_it_started(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    officer = auth(token, "officer-7", Role.OFFICER, section="JC1")
    at_night, by_now = await recorded(client, officer), await recorded(client, officer)
    night = "2026-11-28T04:00:00+08:00"  # 20:00 UTC on the day it started
    end_url = f"/api/v1/activities/{at_night['id']}/end"

    too_early = await client.post(
        end_url, json={"ended_at": (MORNING - timedelta(seconds=1)).isoformat()}, headers=officer
    )
    ended = await client.post(end_url, json={"ended_at": night}, headers=officer)
    # No body at all: its only field is optional.
    now = await client.post(f"/api/v1/activities/{by_now['id']}/end", headers=officer)

    assert refusal(too_early) == (400, "ends_before_start")
    assert "早于" in too_early.json()["message_zh"]
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["status_label"]) == ("closed", "已结束")
    assert datetime.fromisoformat(ended.json()["ended_at"]) == datetime.fromisoformat(night)
    assert now.json()["status"] == "closed"
    ended_now = datetime.fromisoformat(now.json()["ended_at"])
    assert abs(datetime.now(UTC) - ended_now) < timedelta(minutes=1)
    closed = await listed(client, officer, status="closed")
    assert sorted(closed) == sorted([at_night["id"], by_now["id"]])


@pytest.mark.req("E-10")
async def test_each_caller_sees_the_activities_of_their_section_or_those_they_took_part_in(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    mine = await recorded(client, office, officers=["officer-7"])
    colleagues = await recorded(client, office, officers=["officer-8"])
    # officer-7 served in JC2 for a while and took part in its activity there
    await transferred(app, "officer-7", "李明", "JC2")
    helping = await recorded(client, office, section="JC2", officers=["officer-9", "officer-7"])
    await transferred(app, "officer-7", "李明", "JC1")
    officer_7 = auth(token, "officer-7", Role.OFFICER, section="JC1")
    officer_8 = auth(token, "officer-8", Role.OFFICER, section="JC1")

    assert set(await listed(client, office)) == {mine["id"], colleagues["id"], helping["id"]}
    assert len(await listed(client, auth(token, "sup-1", Role.SUPERVISOR))) == 3
    head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
    assert set(await listed(client, head)) == {mine["id"], colleagues["id"]}
    head_2 = auth(token, "head-2", Role.SECTION_HEAD, section="JC2")
    assert await listed(client, head_2) == [helping["id"]]
    assert set(await listed(client, officer_7)) == {mine["id"], helping["id"]}
    assert await listed(client, officer_8) == [colleagues["id"]]
    hidden = await client.get(f"/api/v1/activities/{helping['id']}", headers=officer_8)
    assert refusal(hidden) == (404, "activity_not_found")
    assert "未找到" in hidden.json()["message_zh"]
    shown = await client.get(f"/api/v1/activities/{helping['id']}", headers=officer_7)
    assert shown.json()["section"] == "JC2"


async def test_activities_are_found_by_what_they_are_latest_first_and_paged_without_overlap(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    enterprise_id = await registered_enterprise(client, office)
    later = (MORNING + timedelta(hours=1)).isoformat()
    same_time = [(await recorded(client, office, started_at=later))["id"] for _ in range(3)]
    inspection = await recorded(
        client,
        office,
        kind="inspection",
        type="daily_inspection",
        case_number=None,
        section="JC2",
        officers=["officer-9"],
        enterprise_id=enterprise_id,
    )
    earlier = (MORNING - timedelta(days=1)).isoformat()
    oldest = await recorded(client, office, started_at=earlier, case_number="江应急罚〔2026〕3号")
    await client.post(f"/api/v1/activities/{oldest['id']}/end", json={}, headers=office)

    everything = await listed(client, office)
    pages = [await listed(client, office, limit=2, offset=offset) for offset in (0, 2, 4)]
    page = (await client.get("/api/v1/activities", params={"limit": 2}, headers=office)).json()
    naive = await client.get(
        "/api/v1/activities", params={"started_from": "2026-11-27T09:00:00"}, headers=office
    )

    assert everything == [*sorted(same_time), inspection["id"], oldest["id"]]
    assert [i for p in pages for i in p] == everything  # no overlap, nothing left out
    assert (len(page["items"]), page["total"]) == (2, 5)
    only_inspection = [inspection["id"]]
    assert await listed(client, office, section="JC2") == only_inspection
    assert await listed(client, office, officer_id="officer-9") == only_inspection
    assert await listed(client, office, enterprise_id=enterprise_id) == only_inspection
    assert await listed(client, office, kind="inspection") == only_inspection
    assert await listed(client, office, type="daily_inspection") == only_inspection
    assert await listed(client, office, status="closed") == [oldest["id"]]
    assert await listed(client, office, case_number="江应急罚〔2026〕3号") == [oldest["id"]]
    assert len(await listed(client, office, case_number="江应急强〔2026〕12号")) == 3
    that_morning = await listed(client, office, started_from=MORNING.isoformat(), started_to=later)
    assert that_morning == only_inspection  # the next hour's three start at the bound
    assert refusal(naive) == (400, "invalid_query")


async def test_activities_are_sorted_by_the_key_asked_for_either_way_and_paged_without_overlap(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    ids: list[str] = []
    for n, (matter, case_number) in enumerate(
        [
            ("B 仓库检查", "江应急检〔2026〕2号"),
            ("C 仓库检查", None),
            ("A 仓库检查", "江应急检〔2026〕1号"),
        ]
    ):
        started_at = (MORNING + timedelta(hours=n)).isoformat()
        activity = await recorded(
            client,
            office,
            kind="inspection",
            type="daily_inspection",
            matter=matter,
            case_number=case_number,
            started_at=started_at,
        )
        ids.append(activity["id"])
    first, second, third = ids

    assert await listed(client, office) == [third, second, first]  # latest first
    assert await listed(client, office, sort="-started_at") == [third, second, first]
    assert await listed(client, office, sort="started_at") == [first, second, third]
    assert await listed(client, office, sort="matter") == [third, first, second]
    assert await listed(client, office, sort="-matter") == [second, first, third]
    # An activity without a case number comes last either way.
    assert await listed(client, office, sort="case_number") == [third, first, second]
    assert await listed(client, office, sort="-case_number") == [first, third, second]
    pages = [await listed(client, office, sort="-matter", limit=2, offset=o) for o in (0, 2)]
    assert pages == [[second, first], [third]]
    unknown = await client.get("/api/v1/activities", params={"sort": "title"}, headers=office)
    assert refusal(unknown) == (400, "invalid_sort")
    zh = unknown.json()["message_zh"]
    assert zh.startswith("不支持按 title 排序，可用：started_at、matter、case_number、section")


@pytest.mark.req("A-3")
@pytest.mark.req("D-11")
async def test_the_section_head_ties_a_recording_to_an_activity_and_unties_it(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
    loose = ingested()
    await deliver(app, loose)
    activity = await recorded(client, head)

    tied = await assign(client, head, loose.record_id, activity["id"])
    assert tied.status_code == 200, tied.text
    assert tied.json()["activity_id"] == activity["id"]
    assert (await record(client, head, loose.record_id))["activity_id"] == activity["id"]
    assert await unassigned(client, head) == []

    untied = await assign(client, head, loose.record_id, None)
    assert untied.status_code == 200, untied.text
    assert (await record(client, head, loose.record_id))["activity_id"] is None
    assert await unassigned(client, head) == [str(loose.record_id)]


@pytest.mark.req("A-3")
@pytest.mark.req("D-11")
async def test_only_the_head_of_the_recordings_section_or_the_office_ties_it(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = auth(token, "office-1", Role.OFFICE)
    loose = ingested(officer="officer-7", section="JC1")
    await deliver(app, loose)
    here = await recorded(client, office)
    await transferred(app, "head-1", "陈静", "JC2")  # serving in JC2 for its activity
    there = await recorded(client, office, section="JC2", officers=["officer-9", "head-1"])
    await transferred(app, "head-1", "陈静", "JC1")
    officer = auth(token, "officer-7", Role.OFFICER, section="JC1")
    other_head = auth(token, "head-2", Role.SECTION_HEAD, section="JC2")
    head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
    # head-1 also went along on JC2's activity, so may see it (as an officer taking part)
    taking_part = auth(token, "head-1", Role.SECTION_HEAD, Role.OFFICER, section="JC1")

    by_officer = await assign(client, officer, loose.record_id, here["id"])
    by_other_head = await assign(client, other_head, loose.record_id, here["id"])
    unseen = await assign(client, head, loose.record_id, there["id"])
    elsewhere = await assign(client, taking_part, loose.record_id, there["id"])
    across = await assign(client, office, loose.record_id, there["id"])

    assert refusal(by_officer) == (403, "not_section_head")
    assert "负责人" in by_officer.json()["message_zh"]
    assert refusal(by_other_head) == (404, "record_not_found")
    assert refusal(unseen) == (404, "activity_not_found")  # another section's: hidden from heads
    assert refusal(elsewhere) == (409, "other_section")
    assert "同一科室" in elsewhere.json()["message_zh"]
    assert across.status_code == 200, across.text
    assert (await record(client, office, loose.record_id))["activity_id"] == there["id"]


async def test_an_archived_activity_and_its_recordings_are_read_only(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
    kept, other = await recorded(client, head), await recorded(client, head)
    inside, loose = ingested(activity=kept["id"]), ingested()
    await deliver(app, inside, loose)
    url = f"/api/v1/activities/{kept['id']}"
    exemption = await client.post(
        f"{url}/exemptions",
        json={"reason": "emergency", "basis": "紧急情况", "work_record": "现场紧急，未能录像"},
        headers=head,
    )
    assert exemption.status_code == 201, exemption.text
    await archive(app, kept["id"])

    shown = (await client.get(url, headers=head)).json()
    assert (shown["status"], shown["status_label"]) == ("archived", "已归档")
    changed = await client.put(url, json=activity_body(matter="改"), headers=head)
    assert refusal(changed) == (409, "activity_archived")
    assert "归档" in changed.json()["message_zh"]
    ended = await client.post(f"{url}/end", json={}, headers=head)
    assert refusal(ended) == (409, "activity_archived")
    acknowledged = await client.post(
        f"{url}/exemptions/{exemption.json()['id']}/acknowledge", headers=head
    )
    assert refusal(acknowledged) == (409, "activity_archived")
    for record_id, target in (
        (inside.record_id, other["id"]),  # taken away from it
        (inside.record_id, None),
        (loose.record_id, kept["id"]),  # added to it
    ):
        moved = await assign(client, head, record_id, target)
        assert refusal(moved) == (409, "activity_archived"), (record_id, target)
    assert (await record(client, head, inside.record_id))["activity_id"] == kept["id"]
    assert (await record(client, head, loose.record_id))["activity_id"] is None
    still = (await client.get(url, headers=head)).json()
    assert (still["matter"], still["ended_at"]) == (kept["matter"], None)


async def test_the_platform_ends_an_activity_it_recorded(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    platform = auth(token, "district-platform", Role.INTEGRATION)
    created = await client.put(
        "/api/v1/activities/external/ACT-9", json=activity_body(), headers=platform
    )

    ended = await client.post(
        f"/api/v1/activities/{created.json()['id']}/end", json={}, headers=platform
    )

    assert created.status_code == 201
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "closed"


async def test_a_recording_stored_before_activities_existed_is_tied_when_its_activity_appears(
    settings: Settings, token: TokenFactory
) -> None:
    # A catalog as it was before activities: its records kept the id the upload named.
    url = settings.database_url("catalog")
    await asyncio.to_thread(upgrade, url, MIGRATIONS, revision="k0002")
    record_id = uuid4()
    engine = create_engine(sync_url(url))
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO records (record_id, upload_id, object_key, sha256, size, filename,"
                " kind, device_id, officer_id, activity_id, section, deadline_missed,"
                " ingested_at) VALUES (:id, 'u', 'k', :sha, 1, 'a.mp4', 'video', 'dev-1',"
                " 'officer-7', 'ACT-8', 'JC1', false, :at)"
            ),
            {
                "id": record_id.hex if "sqlite" in url else record_id,
                "sha": "ab" * 32,
                "at": MORNING,
            },
        )
    engine.dispose()

    app = create_app(settings)  # upgrades to the newest schema
    async with app.router.lifespan_context(app):
        await tell(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            head = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
            before = await record(client, head, record_id)
            created = await client.put(
                "/api/v1/activities/external/ACT-8",
                json=activity_body(),
                headers=auth(token, "district-platform", Role.INTEGRATION),
            )
            after = await record(client, head, record_id)

    assert (before["activity_id"], before["activity_ref"]) == (None, "ACT-8")
    assert (after["activity_id"], after["activity_ref"]) == (created.json()["id"], None)


async def test_an_officer_sees_an_activity_they_recorded_for_colleagues(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    clerk = auth(token, "officer-7", Role.OFFICER, section="JC1")
    other = auth(token, "officer-9", Role.OFFICER, section="JC1")
    created = await recorded(client, clerk, officers=["officer-8"])

    shown = await client.get(f"/api/v1/activities/{created['id']}", headers=clerk)
    hidden = await client.get(f"/api/v1/activities/{created['id']}", headers=other)

    assert shown.status_code == 200
    assert await listed(client, clerk) == [created["id"]]
    assert refusal(hidden) == (404, "activity_not_found")
