"""Statistics per section, officer, type and month (E-13, E-14), the order in which to inspect
enterprises (E-15), and an enterprise's whole file with its activities (一企一档, E-3, E-16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from quancheng.catalog.models import credit_code_problem
from quancheng.common.auth import Role
from quancheng.common.events import RecordingIngested, encode
from quancheng.common.service import ServiceState
from quancheng.common.testing.kit import TokenFactory, auth

Headers = dict[str, str]
Client = tuple[FastAPI, httpx.AsyncClient]
CODES = (
    "91350100M000100Y43",
    "91110000600001760P",
    "91440300708461136T",
    "91310000132200821H",
    "91440112MA5CXL0Q3L",
    "91440115MA59D8E104",
)


@pytest.fixture
def client(app: FastAPI, client: httpx.AsyncClient) -> Client:
    """The catalog and a client of it, which the tests here take together."""
    return app, client


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def activity(http: httpx.AsyncClient, office: Headers, **fields: Any) -> str:
    start: datetime = fields.pop("start")
    hours: float | None = fields.pop("hours", None)
    body = {
        "kind": "inspection",
        "type": "daily_inspection",
        "matter": "危险化学品安全检查",
        "section": "JC1",
        "officers": ["officer-7"],
        "started_at": start.isoformat(),
        "ended_at": None if hours is None else (start + timedelta(hours=hours)).isoformat(),
        **fields,
    }
    created = await http.post("/api/v1/activities", json=body, headers=office)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def deliver(
    app: FastAPI,
    activity_id: str,
    *,
    start: datetime,
    minutes: float = 0,
    size: int,
    kind: str = "video",
    party_informed: bool | None = True,
    source: UUID | None = None,
) -> UUID:
    state: ServiceState = app.state.service
    event = RecordingIngested(
        record_id=uuid4(),
        upload_id=uuid4().hex,
        object_key="k",
        sha256="ab" * 32,
        size=size,
        filename=f"现场.{'jpg' if kind == 'photo' else 'mp4'}",
        kind=kind,
        device_id="dev-1",
        officer_id="officer-7",
        activity_id=activity_id,
        section="JC1",
        captured_at=start,
        captured_until=start + timedelta(minutes=minutes) if minutes else None,
        party_informed=party_informed,
        source_record_id=source,
        source_range=None if source is None else "00:00:00-00:10:00",
    )
    await state.consumers.handle(encode(event, {}))
    return event.record_id


async def enterprise(
    http: httpx.AsyncClient, office: Headers, name: str, code: str, **more: Any
) -> Any:
    body = {"name": name, "credit_code": code, **more}
    created = await http.post("/api/v1/enterprises", json=body, headers=office)
    assert created.status_code == 201, created.text
    return created.json()


async def statistics(http: httpx.AsyncClient, headers: Headers, **query: Any) -> Any:
    response = await http.get("/api/v1/statistics", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    names = ("label", "activities", "activity_hours", "records", "recorded_hours", "bytes")
    more = ("hidden_dangers_found", "violations_found", "compliant_activities", "compliance_rate")
    return tuple(row[n] for n in names + more)


async def two_sections(app: FastAPI, http: httpx.AsyncClient, office: Headers) -> None:
    """JC1: a sealing fully recorded (compliant), one not recorded at all (no_recording), an
    inspection whose party was not told (party_not_informed), an October inspection with nothing
    to record (compliant). JC2: a hearing fully recorded, a document service still open."""
    sealing = {"kind": "coercion", "type": "sealing_seizure", "matter": "查封仓库"}
    recorded = await activity(
        http, office, **sealing, start=at("2026-11-23T01:00"), hours=2,
        officers=["officer-7", "officer-8"], hidden_dangers_found=2, violations_found=1,
    )  # fmt: skip
    await deliver(app, recorded, start=at("2026-11-23T01:00"), minutes=120, size=300_000_000)
    await deliver(app, recorded, start=at("2026-11-23T01:30"), size=2_000_000, kind="photo")
    # 2026-11-01 00:00 in Shanghai: the first moment of November there.
    await activity(
        http, office, **sealing, start=at("2026-10-31T16:00"), hours=1.5, hidden_dangers_found=1
    )
    # 2026-12-01 00:00 in Shanghai, though still November in UTC.
    uninformed = await activity(
        http, office, start=at("2026-11-30T16:00"), hours=1, officers=["officer-8"],
        hidden_dangers_found=3,
    )  # fmt: skip
    await deliver(
        app, uninformed, start=at("2026-11-30T16:00"), minutes=30, size=100_000_000,
        party_informed=None,
    )  # fmt: skip
    # 2026-10-31 23:59 in Shanghai.
    await activity(http, office, start=at("2026-10-31T15:59"), hours=1, hidden_dangers_found=5)
    hearing = await activity(
        http, office, kind="penalty", type="hearing", matter="听证", section="JC2",
        officers=["officer-9"], start=at("2026-11-25T02:00"), hours=1.25, violations_found=2,
    )  # fmt: skip
    await deliver(
        app, hearing, start=at("2026-11-25T02:00"), minutes=75, size=50_000_000, kind="audio"
    )
    await activity(
        http, office, type="document_service", matter="送达", section="JC2",
        officers=["officer-9"], start=at("2026-11-26T06:00"),
    )  # fmt: skip


@pytest.mark.req("B-1")
@pytest.mark.req("E-13")
@pytest.mark.req("E-14")
async def test_statistics_per_section_type_officer_and_month(
    client: Client, token: TokenFactory
) -> None:
    app, http = client
    office = auth(token, "office-1", Role.OFFICE)
    await two_sections(app, http, office)

    by_section = await statistics(http, office, group_by="section")

    assert (by_section["group_by"], by_section["group_label"]) == ("section", "科室")
    # Labelled with the names the registry gave, keyed by code.
    assert [r["key"] for r in by_section["rows"]] == ["JC1", "JC2"]
    assert [figures(r) for r in by_section["rows"]] == [
        ("监管一科", 4, 5.5, 3, 2.5, 402_000_000, 11, 1, 2, 0.5),
        ("监管二科", 2, 1.25, 1, 1.25, 50_000_000, 0, 2, 2, 1.0),
    ]
    assert by_section["total"]["key"] == "total"
    assert figures(by_section["total"]) == ("合计", 6, 6.75, 4, 3.75, 452_000_000, 11, 3, 4, 0.6667)

    by_type = await statistics(http, office, group_by="type")
    assert [(r["key"], r["label"], r["activities"]) for r in by_type["rows"]] == [
        ("daily_inspection", "日常执法检查", 2),
        ("document_service", "文书送达", 1),
        ("hearing", "听证", 1),
        ("sealing_seizure", "查封扣押", 2),
    ]
    # An activity counts under each of its officers; the total counts it once.
    by_officer = await statistics(http, office, group_by="officer")
    assert [(r["key"], r["label"], r["activities"]) for r in by_officer["rows"]] == [
        ("officer-7", "李明", 3),
        ("officer-8", "王芳", 2),
        ("officer-9", "张伟", 2),
    ]
    assert by_officer["total"]["activities"] == 6
    # Months as Shanghai reads its calendar, not UTC.
    by_month = await statistics(http, office, group_by="month")
    assert by_month["group_label"] == "月份"
    assert [(r["key"], r["activities"]) for r in by_month["rows"]] == [
        ("2026-10", 1),
        ("2026-11", 4),
        ("2026-12", 1),
    ]

    # November in Shanghai: from its first moment (included) to December's (excluded).
    november = await statistics(
        http,
        office,
        group_by="section",
        started_from="2026-11-01T00:00:00+08:00",
        started_to="2026-12-01T00:00:00+08:00",
    )
    assert [figures(r) for r in november["rows"]] == [
        ("监管一科", 2, 3.5, 2, 2.0, 302_000_000, 3, 1, 1, 0.5),
        ("监管二科", 2, 1.25, 1, 1.25, 50_000_000, 0, 2, 2, 1.0),
    ]
    assert november["total"]["activities"] == 4


@pytest.mark.req("E-13")
@pytest.mark.req("E-14")
async def test_statistics_refuse_bad_queries_and_strangers_and_keep_to_the_section(
    client: Client, token: TokenFactory
) -> None:
    app, http = client
    office = auth(token, "office-1", Role.OFFICE)
    await two_sections(app, http, office)
    url = "/api/v1/statistics"

    naive = await http.get(url, params={"started_from": "2026-11-01T00:00:00"}, headers=office)
    assert (naive.status_code, naive.json()["error"]) == (400, "invalid_query")
    assert (await http.get(url, params={"group_by": "weather"}, headers=office)).status_code == 422

    head_2 = auth(token, "head-2", Role.SECTION_HEAD, section="JC2")
    seen = await statistics(http, head_2, group_by="section")
    assert [r["key"] for r in seen["rows"]] == ["JC2"]
    assert figures(seen["total"]) == ("合计", 2, 1.25, 1, 1.25, 50_000_000, 0, 2, 2, 1.0)

    for role in (Role.DEVICE, Role.EXTERNAL):
        stranger = auth(token, "someone", role, section="JC1")
        for path in (url, f"{url}/enterprise-ranking"):
            refused = await http.get(path, headers=stranger)
            assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")


@pytest.mark.req("E-13")
async def test_a_clip_cut_from_a_recording_adds_no_recorded_hours(
    client: Client, token: TokenFactory
) -> None:
    app, http = client
    office = auth(token, "office-1", Role.OFFICE)
    start = at("2026-11-23T01:00")
    inspection = await activity(http, office, start=start, hours=1)
    original = await deliver(app, inspection, start=start, minutes=60, size=900)
    await deliver(app, inspection, start=start, minutes=10, size=100, source=original)

    total = (await statistics(http, office))["total"]

    # The clip is an item of the file (E-4), not another ten minutes of footage.
    assert (total["records"], total["bytes"], total["recorded_hours"]) == (2, 1000, 1.0)
    assert total["compliant_activities"] == 1


@pytest.mark.req("E-15")
async def test_enterprises_are_ranked_for_differentiated_inspection(
    client: Client, token: TokenFactory
) -> None:
    _, http = client
    office = auth(token, "office-1", Role.OFFICE)
    assert [credit_code_problem(c) for c in CODES] == [None] * 6
    names = ["甲化工", "乙化工", "丙化工", "丁化工", "戊化工", "己化工"]
    hazards = {"丙化工": ["液氯储罐区", "液氨储罐区"]}
    ids = {
        n: (await enterprise(http, office, n, c, major_hazard_sources=hazards.get(n, [])))["id"]
        for n, c in zip(names, CODES, strict=True)
    }

    async def inspect(name: str, day: int, **found: Any) -> None:
        start = at(f"2026-11-{day:02d}T02:00")
        await activity(http, office, enterprise_id=ids[name], start=start, hours=1, **found)

    await inspect("甲化工", 10, violations_found=1)
    await inspect("乙化工", 11, hidden_dangers_found=2)
    await inspect("乙化工", 12, type="complaint", hidden_dangers_found=1)
    await inspect("丙化工", 20)  # no findings, but two major hazard sources
    await inspect("戊化工", 2)  # inspected long ago
    await inspect("己化工", 21)  # inspected lately
    await inspect("甲化工", 1, hidden_dangers_found=9)  # before the period
    # 丁化工: never inspected.

    response = await http.get(
        "/api/v1/statistics/enterprise-ranking",
        params={"started_from": "2026-11-02T00:00:00+08:00"},
        headers=office,
    )

    assert response.status_code == 200, response.text
    ranking = response.json()
    assert [
        (
            r["rank"], r["name"], r["inspections"], r["violations_found"],
            r["hidden_dangers_found"], r["major_hazard_sources"], r["priority"],
        )
        for r in ranking
    ] == [
        (1, "甲化工", 1, 1, 0, 0, "重点"),
        (2, "乙化工", 2, 0, 3, 0, "重点"),
        (3, "丙化工", 1, 0, 0, 2, "一般"),
        (4, "丁化工", 0, 0, 0, 0, "一般"),
        (5, "戊化工", 1, 0, 0, 0, "一般"),
        (6, "己化工", 1, 0, 0, 0, "一般"),
    ]  # fmt: skip
    last = {r["name"]: r["last_inspected_at"] for r in ranking}
    assert last["丁化工"] is None
    assert datetime.fromisoformat(last["乙化工"]) == at("2026-11-12T02:00")
    assert ranking[0]["enterprise_id"] == ids["甲化工"]
    naive = await http.get(
        "/api/v1/statistics/enterprise-ranking",
        params={"started_to": "2026-12-01T00:00:00"},
        headers=office,
    )
    assert (naive.status_code, naive.json()["error"]) == (400, "invalid_query")


BASE_DATA = {
    "legal_representative": "陈建国",
    "address": "广州市黄埔区石化路 88 号",
    "contact": "020-82000000",
    "industry": "危险化学品",
    "region": "黄埔区",
    "hazardous_processes": ["氯化工艺"],
    "major_hazard_sources": ["液氯储罐区（二级）"],
    "risk": {"level": "较大风险", "open_hidden_dangers": 2},
    "supervision": {"安全评价": "2025年度合格", "培训": "全员培训", "事故调查": []},
}


@pytest.mark.req("E-2")
@pytest.mark.req("E-3")
@pytest.mark.req("E-16")
async def test_an_enterprise_file_holds_its_base_data_and_the_activities_one_may_see(
    client: Client, token: TokenFactory
) -> None:
    app, http = client
    office = auth(token, "office-1", Role.OFFICE)
    huangpu = await enterprise(http, office, "黄埔石化有限公司", CODES[0], **BASE_DATA)
    fetched = await http.get(f"/api/v1/enterprises/{huangpu['id']}", headers=office)
    assert fetched.json() == huangpu
    assert huangpu["supervision"] == BASE_DATA["supervision"]
    assert (huangpu["legal_representative"], huangpu["region"]) == ("陈建国", "黄埔区")
    other = {**BASE_DATA, "region": "南沙区"}
    await enterprise(http, office, "南沙化工有限公司", CODES[1], **other)
    fireworks = {**BASE_DATA, "industry": "烟花爆竹", "supervision": {}}
    await enterprise(http, office, "黄埔烟花有限公司", CODES[2], **fireworks)

    inspection = await activity(
        http, office, enterprise_id=huangpu["id"], start=at("2026-11-23T01:00"), hours=1,
        hidden_dangers_found=2, violations_found=1,
    )  # fmt: skip
    await deliver(app, inspection, start=at("2026-11-23T01:00"), minutes=60, size=1000)
    await deliver(app, inspection, start=at("2026-11-23T01:10"), size=24, kind="photo")
    hearing = await activity(
        http, office, kind="penalty", type="hearing", matter="听证", section="JC2",
        officers=["officer-9"], enterprise_id=huangpu["id"], start=at("2026-11-25T02:00"),
        hours=1, violations_found=1,
    )  # fmt: skip
    await deliver(app, hearing, start=at("2026-11-25T02:00"), minutes=60, size=500, kind="audio")
    await activity(http, office, start=at("2026-11-26T02:00"), hidden_dangers_found=7)  # no firm

    url = f"/api/v1/enterprises/{huangpu['id']}/file"
    whole = (await http.get(url, headers=office)).json()
    assert whole["enterprise"] == huangpu
    assert [a["id"] for a in whole["activities"]] == [hearing, inspection]  # newest first
    totals = ("records", "bytes", "hidden_dangers_found", "violations_found")
    assert tuple(whole[k] for k in totals) == (3, 1524, 2, 2)

    head_2 = auth(token, "head-2", Role.SECTION_HEAD, section="JC2")
    theirs = await http.get(url, headers=head_2)
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["enterprise"]["name"] == "黄埔石化有限公司"
    assert [a["id"] for a in theirs.json()["activities"]] == [hearing]
    assert tuple(theirs.json()[k] for k in totals) == (1, 500, 0, 1)
    missing = await http.get(f"/api/v1/enterprises/{uuid4()}/file", headers=office)
    assert (missing.status_code, missing.json()["error"]) == (404, "enterprise_not_found")

    async def classified(**query: str) -> tuple[list[str], int]:
        page = (await http.get("/api/v1/enterprises", params=query, headers=head_2)).json()
        return sorted(e["name"] for e in page["items"]), page["total"]

    assert await classified(region="黄埔区") == (["黄埔烟花有限公司", "黄埔石化有限公司"], 2)
    assert await classified(industry="危险化学品") == (["南沙化工有限公司", "黄埔石化有限公司"], 2)
    assert await classified(region="黄埔区", industry="危险化学品") == (["黄埔石化有限公司"], 1)
    assert await classified(region="黄埔区", q="烟花") == (["黄埔烟花有限公司"], 1)
    assert await classified(region="天河区") == ([], 0)
