"""A record's page shows its access history, kept from the gateway's events: every request for
it, its grant, rejection or end, every look, playback and copy, and a check that found it
altered, the latest first; read by the office, archivists, supervisors and its section's head
(C-9, B-9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from quancheng.common.auth import Role
from quancheng.common.events import (
    AccessEnded,
    AccessGranted,
    AccessRejected,
    AccessRequested,
    AccessViewed,
    FixityFailed,
    RecordingIngested,
)
from quancheng.common.testing.kit import TokenFactory, auth, tell

Headers = dict[str, str]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MIB = 1024 * 1024
SESSION = uuid4()  # the viewing session an archivist accompanies


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ingested(
    filename: str, *, officer: str = "officer-7", section: str = "JC1"
) -> RecordingIngested:
    return RecordingIngested(
        record_id=uuid4(),
        upload_id=uuid4().hex,
        object_key=f"sections/{section}/originals/{uuid4().hex}",
        sha256="ab" * 32,
        size=4 * MIB,
        filename=filename,
        kind="video",
        device_id="dev-1",
        officer_id=officer,
        section=section,
        captured_at=T0 - timedelta(days=3),
    )


def requested(request_id: UUID, *records: UUID, minute: int = 0) -> AccessRequested:
    return AccessRequested(
        request_id=request_id,
        requester="李华",
        requester_kind="other_section",
        registered_by="office-1",
        record_ids=list(records),
        sections=["JC1"],
        approvers_needed=["JC1"],
        access="view",
        purpose="复核案件证据",
        occurred_at=at(minute),
    )


def played(request_id: UUID, record_id: UUID, first: int, last: int, minute: int) -> AccessViewed:
    return AccessViewed(
        request_id=request_id,
        record_id=record_id,
        viewer="李华",
        accompanied_by="archivist-1",
        session_id=SESSION,
        range=f"{first}-{last}",
        occurred_at=at(minute),
    )


async def history(
    client: httpx.AsyncClient, record_id: UUID, headers: Headers, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/records/{record_id}/access-history", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def office(token: TokenFactory) -> Headers:
    return auth(token, "office-1", Role.OFFICE)


@pytest.mark.req("C-9")
@pytest.mark.req("B-9")
async def test_a_request_its_grant_looks_playback_and_end_show_the_latest_first(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    record, flagged = ingested("检查.mp4"), ingested("询问.mp4")
    request_id = uuid4()
    a, b = record.record_id, flagged.record_id
    await tell(
        app,
        record,
        flagged,
        requested(request_id, a, b, minute=0),
        # JC1's head approved, but not the flagged recording: the grant names only the first.
        AccessGranted(
            request_id=request_id,
            approvers=["head-1"],
            record_ids=[a],
            access="view",
            valid_from=at(5),
            valid_until=at(5) + timedelta(days=3),
            occurred_at=at(5),
        ),
        AccessViewed(
            request_id=request_id,
            record_id=a,
            viewer="李华",
            accompanied_by="archivist-1",
            session_id=SESSION,
            occurred_at=at(10),
        ),
        played(request_id, a, 0, MIB - 1, 11),
        played(request_id, a, MIB, 2 * MIB - 1, 12),
        played(request_id, a, 0, MIB - 1, 13),  # seeking back: the same bytes again
        AccessEnded(
            request_id=request_id,
            how="completed",
            by="archivist-1",
            reason="查阅完毕",
            occurred_at=at(20),
        ),
    )

    answer = await history(client, a, office(token))

    assert answer["total"] == 5
    items = answer["items"]
    assert [(i["what"], i["what_label"], i["who"]) for i in items] == [
        ("ended", "调阅结束", "archivist-1"),
        ("played", "播放", "李华"),
        ("viewed", "查看", "李华"),
        ("granted", "准予调阅", "head-1"),
        ("requested", "申请调阅", "李华"),
    ]
    assert {i["request_id"] for i in items} == {str(request_id)}
    ended, playback, viewed, granted, asked = items
    assert ended["detail"] == {"how": "completed", "reason": "查阅完毕"}
    assert ended["at"] == "2026-12-01T09:20:00Z"
    # Three ranges served, one entry: from the first to the last, the bytes merged.
    assert playback["count"] == 3
    assert (playback["at"], playback["until"]) == ("2026-12-01T09:11:00Z", "2026-12-01T09:13:00Z")
    assert playback["detail"] == {
        "session_id": str(SESSION),
        "accompanied_by": "archivist-1",
        "ranges": [f"0-{2 * MIB - 1}"],
        "bytes_served": 2 * MIB,
    }
    assert viewed["detail"] == {"session_id": str(SESSION), "accompanied_by": "archivist-1"}
    assert (viewed["until"], viewed["count"]) == (None, 1)
    assert granted["detail"]["approvers"] == ["head-1"]
    assert granted["detail"]["valid_until"] == "2026-12-04T09:05:00Z"
    assert asked["detail"]["requester_kind"] == "other_section"
    assert asked["detail"]["purpose"] == "复核案件证据"
    assert asked["detail"]["registered_by"] == "office-1"
    # The flagged recording was asked for and the request ended, but never granted nor seen.
    other = await history(client, b, office(token))
    assert [i["what"] for i in other["items"]] == ["ended", "requested"]


@pytest.mark.req("C-9")
@pytest.mark.req("B-9")
async def test_a_rejection_or_an_end_lands_on_every_record_of_its_request(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    first, second, untouched = ingested("一.mp4"), ingested("二.mp4"), ingested("三.mp4")
    rejected_request, ended_request = uuid4(), uuid4()
    ids = first.record_id, second.record_id
    await tell(
        app,
        first,
        second,
        untouched,
        requested(rejected_request, *ids, minute=0),
        requested(ended_request, *ids, minute=1),
        AccessRejected(
            request_id=rejected_request,
            by="head-1",
            section="JC1",
            opinion="用途不明",
            occurred_at=at(2),
        ),
        AccessEnded(request_id=ended_request, how="expired", by="system", occurred_at=at(3)),
    )

    for record_id in ids:
        items = (await history(client, record_id, office(token)))["items"]
        assert [(i["what"], i["request_id"]) for i in items] == [
            ("ended", str(ended_request)),
            ("rejected", str(rejected_request)),
            ("requested", str(ended_request)),
            ("requested", str(rejected_request)),
        ]
        assert items[0]["who"] == "system"
        assert items[0]["detail"] == {"how": "expired", "reason": None}
        assert items[1]["what_label"] == "驳回"
        assert items[1]["detail"] == {"section": "JC1", "opinion": "用途不明"}
    assert (await history(client, untouched.record_id, office(token)))["total"] == 0


@pytest.mark.req("C-9")
async def test_an_event_delivered_again_is_not_counted_twice(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    record = ingested("检查.mp4")
    request_id = uuid4()
    asked = requested(request_id, record.record_id)
    ended = AccessEnded(request_id=request_id, how="revoked", by="office-1", occurred_at=at(4))
    copied = AccessViewed(
        request_id=request_id,
        record_id=record.record_id,
        viewer="李华",
        copied=True,
        occurred_at=at(3),
    )
    await tell(app, record, asked, copied, asked, copied, ended, ended)

    answer = await history(client, record.record_id, office(token))

    assert answer["total"] == 3
    assert [(i["what"], i["what_label"]) for i in answer["items"]] == [
        ("ended", "调阅结束"),
        ("copied", "复制"),
        ("requested", "申请调阅"),
    ]


@pytest.mark.req("C-9")
async def test_playback_is_one_entry_per_run_and_the_history_is_paged_and_filtered(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    record = ingested("检查.mp4")
    request_id = uuid4()
    r = record.record_id
    await tell(
        app,
        record,
        requested(request_id, r, minute=0),
        played(request_id, r, 0, MIB - 1, 1),
        played(request_id, r, 3 * MIB, 4 * MIB - 1, 2),  # skipped ahead: two spans
        AccessViewed(request_id=request_id, record_id=r, viewer="李华", occurred_at=at(3)),
        played(request_id, r, MIB, 2 * MIB - 1, 4),
    )
    headers = office(token)

    everything = await history(client, r, headers)
    only_played = await history(client, r, headers, what="played")
    first_page = await history(client, r, headers, limit=2)
    second_page = await history(client, r, headers, limit=2, offset=2)

    assert [(i["what"], i["count"]) for i in everything["items"]] == [
        ("played", 1),
        ("viewed", 1),
        ("played", 2),
        ("requested", 1),
    ]
    later, earlier = only_played["items"]
    assert only_played["total"] == 2
    assert later["detail"]["ranges"] == [f"{MIB}-{2 * MIB - 1}"]
    assert earlier["detail"]["ranges"] == [f"0-{MIB - 1}", f"{3 * MIB}-{4 * MIB - 1}"]
    assert earlier["detail"]["bytes_served"] == 2 * MIB
    assert (first_page["total"], second_page["total"]) == (4, 4)
    paged = [i["id"] for i in first_page["items"] + second_page["items"]]
    assert paged == [i["id"] for i in everything["items"]]
    bad = await client.get(
        f"/api/v1/records/{r}/access-history", params={"what": "deleted"}, headers=headers
    )
    assert bad.status_code == 422


@pytest.mark.req("C-9")
async def test_a_check_that_found_the_record_altered_shows_in_its_history(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    record, other = ingested("检查.mp4"), ingested("复查.mp4")
    await tell(
        app,
        record,
        other,
        FixityFailed(
            object_key=record.object_key,
            record_id=record.record_id,
            expected_sha256=record.sha256,
            actual_sha256="cd" * 32,
            detail="re-hashed at the close of viewing session x",
            occurred_at=at(30),
        ),
        # An alarm naming only the object: the catalog finds the record that it holds.
        FixityFailed(
            object_key=other.object_key,
            expected_sha256=other.sha256,
            actual_sha256=None,
            occurred_at=at(31),
        ),
    )

    (alarm,) = (await history(client, record.record_id, office(token)))["items"]
    (unreadable,) = (await history(client, other.record_id, office(token)))["items"]

    assert (alarm["what"], alarm["what_label"], alarm["who"]) == ("altered", "核验不符", "system")
    assert alarm["request_id"] is None
    assert alarm["detail"]["expected_sha256"] == "ab" * 32
    assert alarm["detail"]["actual_sha256"] == "cd" * 32
    assert (unreadable["what"], unreadable["detail"]["actual_sha256"]) == ("altered", None)


@pytest.mark.req("B-9")
async def test_only_the_office_archivists_supervisors_and_the_sections_head_read_it(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    record = ingested("检查.mp4")
    # JC2's head, out with JC1 on the day, recorded this one themselves: they see it.
    theirs = ingested("协查.mp4", officer="head-2")
    request_id = uuid4()
    await tell(app, record, theirs, requested(request_id, record.record_id, theirs.record_id))
    path = f"/api/v1/records/{record.record_id}/access-history"
    readers = [
        office(token),
        auth(token, "archivist-1", Role.ARCHIVIST),
        auth(token, "supervisor-1", Role.SUPERVISOR),
        auth(token, "head-1", Role.SECTION_HEAD, section="JC1"),
    ]
    officer = auth(token, "officer-7", Role.OFFICER, section="JC1")  # its own recording
    custodian = auth(token, "custodian-1", Role.CUSTODIAN, section="JC1")
    other_head = auth(token, "head-2", Role.SECTION_HEAD, Role.OFFICER, section="JC2")
    pretender = auth(token, "officer-8", Role.SECTION_HEAD, section="JC1")  # not its head

    for headers in readers:
        answer = await history(client, record.record_id, headers)
        assert [i["what"] for i in answer["items"]] == ["requested"]
    for headers in (officer, custodian):
        assert (await client.get(f"/api/v1/records/{record.record_id}", headers=headers)).is_success
        refused = await client.get(path, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "not_access_history_reader"
        assert "section" in refused.json()["message"]
        assert "科室负责人" in refused.json()["message_zh"]
    # Another section's head sees their own recording of JC1, but not its history...
    mine = await client.get(
        f"/api/v1/records/{theirs.record_id}/access-history", headers=other_head
    )
    assert mine.status_code == 403, mine.text
    assert mine.json()["error"] == "not_access_history_reader"
    # ... and not JC1's other records at all: to them, as good as absent.
    hidden = await client.get(path, headers=other_head)
    assert hidden.status_code == 404, hidden.text
    not_named = await client.get(path, headers=pretender)
    assert not_named.status_code == 403, not_named.text
    assert not_named.json()["error"] == "section_role_not_named"


async def test_an_unknown_record_has_no_history(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    response = await client.get(f"/api/v1/records/{uuid4()}/access-history", headers=office(token))

    assert response.status_code == 404
    assert response.json()["error"] == "record_not_found"
    assert response.json()["message_zh"] == "未找到该记录"
