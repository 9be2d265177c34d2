"""The gateway serves the web console's build at /console/ to anyone, without a token: every page
path answers index.html (never cached), hashed assets are cached for a year, a missing asset is a
404 rather than a page, nothing outside the build is ever served, and without a build the
console says how to make one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from quancheng.common.settings import BusSettings, GatewaySettings, Settings, TelemetrySettings
from quancheng.common.testing.kit import Embedded

INDEX = (
    '<!doctype html><title>全程</title><script type="module" src="/console/assets/app-abc123.js">'
    "</script>"
)
SCRIPT = "document.title = '全程 管理控制台';"
SECRET = "not a file of the console"
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose console directory is empty until ``build`` fills it (SQLite only: what is
    tested here touches no database)."""
    return Settings(
        data_dir=tmp_path / "var",
        bus=BusSettings(relay_interval_seconds=0.2),
        telemetry=TelemetrySettings(json_logs=False, log_level="WARNING"),
        gateway=GatewaySettings(console_dir=tmp_path / "console"),
    )


@pytest.fixture
def build(settings: Settings, tmp_path: Path) -> Path:
    """A console build (index.html and one hashed asset), beside a file that is not part of it."""
    directory = settings.gateway.console_dir
    (directory / "assets").mkdir(parents=True)
    (directory / "index.html").write_text(INDEX, encoding="utf-8")
    (directory / "assets" / "app-abc123.js").write_text(SCRIPT, encoding="utf-8")
    (tmp_path / "secret.js").write_text(SECRET, encoding="utf-8")
    return directory


def directives(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return dict(d.strip().split(" ", 1) for d in policy.split(";"))


async def test_console_redirects_to_its_directory(client: httpx.AsyncClient, build: Path) -> None:
    response = await client.get("/console")

    assert response.status_code in (301, 307, 308)
    assert response.headers["location"] == "/console/"


@pytest.mark.parametrize("path", ["/console/", "/console/sign-in", "/console/devices/123?x=1"])
async def test_every_page_of_the_console_is_its_index_never_cached(
    client: httpx.AsyncClient, build: Path, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == NO_CACHE
    policy = directives(response)
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_hashed_asset_is_cached_for_a_year(client: httpx.AsyncClient, build: Path) -> None:
    response = await client.get("/console/assets/app-abc123.js")

    assert response.status_code == 200
    assert response.text == SCRIPT
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == IMMUTABLE


async def test_a_missing_asset_is_not_found_not_a_page(
    client: httpx.AsyncClient, build: Path
) -> None:
    response = await client.get("/console/assets/gone-1234.js")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert INDEX not in response.text


@pytest.mark.parametrize(
    ("raw_path", "status"),
    [
        # A page path, as far as the console can tell: its index, not the system's file.
        (b"/console/%2e%2e/%2e%2e/etc/passwd", 200),
        (b"/console/../secret.js", 404),
        (b"/console/%2e%2e/secret.js", 404),
        (b"/console/assets/%2e%2e/%2e%2e/secret.js", 404),
        (b"/console/..%2fsecret.js", 404),
        (b"/console/assets/..%2F..%2Fsecret.js", 404),
    ],
)
async def test_no_path_reaches_a_file_outside_the_build(
    embedded: Embedded, build: Path, raw_path: bytes, status: int
) -> None:
    # Sent with its bytes as given: httpx's client would resolve dot segments first.
    request = embedded.client.build_request("GET", "/")
    request.url = httpx.URL(raw_path=raw_path)
    response = await httpx.ASGITransport(app=embedded.app).handle_async_request(request)
    body = (await response.aread()).decode()

    assert response.status_code == status
    assert SECRET not in body
    if status == 200:
        assert body == INDEX
    else:
        assert json.loads(body)["error"] == "not_found"


async def test_without_a_build_the_console_says_how_to_make_one(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for path in ("/console/", "/console/assets/app-abc123.js"):
        response = await client.get(path)

        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert "控制台尚未构建" in response.text
        assert str(settings.gateway.console_dir.resolve()) in response.text
        assert response.headers["cache-control"] == "no-store"
