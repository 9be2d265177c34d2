"""Finding records by words (Chinese fragments of any length) and by their activity's facts,
only among those the caller may see (E-10, B-11)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from quancheng.catalog.repository import RecordRepository
from quancheng.common.auth import Clearance, Role
from quancheng.common.events import RecordingIngested, encode
from quancheng.common.service import ServiceState
from quancheng.common.testing.kit import TokenFactory, auth

MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ENTERPRISE = {"name": "华南化工（广州）有限公司", "credit_code": "91350100M000100Y43"}


@pytest.fixture
def client(app: FastAPI, client: httpx.AsyncClient) -> tuple[FastAPI, httpx.AsyncClient]:
    """The catalog and a client of it, which the tests here take together."""
    return app, client


async def deliver(app: FastAPI, filename: str, *, section: str, activity: str | None) -> UUID:
    state: ServiceState = app.state.service
    event = RecordingIngested(
        record_id=uuid4(),
        upload_id=uuid4().hex,
        object_key="k",
        sha256="ab" * 32,
        size=1,
        filename=filename,
        kind="video",
        device_id="dev-1",
        officer_id="officer-7" if section == "JC1" else "officer-9",
        activity_id=activity,
        section=section,
        captured_at=MORNING,
    )
    await state.consumers.handle(encode(event, {}))
    return event.record_id


async def found(client: httpx.AsyncClient, headers: dict[str, str], **query: Any) -> set[UUID]:
    response = await client.get("/api/v1/records", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return {UUID(item["record_id"]) for item in response.json()["items"]}


async def activity(
    client: httpx.AsyncClient, office: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {
        "kind": "coercion",
        "type": "sealing_seizure",
        "matter": "查封危险化学品仓库",
        "section": "JC1",
        # one of the section's own officers (see kit.STAFF_EVENTS)
        "officers": ["officer-9" if fields.get("section") == "JC2" else "officer-7"],
        "started_at": MORNING.isoformat(),
        **fields,
    }
    created = await client.post("/api/v1/activities", json=body, headers=office)
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


@pytest.mark.req("E-10")
async def test_records_are_found_by_chinese_words_of_their_activity_and_enterprise(
    client: tuple[FastAPI, httpx.AsyncClient], token: TokenFactory
) -> None:
    app, http = client
    office = auth(token, "office-1", Role.OFFICE)
    enterprise = (await http.post("/api/v1/enterprises", json=ENTERPRISE, headers=office)).json()
    sealing = await activity(
        http, office, enterprise_id=enterprise["id"], case_number="穗应急〔2026〕7号"
    )
    hearing = await activity(
        http, office, type="hearing", kind="penalty", matter="行政处罚听证会", section="JC2"
    )
    at_the_warehouse = await deliver(app, "现场.mp4", section="JC1", activity=sealing["id"])
    at_the_hearing = await deliver(app, "听证录音.mp4", section="JC2", activity=hearing["id"])
    unassigned = await deliver(app, "100%_test.mp4", section="JC1", activity=None)

    # Two characters (below a trigram), three and more, several words that must all appear.
    assert await found(http, office, q="化工") == {at_the_warehouse}
    assert await found(http, office, q="危险化学品") == {at_the_warehouse}
    assert await found(http, office, q="查封 仓库") == {at_the_warehouse}
    assert await found(http, office, q="查封 听证") == set()
    assert await found(http, office, q="听证") == {at_the_hearing}
    assert await found(http, office, q="2026〕7") == {at_the_warehouse}  # the case number
    assert await found(http, office, q="100%") == {unassigned}  # '%' is a character, not a wildcard
    assert await found(http, office, q="MP4") == {at_the_warehouse, at_the_hearing, unassigned}
    # By the activity's facts.
    assert await found(http, office, enterprise_id=enterprise["id"]) == {at_the_warehouse}
    assert await found(http, office, activity_kind="penalty") == {at_the_hearing}
    assert await found(http, office, activity_type="sealing_seizure") == {at_the_warehouse}
    # A head of another section finds nothing of JC1's, whatever the words.
    head_2 = auth(token, "head-2", Role.SECTION_HEAD, section="JC2")
    assert await found(http, head_2, q="mp4") == {at_the_hearing}
    assert await found(http, head_2, q="化工") == set()

    # The enterprise renamed: its records are found by the new name, not the old one.
    renamed = await http.put(
        f"/api/v1/enterprises/{enterprise['id']}",
        json={**ENTERPRISE, "name": "广州南沙新材料有限公司"},
        headers=office,
    )
    assert renamed.status_code == 200, renamed.text
    assert await found(http, office, q="南沙新材料") == {at_the_warehouse}
    assert await found(http, office, q="华南化工") == set()

    # What a record proves is searchable once described.
    described = await http.put(
        f"/api/v1/records/{unassigned}/archival",
        json={"proves": "证明企业擅自启用被查封设备"},
        headers=office,
    )
    assert described.status_code == 200, described.text
    assert await found(http, office, q="擅自启用") == {unassigned}


@pytest.mark.req("B-11")
async def test_a_record_above_the_callers_clearance_is_neither_found_nor_shown(
    client: tuple[FastAPI, httpx.AsyncClient], token: TokenFactory
) -> None:
    app, http = client
    office = auth(token, "office-1", Role.OFFICE, clearance=Clearance.SECRET)
    record_id = await deliver(app, "涉密检查.mp4", section="JC1", activity=None)
    classified = await http.put(
        f"/api/v1/records/{record_id}/archival", json={"secrecy": "secret"}, headers=office
    )
    assert (classified.status_code, classified.json()["secrecy_label"]) == (200, "秘密")
    internal = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")

    assert await found(http, internal, q="涉密") == set()
    hidden = await http.get(f"/api/v1/records/{record_id}", headers=internal)
    assert hidden.status_code == 404
    assert await found(http, office, q="涉密") == {record_id}
    too_high = await http.put(
        f"/api/v1/records/{record_id}/archival",
        json={"secrecy": "top_secret"},
        headers=office,
    )
    assert (too_high.status_code, too_high.json()["error"]) == (403, "clearance_too_low")


async def test_a_year_of_activities_is_more_than_one_query_may_name(
    client: tuple[FastAPI, httpx.AsyncClient], token: TokenFactory
) -> None:
    # A statement takes at most 65 535 parameters on PostgreSQL (32 766 on many SQLite builds):
    # reports and exports look records up by activity in batches.
    app, http = client
    office = auth(token, "office-1", Role.OFFICE)
    sealing = await activity(http, office)
    record_id = await deliver(app, "现场.mp4", section="JC1", activity=sealing["id"])
    state: ServiceState = app.state.service
    many = [uuid4() for _ in range(70_000)] + [UUID(sealing["id"])]

    async with state.db.session() as session:
        found = await RecordRepository(session).of_activities(many)

    assert [r.record_id for r in found] == [record_id]
