"""Inputs that gave a 500 (issue 12), sent as a client sends them, to the embedded platform: each
is a clear 4xx in the JSON error shape with its reason in Chinese, and the platform answers
normally afterwards."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from quancheng.common.auth import Role
from quancheng.common.limits import MAX_OFFSET
from quancheng.common.settings import Settings
from quancheng.common.testing.kit import Embedded, TokenFactory, issued_device, seed_staff

TIMEOUT = 0.5
TUS = {"Tus-Resumable": "1.0.0"}
LISTS = [
    "/api/v1/devices",
    "/api/v1/officers",
    "/api/v1/records",
    "/api/v1/activities",
    "/api/v1/enterprises",
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.limits.body_timeout_seconds = TIMEOUT
    return settings


def assert_refused(response: httpx.Response, status: int, error: str, zh: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert {"error", "message", "message_zh"} <= set(body)
    assert zh in body["message_zh"]


async def assert_answers(embedded: Embedded, office: dict[str, str]) -> None:
    assert (await embedded.client.get("/healthz")).json()["status"] == "ok"
    listed = await embedded.client.get("/api/v1/officers", headers=office)
    assert listed.status_code == 200, listed.text


def encoded(meta: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())


def with_bytes(headers: dict[str, str], name: str, value: bytes) -> list[tuple[bytes, bytes]]:
    """``headers`` and one whose value is these bytes (httpx sends a str value only as ASCII)."""
    return [(k.encode(), v.encode()) for k, v in headers.items()] + [(name.encode(), value)]


async def upload_begun(
    embedded: Embedded, office: dict[str, str], token: TokenFactory, length: int
) -> tuple[dict[str, str], str]:
    """An officer's headers and the location of the upload they have just begun."""
    officer = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    await seed_staff(embedded.client, office)
    device_id = await issued_device(embedded.client, office, officer, serial="BC-1")
    meta = {
        "filename": "a.mp4",
        "device_id": device_id,
        "officer_id": "officer-7",
        "kind": "video",
        "captured_at": "2026-11-28T09:30:00+08:00",
    }
    created = await embedded.client.post(
        "/files/",
        headers={**officer, **TUS, "Upload-Length": str(length), "Upload-Metadata": encoded(meta)},
    )
    assert created.status_code == 201, created.text
    return officer, created.headers["location"]


async def body_that_stops(first: bytes) -> AsyncIterator[bytes]:
    yield first
    await asyncio.Event().wait()  # the rest of what Content-Length announced never comes


@pytest.mark.parametrize("path", LISTS)
async def test_a_header_beyond_ascii_is_passed_on(
    embedded: Embedded, office: dict[str, str], path: str
) -> None:
    note = "科室".encode()
    without_token = await embedded.client.get(path, headers=with_bytes({}, "X-Note", note))
    assert_refused(without_token, 401, "unauthenticated", "访问令牌")

    listed = await embedded.client.get(path, headers=with_bytes(office, "X-Note", note))

    assert listed.status_code == 200, listed.text


async def test_an_upload_checksum_beyond_ascii_is_refused(
    embedded: Embedded, office: dict[str, str], token: TokenFactory
) -> None:
    officer, location = await upload_begun(embedded, office, token, length=3)
    headers = {
        **officer,
        **TUS,
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
    }

    response = await embedded.client.patch(
        location,
        headers=with_bytes(headers, "Upload-Checksum", "sha1 科室".encode()),
        content=b"abc",
    )

    assert_refused(response, 400, "invalid_header", "Upload-Checksum 不是 base64")
    await assert_answers(embedded, office)


async def test_basic_credentials_beyond_ascii_are_refused(
    embedded: Embedded, office: dict[str, str]
) -> None:
    response = await embedded.client.post(
        "/api/v1/device-tokens",
        headers=with_bytes({}, "Authorization", "Basic 科室".encode()),
        data={"grant_type": "client_credentials"},
    )

    assert_refused(response, 400, "invalid_request", "Basic 认证格式错误")
    await assert_answers(embedded, office)


async def test_an_upload_length_in_other_digits_is_refused(
    embedded: Embedded, office: dict[str, str]
) -> None:
    # Byte 0xB2, read as Latin-1: "²", a digit to str.isdigit and no number to int().
    response = await embedded.client.post(
        "/files/", headers=with_bytes({**office, **TUS}, "Upload-Length", "²".encode("latin-1"))
    )

    assert_refused(response, 400, "invalid_header", "Upload-Length 必须是由数字 0-9 写成的非负整数")
    await assert_answers(embedded, office)


@pytest.mark.parametrize(
    ("metadata", "key", "zh"),
    [
        ("filename 监管.mp4", "filename", "filename 不是 UTF-8 文本的 base64 编码"),
        ("文件名 YS5tcDQ=", "文件名", "文件名 不是有效的键名"),
    ],
)
async def test_upload_metadata_beyond_ascii_is_refused(
    embedded: Embedded, office: dict[str, str], metadata: str, key: str, zh: str
) -> None:
    headers = with_bytes(
        {**office, **TUS, "Upload-Length": "3"}, "Upload-Metadata", metadata.encode()
    )
    response = await embedded.client.post("/files/", headers=headers)

    assert_refused(response, 400, "invalid_metadata", f"Upload-Metadata 中的 {zh}")
    assert response.json()["key"] == key
    await assert_answers(embedded, office)


@pytest.mark.parametrize("path", LISTS)
async def test_an_offset_beyond_paging_is_refused(
    embedded: Embedded, office: dict[str, str], path: str
) -> None:
    # One past the databases' 64-bit integers.
    response = await embedded.client.get(f"{path}?offset={2**63}", headers=office)

    assert_refused(response, 422, "invalid_request", f"query.offset：须不大于 {MAX_OFFSET}")
    await assert_answers(embedded, office)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/records", "q"),
        ("/api/v1/enterprises", "q"),
        ("/api/v1/officers", "section"),
        ("/api/v1/activities", "case_number"),
    ],
)
async def test_a_control_character_in_a_query_is_refused(
    embedded: Embedded, office: dict[str, str], path: str, name: str
) -> None:
    # PostgreSQL refuses NUL in text; the database never sees it.
    response = await embedded.client.get(f"{path}?{name}=a%00b", headers=office)

    assert_refused(response, 400, "invalid_query", f"查询参数 {name} 含控制字符（U+0000）")
    await assert_answers(embedded, office)


async def test_text_no_database_can_hold_is_refused(
    embedded: Embedded, office: dict[str, str]
) -> None:
    # A JSON escape delivers what PostgreSQL's text refuses (SQLite would keep it), and a lone
    # half of a surrogate pair, which no UTF-8 encodes.
    json_headers = {**office, "Content-Type": "application/json"}
    nul, surrogate = [
        await embedded.client.post(
            "/api/v1/sections",
            headers=json_headers,
            content=f'{{"code": "JC8", "name": "监管{escape}八科"}}'.encode(),
        )
        for escape in ("\\u0000", "\\ud800")
    ]

    assert_refused(nul, 422, "unstorable_text", "请求中含有无法保存的字符（U+0000）")
    assert_refused(surrogate, 422, "invalid_request", "body.name：含有无效的字符")
    sections = await embedded.client.get("/api/v1/sections", headers=office)
    assert "JC8" not in [s["code"] for s in sections.json()["items"]]
    await assert_answers(embedded, office)


async def test_a_body_shorter_than_its_content_length_is_given_up(
    embedded: Embedded, office: dict[str, str]
) -> None:
    section = b'{"code": "JC9", "name": "'
    response = await asyncio.wait_for(
        embedded.client.post(
            "/api/v1/sections",
            headers={**office, "Content-Type": "application/json", "Content-Length": "100"},
            content=body_that_stops(section),
        ),
        timeout=30,
    )

    assert_refused(response, 408, "body_timeout", f"请求体在 {TIMEOUT:g} 秒内没有继续送达")
    sections = await embedded.client.get("/api/v1/sections", headers=office)
    assert "JC9" not in [s["code"] for s in sections.json()["items"]]
    await assert_answers(embedded, office)


async def test_a_stalled_upload_is_ended_and_can_be_resumed(
    embedded: Embedded, office: dict[str, str], token: TokenFactory
) -> None:
    officer, location = await upload_begun(embedded, office, token, length=1000)
    patch = {**officer, **TUS, "Content-Type": "application/offset+octet-stream"}

    stalled = await asyncio.wait_for(
        embedded.client.patch(
            location,
            headers={**patch, "Upload-Offset": "0", "Content-Length": "1000"},
            content=body_that_stops(b"x" * 300),
        ),
        timeout=30,
    )

    assert_refused(stalled, 408, "body_timeout", "没有继续送达")
    # The request let go of the upload (no lock left behind): it resumes where the bytes ended.
    offset = ""
    for _ in range(50):
        head = await embedded.client.head(location, headers={**officer, **TUS})
        offset = head.headers.get("upload-offset", "")
        if head.status_code == 200 and offset == "300":
            break
        await asyncio.sleep(0.1)
    assert offset == "300"
    resumed = await embedded.client.patch(
        location, headers={**patch, "Upload-Offset": "300"}, content=b"x" * 700
    )
    assert resumed.status_code == 204, resumed.text
    assert resumed.headers["upload-offset"] == "1000"


async def test_json_bodies_are_capped_and_uploads_and_imports_are_not(
    embedded: Embedded, office: dict[str, str], token: TokenFactory
) -> None:
    big = b'{"code": "JC9", "name": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    json_headers = {**office, "Content-Type": "application/json"}

    declared = await embedded.client.post("/api/v1/sections", headers=json_headers, content=big)
    # No Content-Length to go by: counted as it streams.
    streamed = await embedded.client.post(
        "/api/v1/sections", headers=json_headers, content=_pieces(big)
    )

    for response in (declared, streamed):
        assert_refused(response, 413, "body_too_large", "请求体超过 1024 KiB")
    await assert_answers(embedded, office)

    # A tus upload and a spreadsheet import are far larger than any JSON, and pass.
    data = b"v" * (3 * 1024 * 1024)
    officer, location = await upload_begun(embedded, office, token, length=len(data))
    uploaded = await embedded.client.patch(
        location,
        headers={
            **officer,
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        content=data,
    )
    assert uploaded.status_code == 204, uploaded.text
    assert uploaded.headers["upload-offset"] == str(len(data))
    # The registry reads all of it, to find a cell beyond what a CSV may hold.
    sheet = "科室代码,科室名称,监管科室\nX1," + "科" * 500_000 + ",否\n"
    imported = await embedded.client.post(
        "/api/v1/imports?kind=sections",
        headers={**office, "Content-Type": "text/csv"},
        content=sheet.encode(),
    )
    assert (imported.status_code, imported.json()["error"]) == (400, "unreadable_file")


async def _pieces(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
