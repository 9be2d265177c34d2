"""What an access request names, resolved into records for the access gateway (C-6b): records by
id, an activity's, every activity's of a case number, an enterprise's, or all of those together;
once each, captured first; ids that are no record the caller may see listed as missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from quancheng.catalog import config
from quancheng.common.auth import Clearance, Role
from quancheng.common.events import RecordingIngested, encode
from quancheng.common.service import ServiceState
from quancheng.common.testing.kit import TokenFactory, auth

Headers = dict[str, str]
PATH = "/api/v1/records/selection"
MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
CASE = "江应急强〔2026〕7号"
OTHER_CASE = "江应急强〔2026〕8号"
ENTERPRISE = {"name": "华南化工（广州）有限公司", "credit_code": "91350100M000100Y43"}
LATE_A = UUID("00000000-0000-4000-8000-00000000000a")
LATE_B = UUID("ffffffff-ffff-4fff-bfff-ffffffffffff")


@dataclass(frozen=True)
class Bureau:
    """An enterprise; a case of two activities (the first for the enterprise), another case's
    activity for it, and an activity of no case and no enterprise. Their recordings, by capture
    time: ``loose`` (08:00, tied to no activity), ``second`` (09:00, the case's second
    activity), ``first`` (10:00, its first), ``other`` (11:00, the other case's), ``late_a`` and
    ``late_b`` (both 12:00, the caseless activity's) and ``undated`` (the caseless one's, no
    capture time)."""

    enterprise_id: str
    first_activity: str
    second_activity: str
    other_activity: str
    caseless_activity: str
    loose: str
    second: str
    first: str
    other: str
    late_a: str
    late_b: str
    undated: str


async def ingest(
    catalog: FastAPI,
    filename: str,
    activity: str | None,
    at: datetime | None,
    record_id: UUID | None = None,
) -> str:
    """A JC1 recording as ingest announces it."""
    state: ServiceState = catalog.state.service
    event = RecordingIngested(
        record_id=record_id or uuid4(),
        upload_id=uuid4().hex,
        object_key=f"sections/JC1/originals/{filename}",
        sha256="ab" * 32,
        size=4096,
        filename=filename,
        kind="video",
        device_id="dev-1",
        officer_id="officer-7",
        activity_id=activity,
        section="JC1",
        captured_at=at,
        captured_until=None if at is None else at + timedelta(minutes=30),
    )
    await state.consumers.handle(encode(event, {}))
    return str(event.record_id)


async def activity(
    client: httpx.AsyncClient, office: Headers, start: datetime, **extra: Any
) -> str:
    body = {
        "kind": "inspection",
        "type": "daily_inspection",
        "matter": "危险化学品储存检查",
        "section": "JC1",
        "officers": ["officer-7"],
        "started_at": start.isoformat(),
        **extra,
    }
    created = await client.post("/api/v1/activities", json=body, headers=office)
    assert created.status_code == 201, created.text
    activity_id: str = created.json()["id"]
    return activity_id


@pytest.fixture
def office(token: TokenFactory) -> Headers:
    """The office, cleared for secret: it sets the bureau up and classifies recordings."""
    return auth(token, "office-1", Role.OFFICE, clearance=Clearance.SECRET)


@pytest.fixture
def gateway(token: TokenFactory) -> Headers:
    """The access gateway's service token, cleared for everything."""
    return auth(token, "access-gateway", Role.INTEGRATION, clearance=Clearance.TOP_SECRET)


@pytest.fixture
async def bureau(app: FastAPI, client: httpx.AsyncClient, office: Headers) -> Bureau:
    enterprise = await client.post("/api/v1/enterprises", json=ENTERPRISE, headers=office)
    assert enterprise.status_code == 201, enterprise.text
    enterprise_id = enterprise.json()["id"]
    first_activity = await activity(
        client, office, MORNING, case_number=CASE, enterprise_id=enterprise_id
    )
    second_activity = await activity(client, office, MORNING + timedelta(days=1), case_number=CASE)
    other_activity = await activity(
        client, office, MORNING, case_number=OTHER_CASE, enterprise_id=enterprise_id
    )
    caseless_activity = await activity(client, office, MORNING)
    at = MORNING.replace
    return Bureau(
        enterprise_id=enterprise_id,
        first_activity=first_activity,
        second_activity=second_activity,
        other_activity=other_activity,
        caseless_activity=caseless_activity,
        loose=await ingest(app, "未关联.mp4", None, at(hour=8)),
        second=await ingest(app, "复查.mp4", second_activity, at(hour=9)),
        first=await ingest(app, "检查.mp4", first_activity, at(hour=10)),
        other=await ingest(app, "另案.mp4", other_activity, at(hour=11)),
        # Stored in the reverse of their ids' order, which must break their tie.
        late_b=await ingest(app, "午间二.mp4", caseless_activity, at(hour=12), LATE_B),
        late_a=await ingest(app, "午间一.mp4", caseless_activity, at(hour=12), LATE_A),
        undated=await ingest(app, "无时间.mp4", caseless_activity, None),
    )


async def selected(client: httpx.AsyncClient, who: Headers, **body: Any) -> dict[str, Any]:
    response = await client.post(PATH, json=body, headers=who)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def ids(answer: dict[str, Any]) -> list[str]:
    return [item["record_id"] for item in answer["items"]]


@pytest.mark.req("C-6b")
async def test_records_named_by_id_come_in_capture_order_with_undated_ones_last(
    client: httpx.AsyncClient, gateway: Headers, bureau: Bureau
) -> None:
    answer = await selected(
        client, gateway, record_ids=[bureau.undated, bureau.first, bureau.loose]
    )

    assert ids(answer) == [bureau.loose, bureau.first, bureau.undated]
    assert answer["missing"] == []


@pytest.mark.req("C-6b")
async def test_an_activity_names_its_records_the_same_capture_time_ordered_by_id(
    client: httpx.AsyncClient, gateway: Headers, bureau: Bureau
) -> None:
    answer = await selected(client, gateway, activity_id=bureau.caseless_activity)

    assert ids(answer) == [bureau.late_a, bureau.late_b, bureau.undated]
    assert {item["activity_id"] for item in answer["items"]} == {bureau.caseless_activity}
    assert {item["case_number"] for item in answer["items"]} == {None}


@pytest.mark.req("C-6b")
async def test_a_case_number_names_the_records_of_every_activity_under_it(
    client: httpx.AsyncClient, gateway: Headers, bureau: Bureau
) -> None:
    answer = await selected(client, gateway, case_number=f"  {CASE} ")

    assert ids(answer) == [bureau.second, bureau.first]
    by_id = {item["record_id"]: item for item in answer["items"]}
    assert by_id[bureau.second]["activity_id"] == bureau.second_activity
    assert by_id[bureau.first]["activity_id"] == bureau.first_activity
    assert {item["case_number"] for item in answer["items"]} == {CASE}


@pytest.mark.req("C-6b")
async def test_an_enterprise_names_the_records_of_its_activities(
    client: httpx.AsyncClient, gateway: Headers, bureau: Bureau
) -> None:
    answer = await selected(client, gateway, enterprise_id=bureau.enterprise_id)

    assert ids(answer) == [bureau.first, bureau.other]
    assert [item["case_number"] for item in answer["items"]] == [CASE, OTHER_CASE]
    assert {item["enterprise_id"] for item in answer["items"]} == {bureau.enterprise_id}


@pytest.mark.req("C-6b")
async def test_everything_named_at_once_gives_each_record_once_in_capture_order(
    client: httpx.AsyncClient, gateway: Headers, bureau: Bureau
) -> None:
    answer = await selected(
        client,
        gateway,
        record_ids=[bureau.first, bureau.loose, bureau.first],
        activity_id=bureau.first_activity,
        case_number=CASE,
        enterprise_id=bureau.enterprise_id,
    )

    assert ids(answer) == [bureau.loose, bureau.second, bureau.first, bureau.other]
    assert answer["missing"] == []


@pytest.mark.req("C-6b")
async def test_an_item_says_what_the_gateway_judges_and_serves_the_record_by(
    client: httpx.AsyncClient, office: Headers, gateway: Headers, bureau: Bureau
) -> None:
    described = await client.put(
        f"/api/v1/records/{bureau.first}/archival",
        json={"handling_section": "FG1", "secrecy": "secret", "privacy_flags": ["人脸"]},
        headers=office,
    )
    assert described.status_code == 200, described.text

    answer = await selected(client, gateway, case_number=CASE)

    second, first = answer["items"]
    assert first == {
        "record_id": bureau.first,
        "filename": "检查.mp4",
        "kind": "video",
        "size": 4096,
        "sha256": "ab" * 32,
        "object_key": "sections/JC1/originals/检查.mp4",
        "section": "JC1",
        "handling_section": "FG1",
        "secrecy": "secret",
        "privacy_flags": ["人脸"],
        "activity_id": bureau.first_activity,
        "case_number": CASE,
        "enterprise_id": bureau.enterprise_id,
        "captured_at": "2026-11-27T10:00:00Z",
        "captured_until": "2026-11-27T10:30:00Z",
        "archived_at": None,
    }
    # Not described: its own section stands for the handling section.
    assert (second["record_id"], second["handling_section"]) == (bureau.second, "JC1")
    assert (second["secrecy"], second["enterprise_id"]) == ("internal", None)


@pytest.mark.req("C-6b")
async def test_ids_of_no_record_or_of_one_above_the_tokens_clearance_are_missing(
    client: httpx.AsyncClient, token: TokenFactory, office: Headers, bureau: Bureau
) -> None:
    described = await client.put(
        f"/api/v1/records/{bureau.first}/archival", json={"secrecy": "secret"}, headers=office
    )
    assert described.status_code == 200, described.text
    unknown = str(uuid4())
    internal = auth(token, "access-gateway", Role.INTEGRATION, clearance=Clearance.INTERNAL)
    named = [unknown, bureau.first, bureau.loose, unknown]

    answer = await selected(client, internal, record_ids=named, case_number=CASE)

    assert ids(answer) == [bureau.loose, bureau.second]
    assert answer["missing"] == [unknown, bureau.first]
    cleared = auth(token, "access-gateway", Role.INTEGRATION, clearance=Clearance.SECRET)
    answer = await selected(client, cleared, record_ids=named, case_number=CASE)
    assert ids(answer) == [bureau.loose, bureau.second, bureau.first]
    assert answer["missing"] == [unknown]


@pytest.mark.req("C-6b")
async def test_an_activity_case_or_enterprise_that_matches_nothing_names_no_records(
    client: httpx.AsyncClient, gateway: Headers, bureau: Bureau
) -> None:
    for body in (
        {"activity_id": str(uuid4())},
        {"case_number": "江应急强〔2026〕99号"},
        {"enterprise_id": str(uuid4())},
    ):
        assert await selected(client, gateway, **body) == {"items": [], "missing": []}, body


@pytest.mark.req("C-6b")
@pytest.mark.parametrize(
    "roles",
    [(Role.OFFICE,), (Role.ARCHIVIST,), (Role.SUPERVISOR,), (Role.SECTION_HEAD, Role.OFFICER)],
)
async def test_only_a_service_account_may_resolve_a_selection(
    client: httpx.AsyncClient, token: TokenFactory, bureau: Bureau, roles: tuple[Role, ...]
) -> None:
    who = auth(token, "someone-1", *roles, section="JC1", clearance=Clearance.TOP_SECRET)

    refused = await client.post(PATH, json={"record_ids": [bureau.first]}, headers=who)

    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    assert bureau.first not in refused.text
    anonymous = await client.post(PATH, json={"record_ids": [bureau.first]})
    assert anonymous.status_code == 401


@pytest.mark.req("C-6b")
async def test_a_request_that_names_nothing_is_refused_in_chinese_too(
    client: httpx.AsyncClient, gateway: Headers, bureau: Bureau
) -> None:
    nothing: list[dict[str, Any]] = [{}, {"record_ids": []}, {"case_number": None}]
    for body in nothing:
        refused = await client.post(PATH, json=body, headers=gateway)
        assert refused.status_code == 422, body
        assert "请至少指定记录、执法活动、案号或企业之一" in refused.json()["message_zh"], body

    malformed: list[tuple[dict[str, Any], str]] = [
        ({"case_number": "   "}, "body.case_number"),
        ({"case_number": "号" * 65}, "body.case_number"),
        ({"record_ids": [str(uuid4()) for _ in range(501)]}, "body.record_ids"),
        ({"record_ids": [bureau.first], "section": "JC1"}, "body.section"),
    ]
    for body, field in malformed:
        refused = await client.post(PATH, json=body, headers=gateway)
        assert refused.status_code == 422, body
        assert [p["field"] for p in refused.json()["problems"]] == [field], body


@pytest.mark.req("C-6b")
async def test_a_selection_of_more_records_than_the_limit_is_refused(
    client: httpx.AsyncClient, gateway: Headers, bureau: Bureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "MAX_SELECTION", 3)
    assert len(ids(await selected(client, gateway, activity_id=bureau.caseless_activity))) == 3

    refused = await client.post(
        PATH,
        json={"record_ids": [bureau.loose], "activity_id": bureau.caseless_activity},
        headers=gateway,
    )

    assert (refused.status_code, refused.json()["error"]) == (422, "too_many_records")
    assert "names 4 records, more than the 3 allowed" in refused.json()["message"]
    assert "共有 4 条记录，超过上限 3 条" in refused.json()["message_zh"]
    assert bureau.loose not in refused.text
