"""The list of uploads: an officer sees theirs and where each stands, a section head the
section's, the office every upload; the parts of a concatenation are not listed."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from quancheng.common.auth import Role
from quancheng.common.testing.kit import (
    Embedded,
    Headers,
    TokenFactory,
    issued_device,
    seed_staff,
    upload_recording,
)

TUS = {"Tus-Resumable": "1.0.0"}


def meta(device_id: str, officer_id: str, filename: str) -> dict[str, str]:
    return {
        "filename": filename,
        "device_id": device_id,
        "officer_id": officer_id,
        "kind": "scan",
        "captured_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }


def encoded(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def begin(
    client: httpx.AsyncClient, headers: Headers, values: dict[str, str], **extra: str
) -> str:
    """An upload created and left waiting for its bytes."""
    sent = {**headers, **TUS, "Upload-Length": "1000", "Upload-Metadata": encoded(values)}
    response = await client.post("/files/", headers={**sent, **extra})
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[1]


async def listed(client: httpx.AsyncClient, headers: Headers, **params: str) -> dict[str, Any]:
    response = await client.get("/api/v1/uploads", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def uploads(embedded: Embedded, token: TokenFactory) -> dict[str, Any]:
    """officer-7 (JC1): a stored scan, then one waiting for its bytes and a tus partial;
    officer-9 (JC2): a stored scan."""
    client = embedded.client
    office = embedded.auth(token("office-1", Role.OFFICE))
    li = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    zhang = embedded.auth(token("officer-9", Role.OFFICER, section="JC2"))
    await seed_staff(client, office)
    li_device = await issued_device(client, office, li, serial="BC-1")
    zhang_device = await issued_device(
        client, office, zhang, serial="BC-9", officer_id="officer-9", section="JC2"
    )
    record_id = await upload_recording(
        client, li, meta(li_device, "officer-7", "检查记录.pdf"), b"%PDF-1.4 scan"
    )
    waiting = await begin(client, li, meta(li_device, "officer-7", "询问笔录.pdf"))
    await begin(
        client, li, meta(li_device, "officer-7", "分片.pdf"), **{"Upload-Concat": "partial"}
    )
    await upload_recording(client, zhang, meta(zhang_device, "officer-9", "现场.pdf"), b"%PDF z")
    return {"office": office, "li": li, "zhang": zhang, "record_id": record_id, "waiting": waiting}


@pytest.mark.req("D-14b")
async def test_an_officer_sees_their_uploads_and_where_each_stands(
    embedded: Embedded, uploads: dict[str, Any]
) -> None:
    page = await listed(embedded.client, uploads["li"])

    assert page["total"] == 2
    waiting, stored = page["items"]  # the newest first
    assert (waiting["filename"], waiting["status_label"]) == ("询问笔录.pdf", "接收中")
    assert (waiting["offset"], waiting["length"], waiting["record_id"]) == (0, 1000, None)
    assert waiting["upload_id"] == uploads["waiting"]
    assert (stored["filename"], stored["status_label"]) == ("检查记录.pdf", "已保存")
    assert stored["record_id"] == uploads["record_id"]
    assert stored["offset"] == stored["length"] == len(b"%PDF-1.4 scan")
    assert (stored["kind"], stored["section"]) == ("scan", "JC1")


async def test_a_head_sees_the_sections_uploads_and_the_office_all(
    embedded: Embedded, token: TokenFactory, uploads: dict[str, Any]
) -> None:
    head = embedded.auth(token("head-1", Role.SECTION_HEAD, section="JC1"))

    section = await listed(embedded.client, head)
    everything = await listed(embedded.client, uploads["office"])
    stored = await listed(embedded.client, uploads["office"], status="complete")
    of_zhang = await listed(embedded.client, uploads["office"], officer_id="officer-9")

    assert {u["filename"] for u in section["items"]} == {"检查记录.pdf", "询问笔录.pdf"}
    assert everything["total"] == 3
    assert {u["filename"] for u in stored["items"]} == {"检查记录.pdf", "现场.pdf"}
    assert [u["filename"] for u in of_zhang["items"]] == ["现场.pdf"]
    assert (await listed(embedded.client, uploads["zhang"]))["total"] == 1


async def test_pages_of_uploads_do_not_overlap(embedded: Embedded, uploads: dict[str, Any]) -> None:
    first = await listed(embedded.client, uploads["office"], limit="2")
    second = await listed(embedded.client, uploads["office"], limit="2", offset="2")

    ids = [u["upload_id"] for u in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 3


async def test_an_unknown_status_is_refused_in_chinese(
    embedded: Embedded, uploads: dict[str, Any]
) -> None:
    response = await embedded.client.get(
        "/api/v1/uploads", params={"status": "lost"}, headers=uploads["li"]
    )

    assert response.status_code in {400, 422}
    assert response.json()["message_zh"]


async def test_uploads_sort_by_a_key_either_way(
    embedded: Embedded, uploads: dict[str, Any]
) -> None:
    oldest_first = await listed(embedded.client, uploads["office"], sort="created_at")
    by_officer = await listed(embedded.client, uploads["office"], sort="-officer_id")
    refused = await embedded.client.get(
        "/api/v1/uploads", params={"sort": "filename"}, headers=uploads["office"]
    )

    names = [u["filename"] for u in oldest_first["items"]]
    assert names == ["检查记录.pdf", "询问笔录.pdf", "现场.pdf"]
    assert by_officer["items"][0]["officer_id"] == "officer-9"
    assert refused.status_code == 400
    assert "created_at" in refused.json()["message_zh"]
