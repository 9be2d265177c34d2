"""Recording compliance through the catalog's API: the recording item list, the explanations
officers file and section heads acknowledge, and the reports (A-3, A-5, A-9, A-10, B-4b, D-10)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from quancheng.catalog.models import ActivityType
from quancheng.common.auth import Role
from quancheng.common.events import RecordingIngested, SectionChanged, encode
from quancheng.common.service import ServiceState
from quancheng.common.testing.kit import TokenFactory, auth, tell

MORNING = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
# Who goes along when a test names no officers: the section's own (see kit.STAFF_EVENTS).
CREW = {"JC1": ["officer-7", "officer-8"], "JC2": ["officer-9"]}
INSPECTION: dict[str, Any] = {"kind": "inspection", "type": "daily_inspection"}
Headers = dict[str, str]


@dataclass(frozen=True)
class People:
    office: Headers
    officer: Headers  # officer-7 of JC1, who takes part in the activities below
    head: Headers  # head-1 of JC1
    other_head: Headers  # head-2 of JC2


@pytest.fixture
def who(token: TokenFactory) -> People:
    return People(
        office=auth(token, "office-1", Role.OFFICE),
        officer=auth(token, "officer-7", Role.OFFICER, section="JC1"),
        head=auth(token, "head-1", Role.SECTION_HEAD, section="JC1"),
        other_head=auth(token, "head-2", Role.SECTION_HEAD, section="JC2"),
    )


def ingested(
    *,
    activity: str | None,
    at: datetime,
    until: datetime,
    officer: str = "officer-7",
    section: str = "JC1",
    kind: str = "video",
    device: str = "dev-1",
    party_informed: bool | None = True,
    deadline_missed: bool = False,
) -> RecordingIngested:
    return RecordingIngested(
        record_id=uuid4(),
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
        captured_until=until,
        clock_drift_seconds=0.0,
        deadline_missed=deadline_missed,
        party_informed=party_informed,
    )


async def deliver(catalog: FastAPI, *events: RecordingIngested) -> None:
    state: ServiceState = catalog.state.service
    for event in events:
        await state.consumers.handle(encode(event, {}))


def head_of_jc1(head: str) -> SectionChanged:
    return SectionChanged(code="JC1", name="监管一科", head_officer_id=head, by="office-1")


async def new_activity(
    client: httpx.AsyncClient, office: Headers, *, start: datetime = MORNING, **overrides: Any
) -> str:
    """An activity of an hour from ``start`` (ended), created by the office; returns its id."""
    body = {
        "kind": "coercion",
        "type": "sealing_seizure",
        "matter": "查封违规储存的危险化学品",
        "section": "JC1",
        "officers": CREW[overrides.get("section", "JC1")],
        "started_at": start.isoformat(),
        "ended_at": (start + HOUR).isoformat(),
        **overrides,
    }
    response = await client.post("/api/v1/activities", json=body, headers=office)
    assert response.status_code == 201, response.text
    activity_id: str = response.json()["id"]
    return activity_id


async def report(
    client: httpx.AsyncClient, headers: Headers, activity_id: str | None = None, **query: Any
) -> Any:
    """The compliance of one activity, or the report over those matching ``query``."""
    path = "/api/v1" if activity_id is None else f"/api/v1/activities/{activity_id}"
    response = await client.get(f"{path}/compliance", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def interruption(device: str, stop: datetime, resume: datetime, reason: str) -> dict[str, Any]:
    return {
        "device_id": device,
        "stopped_at": stop.isoformat(),
        "resumed_at": resume.isoformat(),
        "reason": reason,
        "explanation": "电池耗尽，更换电池后继续录制",
    }


def codes(findings: list[dict[str, Any]]) -> list[str]:
    return [f["code"] for f in findings]


def pick(item: dict[str, Any], *keys: str) -> tuple[Any, ...]:
    return tuple(item[k] for k in keys)


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("error", "")


def at(**delta: float) -> datetime:
    return MORNING + timedelta(**delta)


NOT_FOUND = (404, "activity_not_found")
FORBIDDEN = (403, "forbidden")


@pytest.mark.req("B-4b")
@pytest.mark.req("D-6")
@pytest.mark.req("B-4a")
@pytest.mark.req("A-10")
async def test_the_recording_item_list_starts_from_the_regulations_defaults(
    client: httpx.AsyncClient, who: People
) -> None:
    response = await client.get("/api/v1/recording-duties", headers=who.officer)

    assert response.status_code == 200, response.text
    duties = {d["type"]: d for d in response.json()}
    assert set(duties) == {t.value for t in ActivityType}
    expected = {
        "sealing_seizure": ("查封扣押", "mandatory", "全过程音像记录"),
        "forced_demolition": ("强制拆除", "mandatory", "全过程音像记录"),
        "coercive_measure": ("行政强制措施", "mandatory", "全过程音像记录"),
        "case_venue": ("办案场所", "mandatory", "全过程音像记录"),
        "hearing": ("听证", "situational", "根据情况音像记录"),
        "document_service": ("文书送达", "text", "文字记录即可"),
    }
    for type_, labels in expected.items():
        entry = duties[type_]
        assert (entry["type_label"], entry["duty"], entry["duty_label"]) == labels
    for entry in duties.values():
        assert entry["configured"] is False
        assert entry["key_stages"], entry
        assert all(s["stage"] and s["how"] for s in entry["key_stages"])
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry["type_label"] + entry["duty_label"])


@pytest.mark.req("B-4b")
@pytest.mark.req("A-10")
async def test_the_office_sets_a_types_duty_and_its_activities_are_checked_against_it(
    client: httpx.AsyncClient, who: People
) -> None:
    inspection = await new_activity(client, who.office, **INSPECTION)
    before = await report(client, who.head, inspection)
    body = {"duty": "mandatory", "key_stages": [{"stage": "出示证件", "how": "全程录像"}]}
    path = "/api/v1/recording-duties"

    by_head = await client.put(f"{path}/daily_inspection", json=body, headers=who.head)
    unknown = await client.put(f"{path}/picnic", json=body, headers=who.office)
    set_ = await client.put(f"{path}/daily_inspection", json=body, headers=who.office)
    after = await report(client, who.head, inspection)
    listed = (await client.get(path, headers=who.head)).json()

    assert (before["duty"], before["compliant"], before["findings"]) == ("situational", True, [])
    assert error(by_head) == FORBIDDEN
    assert unknown.status_code == 422
    assert set_.status_code == 200, set_.text
    entry = set_.json()
    assert pick(entry, "type", "duty", "configured") == ("daily_inspection", "mandatory", True)
    assert (entry["type_label"], entry["duty_label"]) == ("日常执法检查", "全过程音像记录")
    assert entry["key_stages"] == [{"stage": "出示证件", "how": "全程录像"}]
    assert (after["duty"], after["duty_label"]) == ("mandatory", "全过程音像记录")
    assert (after["compliant"], codes(after["findings"])) == (False, ["no_recording"])
    assert after["findings"][0]["requirement"] == "A-10"
    assert {d["type"] for d in listed if d["configured"]} == {"daily_inspection"}


@pytest.mark.req("D-10a")
async def test_an_interruption_filed_by_those_in_charge_explains_the_gap(
    app: FastAPI, client: httpx.AsyncClient, who: People
) -> None:
    activity_id = await new_activity(client, who.office)
    stop, resume = at(minutes=20), at(minutes=30)
    await deliver(
        app,
        ingested(activity=activity_id, at=MORNING, until=stop),
        ingested(activity=activity_id, at=resume, until=at(hours=1)),
    )
    path = f"/api/v1/activities/{activity_id}/interruptions"

    def explanation(device: str) -> dict[str, Any]:
        return interruption(device, stop, resume, "battery")

    (gap,) = (await report(client, who.head, activity_id))["findings"]
    other_device = await client.post(path, json=explanation("dev-2"), headers=who.head)
    still = await report(client, who.head, activity_id)
    filed = await client.post(path, json=explanation("dev-1"), headers=who.officer)
    explained = await report(client, who.head, activity_id)
    by_office = await client.post(path, json=explanation("dev-3"), headers=who.office)
    listed = (await client.get(path, headers=who.officer)).json()

    assert pick(gap, "code", "device_id", "requirement") == ("unexplained_gap", "dev-1", "D-10a")
    assert [datetime.fromisoformat(gap[k]) for k in ("start", "end")] == [stop, resume]
    assert other_device.status_code == 201, other_device.text
    assert codes(still["findings"]) == ["unexplained_gap"]
    assert filed.status_code == 201, filed.text
    row = filed.json()
    assert pick(row, "reason_label", "filed_by", "device_id") == ("电量不足", "officer-7", "dev-1")
    assert (explained["compliant"], explained["findings"]) == (True, [])
    assert by_office.status_code == 201, by_office.text
    assert sorted(r["device_id"] for r in listed) == ["dev-1", "dev-2", "dev-3"]


@pytest.mark.req("D-10a")
async def test_only_those_in_charge_file_interruptions_and_they_must_make_sense(
    client: httpx.AsyncClient, token: TokenFactory, who: People
) -> None:
    activity_id = await new_activity(client, who.office)
    path = f"/api/v1/activities/{activity_id}/interruptions"
    body = interruption("dev-1", at(minutes=30), at(minutes=40), "weather")
    backwards = interruption("dev-1", at(minutes=30), at(minutes=20), "weather")
    # An officer of the section who took no part but sees its activities (as its custodian);
    # a plain officer who took no part does not see the activity at all.
    bystander = auth(token, "officer-6", Role.OFFICER, Role.CUSTODIAN, section="JC1")
    stranger = auth(token, "officer-9", Role.OFFICER, section="JC1")

    async def file(headers: Headers, data: dict[str, Any] = body) -> httpx.Response:
        return await client.post(path, json=data, headers=headers)

    assert error(await file(bystander)) == (403, "not_your_activity")
    assert error(await file(stranger)) == NOT_FOUND
    assert error(await file(who.other_head)) == NOT_FOUND
    assert (await file(who.officer, backwards)).status_code == 422
    assert (await client.get(path, headers=who.office)).json() == []
    ok = await file(who.officer)
    assert (ok.status_code, ok.json()["reason_label"]) == (201, "天气原因")


@pytest.mark.req("D-5")
@pytest.mark.req("A-5")
async def test_the_section_head_acknowledges_the_work_record_of_an_unrecorded_activity(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory, who: People
) -> None:
    deputy = auth(token, "head-1b", Role.SECTION_HEAD, section="JC1")
    activity_id = await new_activity(client, who.office)
    base = f"/api/v1/activities/{activity_id}/exemptions"
    work_record = {
        "reason": "explosion_hazard",
        "basis": "《安全生产执法音像记录规定》",
        "work_record": "现场为防爆区域，无防爆执法记录仪，未录像",
    }

    unrecorded = await report(client, who.head, activity_id)
    filed = await client.post(base, json=work_record, headers=who.officer)
    exemption = filed.json()
    ack = f"{base}/{exemption['id']}/acknowledge"
    pending = await report(client, who.head, activity_id)
    by_officer = await client.post(ack, headers=who.officer)
    by_office = await client.post(ack, headers=who.office)
    by_other_head = await client.post(ack, headers=who.other_head)
    first = await client.post(ack, headers=who.head)
    # head-1b stands in as JC1's head for a while (as the registry tells) and acknowledges again
    await tell(app, head_of_jc1("head-1b"))
    again = await client.post(ack, headers=deputy)
    await tell(app, head_of_jc1("head-1"))
    excused = await report(client, who.head, activity_id)
    unknown = await client.post(f"{base}/{uuid4()}/acknowledge", headers=who.head)
    (listed,) = (await client.get(base, headers=who.officer)).json()

    assert codes(unrecorded["findings"]) == ["no_recording"]
    assert filed.status_code == 201, filed.text
    assert exemption["reason_label"] == "易燃易爆区域无防爆设备"
    assert pick(exemption, "filed_by", "acknowledged_at") == ("officer-7", None)
    assert sorted(codes(pending["findings"])) == ["exemption_pending", "no_recording"]
    assert error(by_officer) == error(by_office) == (403, "not_section_head")
    assert error(by_other_head) == NOT_FOUND  # another section's: as good as absent
    assert (first.status_code, first.json()["acknowledged_by"]) == (200, "head-1")
    assert again.status_code == 200, again.text
    assert again.json()["acknowledged_by"] == "head-1"  # the first acknowledgement stands
    assert again.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    assert (excused["compliant"], excused["findings"]) == (True, [])
    assert error(unknown) == (404, "exemption_not_found")
    assert (listed["id"], listed["acknowledged_by"]) == (exemption["id"], "head-1")


@pytest.mark.req("A-5")
async def test_a_head_lists_the_exemptions_waiting_for_the_acknowledgement(
    client: httpx.AsyncClient, who: People
) -> None:
    work_record = {
        "reason": "explosion_hazard",
        "basis": "《安全生产执法音像记录规定》",
        "work_record": "现场为防爆区域，未录像",
    }
    ids = []
    for matter in ("查封甲仓库", "查封乙仓库"):
        activity_id = await new_activity(client, who.office, matter=matter)
        path = f"/api/v1/activities/{activity_id}/exemptions"
        filed = await client.post(path, json=work_record, headers=who.officer)
        assert filed.status_code == 201, filed.text
        ids.append((path, filed.json()["id"]))
    first_path, first_id = ids[0]
    await client.post(f"{first_path}/{first_id}/acknowledge", headers=who.head)

    async def listed(headers: Headers, **params: str) -> dict[str, Any]:
        response = await client.get("/api/v1/exemptions", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    pending = await listed(who.head, pending="true")
    done = await listed(who.head, pending="false")
    everything = await listed(who.office)

    assert pending["total"] == 1
    (waiting,) = pending["items"]
    assert (waiting["matter"], waiting["section"], waiting["acknowledged_at"]) == (
        "查封乙仓库",
        "JC1",
        None,
    )
    assert waiting["reason_label"] == "易燃易爆区域无防爆设备"
    assert [e["matter"] for e in done["items"]] == ["查封甲仓库"]
    assert everything["total"] == 2
    assert (await listed(who.other_head))["total"] == 0  # another section's are not theirs


async def _bureau(catalog: FastAPI, client: httpx.AsyncClient, office: Headers) -> list[str]:
    """A JC1 seizure with a photo but no audio or video (officers 7 and 8); a JC2 seizure fully
    recorded by officer-9; next day, a JC1 daily inspection by officer-8 whose party was not
    told; and, on the first day, a JC1 recording of officer-7 tied to nothing, uploaded late."""
    unrecorded = await new_activity(client, office)
    recorded = await new_activity(client, office, section="JC2", officers=["officer-9"])
    day_2 = at(days=1)
    untold = await new_activity(client, office, start=day_2, officers=["officer-8"], **INSPECTION)
    await deliver(
        catalog,
        ingested(
            activity=recorded, at=MORNING, until=at(hours=1), officer="officer-9", section="JC2"
        ),
        ingested(
            activity=untold, at=day_2, until=day_2 + HOUR, officer="officer-8", party_informed=False
        ),
        ingested(activity=None, at=at(hours=3), until=at(hours=4), deadline_missed=True),
        ingested(activity=unrecorded, at=at(minutes=5), until=at(minutes=5), kind="photo"),
    )
    return [unrecorded, recorded, untold]


def groups(entries: list[dict[str, Any]]) -> dict[str, tuple[int, int, dict[str, int]]]:
    return {g["key"]: (g["activities"], g["compliant_activities"], g["findings"]) for g in entries}


@pytest.mark.req("A-10")
@pytest.mark.req("A-3")
@pytest.mark.req("B-12")
async def test_the_report_counts_findings_by_section_and_officer(
    app: FastAPI, client: httpx.AsyncClient, who: People
) -> None:
    unrecorded, _, untold = await _bureau(app, client, who.office)

    everything = await report(client, who.office)

    assert (everything["activities"], everything["compliant_activities"]) == (3, 1)
    assert everything["rate"] == pytest.approx(0.3333)
    counts = {"late_upload": 1, "no_recording": 1, "party_not_informed": 1, "unassigned": 1}
    assert everything["counts"] == counts
    assert groups(everything["by_section"]) == {"JC1": (2, 0, counts), "JC2": (1, 1, {})}
    assert groups(everything["by_officer"]) == {
        "officer-7": (1, 0, {"late_upload": 1, "no_recording": 1, "unassigned": 1}),
        "officer-8": (2, 0, {"no_recording": 1, "party_not_informed": 1}),
        "officer-9": (1, 1, {}),
    }
    by_code = {f["code"]: f for f in everything["findings"]}
    assert by_code["no_recording"]["activity_id"] == unrecorded
    assert by_code["party_not_informed"]["activity_id"] == untold
    loose = by_code["unassigned"]
    assert pick(loose, "activity_id", "officer_ids", "section") == (None, ["officer-7"], "JC1")
    assert loose["label"] == "未关联执法活动"


@pytest.mark.req("B-12")
async def test_the_report_is_filtered_by_period_section_and_officer(
    app: FastAPI, client: httpx.AsyncClient, who: People
) -> None:
    await _bureau(app, client, who.office)
    # A loose recording outside the first day; on the fourth, officer-8 alone forgets to tell the
    # party, which is no fault of officer-7's.
    day_4 = at(days=3)
    shared = await new_activity(client, who.office, start=day_4)
    await deliver(
        app,
        ingested(activity=None, at=at(days=2), until=at(days=2, hours=1)),
        ingested(
            activity=shared, at=day_4, until=day_4 + HOUR, officer="officer-8", party_informed=False
        ),
    )
    first_day = {"started_from": MORNING.isoformat(), "started_to": at(days=1).isoformat()}
    fourth_day = {"started_from": day_4.isoformat(), "started_to": at(days=4).isoformat()}

    day = await report(client, who.office, **first_day)
    jc2 = await report(client, who.office, section="JC2")
    officer_8 = await report(client, who.office, officer_id="officer-8")
    officer_7 = await report(client, who.office, officer_id="officer-7", **fourth_day)
    later = await report(client, who.office, started_from=at(days=7).isoformat())
    naive = await client.get(
        "/api/v1/compliance", params={"started_from": "2026-11-27T09:00:00"}, headers=who.office
    )

    assert (day["activities"], day["compliant_activities"]) == (2, 1)
    assert sorted(codes(day["findings"])) == ["late_upload", "no_recording", "unassigned"]
    assert (jc2["activities"], jc2["rate"], jc2["findings"]) == (1, 1.0, [])
    assert (officer_8["activities"], officer_8["compliant_activities"]) == (3, 0)
    assert officer_8["counts"] == {"no_recording": 1, "party_not_informed": 2}
    assert all("officer-8" in f["officer_ids"] for f in officer_8["findings"])
    assert (officer_7["activities"], officer_7["rate"], officer_7["findings"]) == (1, 1.0, [])
    assert groups(officer_7["by_section"]) == {"JC1": (1, 1, {})}
    assert (later["activities"], later["rate"], later["findings"]) == (0, None, [])
    assert (later["by_section"], later["by_officer"]) == ([], [])
    assert error(naive) == (400, "invalid_query")


@pytest.mark.req("B-12")
async def test_each_caller_reports_on_what_they_may_see(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory, who: People
) -> None:
    await _bureau(app, client, who.office)

    own = await report(client, who.head)
    elsewhere = await report(client, who.head, section="JC2")
    refused = [
        await client.get("/api/v1/compliance", headers=auth(token, sub, role, section="JC1"))
        for sub, role in (("dev-1", Role.DEVICE), ("lawyer-1", Role.EXTERNAL))
    ]

    assert own["activities"] == 2
    assert [g["key"] for g in own["by_section"]] == ["JC1"]
    assert {f["section"] for f in own["findings"]} == {"JC1"}
    assert "unassigned" in codes(own["findings"])
    assert (elsewhere["activities"], elsewhere["rate"], elsewhere["findings"]) == (0, None, [])
    assert [error(r) for r in refused] == [FORBIDDEN, FORBIDDEN]
