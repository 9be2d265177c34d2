"""Browser tests of the web console: the embedded platform served over real HTTP with the
console's build, Debian's Chromium driven by Playwright, accounts to sign in with, and checks that
every page passes (no console or page errors, which include CSP violations; no serious axe
findings) with a screenshot of it kept in test-artefacts/console/."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect, sync_playwright

from quancheng.common.auth import BuiltinIssuer, Clearance, Role
from quancheng.common.embedded import create_embedded_app
from quancheng.common.settings import BusSettings, GatewaySettings, Settings, TelemetrySettings
from quancheng.common.testing import chromium
from quancheng.common.testing.cache import free_port
from quancheng.common.testing.kit import bearer

REPO = Path(__file__).resolve().parents[2]
CONSOLE = REPO / "console"
ARTEFACTS = REPO / "test-artefacts" / "console"
AXE = CONSOLE / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# An account's first password, which make_account changes at once as the console asks.
API_REFUSAL = "Failed to load resource: the server responded with a status of 4"
FIRST_PASSWORD = "First-pass-2026"
PASSWORD = "Console-pass-2026"

MakeAccount = Callable[..., str]
# The bureau the browser tests work in: a section, its head and an officer, and an account of
# every role.
SECTION = "WEB1"
ACCOUNTS = {
    Role.OFFICE: ("web-office", "钱办公", None),
    Role.SUPERVISOR: ("web-supervisor", "孙监督", None),
    Role.SECTION_HEAD: ("web-head", "周科长", SECTION),
    Role.OFFICER: ("web-officer", "吴执法", SECTION),
    Role.ARCHIVIST: ("web-archivist", "郑档案", None),
}


@pytest.fixture(scope="session")
def console_build() -> Path:
    """The console's build (``vite build`` of console/)."""
    build = CONSOLE / "dist"
    if not (build / "index.html").is_file():
        pytest.fail(f"no build of the console in {build}: run make test, which builds the console")
    return build


@pytest.fixture(scope="session")
def platform_settings(tmp_path_factory: pytest.TempPathFactory, console_build: Path) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("console-platform") / "var",
        bus=BusSettings(relay_interval_seconds=0.2),
        telemetry=TelemetrySettings(json_logs=False, log_level="WARNING"),
        gateway=GatewaySettings(console_dir=console_build),
    )


@pytest.fixture(scope="session")
def platform_url(platform_settings: Settings) -> Iterator[str]:
    """The embedded platform on uvicorn at this URL, for every browser test of the run."""
    port = free_port()
    config = uvicorn.Config(
        create_embedded_app(platform_settings),
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_config=None,  # the platform's own logging stays as its settings make it
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-platform")
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    assert not thread.is_alive(), "the platform did not stop"


def _wait_until_ready(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not thread.is_alive():
            pytest.fail("the platform stopped while starting (its log says why)")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the platform at {url} was not ready within 60 s")


@pytest.fixture(scope="session")
def office_api(platform_url: str, platform_settings: Settings) -> Iterator[httpx.Client]:
    """A client of the platform's API as the office, with a token of its built-in issuer."""
    identity = platform_settings.identity
    issuer = BuiltinIssuer.from_directory(
        platform_settings.identity_dir, issuer=identity.issuer, audience=identity.audience
    )
    token = issuer.mint("office-seeder", [Role.OFFICE], clearance=Clearance.INTERNAL)
    with httpx.Client(base_url=platform_url, headers=bearer(token), timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def make_account(platform_url: str, office_api: httpx.Client) -> MakeAccount:
    """``make_account(username, display_name, roles, section=None, clearance=INTERNAL,
    password=PASSWORD)``: an account the office creates, whose first password has already been
    changed to ``password`` (so the console asks for no change); returns that password."""

    def make(
        username: str,
        display_name: str,
        roles: Iterable[Role],
        section: str | None = None,
        clearance: Clearance = Clearance.INTERNAL,
        password: str = PASSWORD,
    ) -> str:
        body = {
            "username": username,
            "display_name": display_name,
            "roles": list(roles),
            "section": section,
            "clearance": clearance,
            "password": FIRST_PASSWORD,
        }
        created = office_api.post("/api/v1/accounts", json=body)
        assert created.status_code == 201, created.text
        credentials = {"username": username, "password": FIRST_PASSWORD}
        signed_in = httpx.post(f"{platform_url}/api/v1/sign-in", json=credentials)
        assert signed_in.status_code == 200, signed_in.text
        changed = httpx.post(
            f"{platform_url}/api/v1/me/password",
            headers=bearer(signed_in.json()["access_token"]),
            json={"current_password": FIRST_PASSWORD, "new_password": password},
        )
        assert changed.status_code == 204, changed.text
        return password

    return make


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless. Per module, not per session: between its calls the sync API
    leaves its event loop marked as running in this thread, which the async tests that follow
    the browser tests could then not start."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium.executable(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (no cookies or storage of other tests). The test fails if the
    page logs an error or throws (a violation of the Content-Security-Policy is logged as one),
    but for the API's own refusals, which the console shows."""
    context = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1440, "height": 900}
    )
    opened = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The API's refusals (4xx) are answers the console shows; anything else is an error.
        refused = message.text.startswith(API_REFUSAL) and "/api/" in message.location["url"]
        if message.type == "error" and not refused:
            errors.append(f"console error: {message.text} (at {message.location['url']})")

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    yield opened
    context.close()
    if errors:
        pytest.fail("the page reported errors:\n" + "\n".join(errors), pytrace=False)


def _axe_check(page: Page) -> None:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed ({AXE}): run npm ci in console/")
    # Evaluated through the DevTools protocol, which the page's CSP does not govern: a <script>
    # of it (add_script_tag) would be refused by script-src 'self', and bypass_csp would turn
    # the CSP off for the app's own code as well.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("() => axe.run()")
    found = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not found, f"accessibility violations on {page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}; at "
        + ", ".join(" ".join(map(str, node["target"])) for node in v["nodes"])
        for v in found
    )


@pytest.fixture(scope="session")
def axe_check() -> Callable[[Page], None]:
    """``axe_check(page)``: fails on any serious or critical finding of axe-core on the page."""
    return _axe_check


def _screenshot(page: Page, name: str) -> Path:
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], Path]:
    """``screenshot(page, name)``: the whole page as test-artefacts/console/<name>.png."""
    return _screenshot


@pytest.fixture(scope="session")
def bureau(office_api: httpx.Client, make_account: MakeAccount) -> dict[Role, str]:
    """Section WEB1 with its head web-head and officer web-officer, and an account of every
    role (``ACCOUNTS``): role → password."""
    for path, body in (
        ("/api/v1/sections", {"code": SECTION, "name": "网页一科", "supervisory": True}),
        *(
            (
                "/api/v1/officers",
                {
                    "id": ACCOUNTS[role][0],
                    "name": ACCOUNTS[role][1],
                    "section": SECTION,
                    "certificate_number": f"WEB-000{number}",
                    "frontline": True,
                },
            )
            for number, role in enumerate((Role.SECTION_HEAD, Role.OFFICER), start=1)
        ),
    ):
        assert office_api.post(path, json=body).status_code == 201
    named = office_api.patch(f"/api/v1/sections/{SECTION}", json={"head_officer_id": "web-head"})
    assert named.status_code == 200, named.text
    return {
        role: make_account(username, name, [role], section=section)
        for role, (username, name, section) in ACCOUNTS.items()
    }


@pytest.fixture(scope="session")
def sign_in(platform_url: str, bureau: dict[Role, str]) -> Callable[[Page, Role], None]:
    """``sign_in(page, role)``: the bureau's account of ``role`` signs in on the console (in
    place of whoever was signed in on the page)."""

    def enter(page: Page, role: Role) -> None:
        page.goto(f"{platform_url}/console/sign-in")
        page.evaluate("() => sessionStorage.clear()")
        page.goto(f"{platform_url}/console/")
        page.get_by_label("用户名").fill(ACCOUNTS[role][0])
        page.get_by_label("密码").fill(bureau[role])
        page.get_by_role("button", name="登录").click()
        expect(page).not_to_have_url(re.compile(r"/console/sign-in"))

    return enter


def _choose(within: Page | Locator, label: str, option: str) -> None:
    page = within if isinstance(within, Page) else within.page
    within.locator(".el-select", has=page.get_by_role("combobox", name=label)).click()
    page.get_by_role("option", name=option, exact=True).click()


@pytest.fixture(scope="session")
def choose() -> Callable[[Page | Locator, str, str], None]:
    """``choose(within, label, option)``: picks ``option`` in the Element Plus select named
    ``label`` (its wrapper takes the click; the options open at the page's end)."""
    return _choose


@pytest.fixture(scope="session")
def make_activity(
    office_api: httpx.Client, bureau: dict[Role, str]
) -> Callable[..., dict[str, Any]]:
    """``make_activity(matter, kind, type, started_at, ended_at, **fields)``: an activity of
    section WEB1 with web-officer, registered by the office; returns it as the API answers."""

    def make(
        matter: str, kind: str, type: str, started_at: datetime, ended_at: datetime, **fields: Any
    ) -> dict[str, Any]:
        body = {
            "kind": kind,
            "type": type,
            "matter": matter,
            "section": SECTION,
            "officers": [ACCOUNTS[Role.OFFICER][0]],
            "started_at": started_at.isoformat(),
            "ended_at": ended_at.isoformat(),
            **fields,
        }
        created = office_api.post("/api/v1/activities", json=body)
        assert created.status_code == 201, created.text
        activity: dict[str, Any] = created.json()
        return activity

    return make
