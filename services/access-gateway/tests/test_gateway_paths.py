"""The gateway forwards exactly the path it routed on: paths whose decoding could name another
resource are refused before anything is forwarded, and no redirect names an internal host."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from quancheng.access_gateway.service.proxy import Upstreams
from quancheng.common.auth import Role
from quancheng.common.testing.kit import Embedded, TokenFactory, issued_device, seed_staff


def upstreams_of(embedded: Embedded) -> Upstreams:
    # The embedded app is the gateway itself.
    gateway = embedded.app
    assert isinstance(gateway, FastAPI)
    upstreams = gateway.state.upstreams
    assert isinstance(upstreams, Upstreams)
    return upstreams


@pytest.fixture
def forwarded(embedded: Embedded) -> list[str]:
    """Every request the gateway sends on to a service, as "METHOD service raw-path"."""
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(f"{request.method} {request.url.host} {request.url.raw_path.decode()}")

    for client in upstreams_of(embedded).clients.values():
        hooks = client.event_hooks
        client.event_hooks = {**hooks, "request": [*hooks["request"], record]}
    return seen


async def send_raw(
    embedded: Embedded, method: str, raw_path: bytes, headers: dict[str, str]
) -> httpx.Response:
    """The request with its path bytes exactly as given, as ``curl --path-as-is`` sends them
    (httpx's client would resolve dot segments before sending)."""
    request = embedded.client.build_request(method, "/", headers=headers)
    request.url = httpx.URL(raw_path=raw_path)
    transport = httpx.ASGITransport(app=embedded.app)
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


WALK_AROUNDS = [
    pytest.param(b"/api/v1/devices/..%2F..%2F..%2Fopenapi.json", id="encoded-slashes-openapi"),
    pytest.param(b"/api/v1/records/..%2F..%2F..%2Fmetrics", id="encoded-slashes-metrics"),
    pytest.param(b"/api/v1/records/..%2f..%2f..%2fmetrics", id="encoded-slashes-lowercase"),
    pytest.param(b"/api/v1/records/../../../metrics", id="dot-segments"),
    pytest.param(b"/api/v1/records/./../../../openapi.json", id="single-dot-segment"),
    pytest.param(b"/api/v1/records/%2E%2E/%2E%2E/%2E%2E/metrics", id="encoded-dot-segments"),
    pytest.param(b"/api/v1/records/.%2e/.%2e/.%2e/metrics", id="half-encoded-dot-segments"),
    pytest.param(b"/api/v1/records/..%5C..%5C..%5Cmetrics", id="encoded-backslashes"),
    pytest.param(b"/api/v1/records/..\\..\\..\\metrics", id="backslashes"),
    pytest.param(b"/api/v1/records/%07", id="encoded-bell"),
    pytest.param(b"/api/v1/records/%00", id="encoded-nul"),
    pytest.param(b"/api/v1/records/a%09b", id="encoded-tab"),
    pytest.param(b"/api/v1/records/%7F", id="encoded-del"),
]


@pytest.mark.parametrize("raw_path", WALK_AROUNDS)
async def test_ambiguous_path_is_refused_and_never_forwarded(
    embedded: Embedded, office: dict[str, str], forwarded: list[str], raw_path: bytes
) -> None:
    response = await send_raw(embedded, "GET", raw_path, office)

    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert set(body) == {"error", "message", "message_zh"}
    assert body["error"] == "invalid_path"
    assert any("\u4e00" <= char <= "\u9fff" for char in body["message_zh"])
    assert forwarded == []


async def test_forwarded_path_is_the_routed_path_byte_for_byte(
    embedded: Embedded, office: dict[str, str], forwarded: list[str]
) -> None:
    # An id holding "%41" is asked for as "%2541": decoded once more it would be another id.
    await seed_staff(embedded.client, office)
    officer = {"id": "%41-周", "name": "周杰", "section": "JC1"}
    created = await embedded.client.post("/api/v1/officers", json=officer, headers=office)
    assert created.status_code == 201, created.text
    forwarded.clear()
    raw_path = "/api/v1/officers/%2541-%E5%91%A8"
    # A query's escapes too: "%26" is a value's "&", not the start of another parameter.
    raw_query = "/api/v1/devices?serial_number=%2541%26kind%3Dcamera"

    response = await embedded.client.get(raw_path, headers=office)
    listed = await embedded.client.get(raw_query, headers=office)

    assert response.status_code == 200, response.text
    assert response.json()["id"] == "%41-周"
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == []
    assert forwarded == [f"GET device-registry {raw_path}", f"GET device-registry {raw_query}"]


async def test_trailing_slash_is_answered_without_a_redirect(
    embedded: Embedded, office: dict[str, str], forwarded: list[str]
) -> None:
    response = await embedded.client.get("/api/v1/records/", headers=office)

    assert response.status_code == 404, response.text
    assert "location" not in response.headers
    assert set(response.json()) >= {"error", "message", "message_zh"}
    assert forwarded == ["GET catalog /api/v1/records/"]


@pytest.mark.parametrize(
    ("base_url", "location", "public"),
    [
        pytest.param(
            "http://catalog",
            "http://catalog/api/v1/records?page=2",
            "/api/v1/records?page=2",
            id="embedded-upstream",
        ),
        pytest.param(
            "http://10.0.0.7:8003",
            "http://10.0.0.7:8003/api/v1/records/r-1#top",
            "/api/v1/records/r-1#top",
            id="distributed-upstream",
        ),
        pytest.param(
            "http://10.0.0.7:8003/catalog/",
            "http://10.0.0.7:8003/catalog/api/v1/records",
            "/api/v1/records",
            id="upstream-under-a-path",
        ),
        pytest.param(
            "http://catalog", "http://ingest/files/u-1", "/files/u-1", id="other-upstream"
        ),
        pytest.param("http://catalog", "/api/v1/records/r-1", "/api/v1/records/r-1", id="relative"),
        pytest.param(
            "http://catalog",
            "https://example.org/elsewhere",
            "https://example.org/elsewhere",
            id="external",
        ),
    ],
)
async def test_upstream_redirects_never_name_an_internal_host(
    embedded: Embedded,
    office: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    base_url: str,
    location: str,
    public: str,
) -> None:
    async def redirect(_scope: Scope, _receive: Receive, send: Send) -> None:
        headers = [(b"location", location.encode())]
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    upstreams = upstreams_of(embedded)
    transport = httpx.ASGITransport(app=redirect)
    async with httpx.AsyncClient(base_url=base_url, transport=transport) as stub:
        monkeypatch.setitem(upstreams.clients, "catalog", stub)
        response = await embedded.client.get("/api/v1/records", headers=office)

    assert response.status_code == 302
    assert response.headers["location"] == public


async def test_tus_creation_works_at_files_with_and_without_slash(
    embedded: Embedded, token: TokenFactory, office: dict[str, str]
) -> None:
    officer = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    await seed_staff(embedded.client, office)
    device_id = await issued_device(embedded.client, office, officer, serial="BC-1")
    for endpoint in ("/files", "/files/"):
        discovery = await embedded.client.options(endpoint)
        assert discovery.status_code == 204, discovery.text
        assert discovery.headers["tus-version"] == "1.0.0"

        meta = {
            "filename": f"{endpoint.strip('/')}.mp4",
            "device_id": device_id,
            "officer_id": "officer-7",
            "kind": "video",
            "captured_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        }
        created = await embedded.client.post(
            endpoint,
            headers={
                **officer,
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "5",
                "Upload-Metadata": ",".join(
                    f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()
                ),
            },
        )
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        assert location.startswith("/files/")

        patched = await embedded.client.patch(
            location,
            content=b"hello",
            headers={
                **officer,
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert patched.status_code == 204, patched.text
        assert patched.headers["upload-offset"] == "5"
