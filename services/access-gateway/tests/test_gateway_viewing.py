"""Viewing under a grant (C-9, A-13b, D-18b): playback through tickets bound to one grant, one
record, one person and one browser, with HTTP Range; accompanied sessions that re-hash what was
viewed when they close; copies only under a grant that allows them."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from quancheng.access_gateway.service import viewing as viewing_service
from quancheng.common.testing.kit import (
    ACCESS_REQUESTS,
    AccessBureau,
    Embedded,
    Headers,
    ask_for,
    client_of,
    decide_request,
    submitted_request,
    told_and_audited,
    told_payloads,
)

TICKETS = "/api/v1/playback-tickets"
SESSIONS = "/api/v1/viewing-sessions"


async def ticket(
    embedded: Embedded, headers: Headers, request_id: str, record_id: str, **more: Any
) -> httpx.Response:
    body = {"request_id": request_id, "record_id": record_id, **more}
    return await embedded.client.post(TICKETS, json=body, headers=headers)


async def other_section_grant(embedded: Embedded, bureau: AccessBureau, **more: Any) -> str:
    """officer-9 (JC2) granted JC1's open recording by head-1."""
    request = await submitted_request(embedded, bureau.officer9, ask_for(bureau.open1, **more))
    approved = await decide_request(embedded, bureau.head1, request["id"])
    assert approved.json()["status"] == "active", approved.text
    return str(request["id"])


async def record_bytes(embedded: Embedded, office: Headers, record_id: str) -> tuple[int, str]:
    record = (await embedded.client.get(f"/api/v1/records/{record_id}", headers=office)).json()
    return int(record["size"]), str(record["sha256"])


def _objects(embedded: Embedded) -> Path:
    return embedded.settings.objects_root / "objects"


def stored_file(embedded: Embedded, sha256: str) -> Path:
    """The local store's file of the object with this content."""
    for path in _objects(embedded).rglob("*"):
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
            return path
    raise AssertionError("no stored object has that content")


@pytest.mark.req("C-9")
@pytest.mark.req("B-9")
async def test_the_own_section_plays_through_a_ticket_with_ranges_and_a_copied_url_fails(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    client = embedded.client
    request = await submitted_request(embedded, bureau.officer8, ask_for(bureau.open1))
    issued = await ticket(embedded, bureau.officer8, request["id"], bureau.open1)
    assert issued.status_code == 201, issued.text
    url = issued.json()["url"]
    assert issued.json()["content_type"] == "video/mp4"
    size, sha256 = await record_bytes(embedded, bureau.office, bureau.open1)

    # No bearer token: the ticket and the cookie set with it are the credentials.
    whole = await client.get(url)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).hexdigest() == sha256
    assert whole.headers["accept-ranges"] == "bytes"
    seek = await client.get(url, headers={"Range": "bytes=100-199"})
    assert seek.status_code == 206
    assert seek.headers["content-range"] == f"bytes 100-199/{size}"
    assert seek.content == whole.content[100:200]
    tail = await client.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == whole.content[-10:]
    beyond = await client.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"

    # The same URL in another browser (no cookie, or another ticket's) is refused.
    async with client_of(embedded.app, base_url="http://testserver") as foreign:
        copied = await foreign.get(url)
        assert copied.status_code == 403
        assert copied.json()["error"] == "ticket_foreign"
    assert (await client.get(url + "x")).status_code == 404

    viewed = await told_payloads(embedded, bureau.open1, "access.viewed")
    assert [v["range"] for v in viewed] == [
        None,
        f"0-{size - 1}",
        "100-199",
        f"{size - 10}-{size - 1}",
    ]
    _, actions = await told_and_audited(embedded, request["id"])
    assert "access.request" in actions

    # Once the grant is revoked the ticket is worth nothing.
    await client.post(
        f"{ACCESS_REQUESTS}/{request['id']}/revocation",
        json={"reason": "调阅结束"},
        headers=bureau.office,
    )
    ended = await client.get(url)
    assert ended.status_code == 403
    assert ended.json()["error"] == "ticket_ended"

    # The record's page in the catalog tells all of it, from the gateway's events.
    path = f"/api/v1/records/{bureau.open1}/access-history"
    for _ in range(100):
        history = (await client.get(path, headers=bureau.office)).json()
        if history["items"] and history["items"][0]["what"] == "ended":
            break
        await asyncio.sleep(0.1)
    whats = [entry["what"] for entry in history["items"]]
    assert whats == ["ended", "played", "viewed", "granted", "requested"]
    assert history["items"][1]["count"] == 3  # three ranges, one playback


@pytest.mark.req("C-9")
async def test_other_sections_view_in_an_accompanied_session_verified_when_it_closes(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    client = embedded.client
    request_id = await other_section_grant(embedded, bureau)
    alone = await ticket(embedded, bureau.officer9, request_id, bureau.open1)
    assert alone.status_code == 409
    assert alone.json()["error"] == "session_required"
    body = {"request_id": request_id}
    by_officer = await client.post(SESSIONS, json=body, headers=bureau.officer9)
    assert by_officer.status_code == 403

    opened = await client.post(SESSIONS, json=body, headers=bureau.archivist)
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert session["viewer"] == "officer-9"
    assert session["accompanied_by"] == "archivist-1"
    assert session["verification_label"] == "进行中"
    # A record the grant does not reach gets no ticket, in a session or not.
    other = await ticket(
        embedded, bureau.archivist, request_id, bureau.open2, session_id=session["id"]
    )
    assert other.status_code == 403
    issued = await ticket(
        embedded, bureau.archivist, request_id, bureau.open1, session_id=session["id"]
    )
    assert issued.status_code == 201, issued.text
    url = issued.json()["url"]
    assert (await client.get(url, headers={"Range": "bytes=0-99"})).status_code == 206
    assert (await client.get(url, headers={"Range": "bytes=50-149"})).status_code == 206
    assert (await client.get(url, headers={"Range": "bytes=1000-1099"})).status_code == 206

    closed = await client.post(f"{SESSIONS}/{session['id']}/close", headers=bureau.archivist)
    assert closed.status_code == 200, closed.text
    result = closed.json()
    assert result["verification"] == "unchanged"
    assert result["verification_label"] == "核验无误：1 条记录与入库时的 SHA-256 一致"
    assert result["closed_by"] == "archivist-1"
    [viewed] = result["records"]
    assert viewed["played"] == [[0, 149], [1000, 1099]]
    assert viewed["played_bytes"] == 250
    # The ticket ended with the session: reusing it is refused.
    reused = await client.get(url, headers={"Range": "bytes=0-99"})
    assert reused.status_code == 403
    assert reused.json()["error"] == "ticket_ended"
    again = await client.post(f"{SESSIONS}/{session['id']}/close", headers=bureau.archivist)
    assert again.status_code == 409
    listed = await client.get(SESSIONS, params={"request_id": request_id}, headers=bureau.head1)
    assert [s["id"] for s in listed.json()["items"]] == [session["id"]]


@pytest.mark.req("C-9")
async def test_a_record_altered_on_disk_during_a_session_raises_the_alarm_at_its_close(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    client = embedded.client
    request_id = await other_section_grant(embedded, bureau)
    session = (
        await client.post(SESSIONS, json={"request_id": request_id}, headers=bureau.archivist)
    ).json()
    issued = await ticket(
        embedded, bureau.archivist, request_id, bureau.open1, session_id=session["id"]
    )
    assert (await client.get(issued.json()["url"])).status_code == 200

    _, sha256 = await record_bytes(embedded, bureau.office, bureau.open1)
    path = stored_file(embedded, sha256)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # one byte flipped, behind the store's back
    path.write_bytes(bytes(data))

    closed = await client.post(f"{SESSIONS}/{session['id']}/close", headers=bureau.archivist)
    assert closed.status_code == 200, closed.text
    result = closed.json()
    assert result["verification"] == "altered"
    assert "已报警" in result["verification_label"]
    [verified] = result["verified"]
    assert verified["expected_sha256"] == sha256
    assert verified["actual_sha256"] == hashlib.sha256(bytes(data)).hexdigest()
    [alarm] = await told_payloads(
        embedded, path.relative_to(_objects(embedded)).as_posix(), "fixity.failed"
    )
    assert alarm["record_id"] == bureau.open1
    assert alarm["expected_sha256"] == sha256


@pytest.mark.req("A-13b")
@pytest.mark.req("D-18b")
async def test_a_copy_needs_a_grant_that_allows_copying(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    client = embedded.client
    view_only = await submitted_request(embedded, bureau.officer8, ask_for(bureau.open1))
    path = f"{ACCESS_REQUESTS}/{view_only['id']}/records/{bureau.open1}/copy"
    refused = await client.get(path, headers=bureau.officer8)
    assert refused.status_code == 403
    assert refused.json()["error"] == "view_only"

    copying = await submitted_request(
        embedded, bureau.officer8, ask_for(bureau.open1, access="copy")
    )
    path = f"{ACCESS_REQUESTS}/{copying['id']}/records/{bureau.open1}/copy"
    assert (await client.get(path, headers=bureau.officer9)).status_code == 404
    copied = await client.get(path, headers=bureau.officer8)
    assert copied.status_code == 200, copied.text
    _, sha256 = await record_bytes(embedded, bureau.office, bureau.open1)
    assert hashlib.sha256(copied.content).hexdigest() == sha256
    assert copied.headers["x-content-sha256"] == sha256
    assert "attachment" in copied.headers["content-disposition"]
    [told] = await told_payloads(embedded, bureau.open1, "access.viewed")
    assert told["copied"] is True


@pytest.mark.req("C-9")
async def test_an_idle_ticket_expires(
    embedded: Embedded, bureau: AccessBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = embedded.client
    request = await submitted_request(embedded, bureau.officer8, ask_for(bureau.open1))
    url = (await ticket(embedded, bureau.officer8, request["id"], bureau.open1)).json()["url"]
    later = datetime.now(UTC) + timedelta(minutes=16)
    monkeypatch.setattr(viewing_service, "utcnow", lambda: later)
    idle = await client.get(url)
    assert idle.status_code == 403
    assert idle.json()["error"] == "ticket_expired"
    monkeypatch.undo()
    # It stays ended: a fresh ticket is needed.
    assert (await client.get(url)).json()["error"] == "ticket_ended"
    fresh = await ticket(embedded, bureau.officer8, request["id"], bureau.open1)
    assert (await client.get(fresh.json()["url"])).status_code == 200
