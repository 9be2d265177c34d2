"""Access 调阅 in the console, in a real browser: another section's request waits in the handling
head's queue and is approved there; the office registers a counterparty, who needs a licence
before the head may agree; an archivist opens a viewing session and plays a recording (a real
WAV, seeked with HTTP Range) and closes it to see it verified unchanged; the playback URL is
refused once the session has closed and in another browser; the register lists and exports."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import math
import re
import time
import wave
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Response, expect

from quancheng.common.auth import Role
from quancheng.common.settings import Settings
from quancheng.common.testing.kit import PRE_USE_CHECK, bearer

SignIn = Callable[[Page, Role], None]
Choose = Callable[[Page | Locator, str, str], None]
AxeCheck = Callable[[Page], None]
Screenshot = Callable[[Page, str], Path]

BUREAU = ZoneInfo("Asia/Shanghai")
OFFICER = "web-officer"
HEAD = "web-head"
ARCHIVIST = "web-archivist"
# An officer of another section, who asks to see section WEB1's recordings.
READER = ("web-reader", "冯调阅", "WEB2")
SCANNED_PDF = b"%PDF-1.7\n% a scanned business licence\n%%EOF\n"
AUDIO = "document.querySelector('audio')"
# Two minutes at 44.1 kHz (10.6 MB): Chromium reads a couple of MB ahead of where it plays, so a
# seek to the end is a Range request of its own (a WAV of a few seconds is read whole at once).
SECONDS = 120
# The first bytes of a URL, fetched in the page (with its cookies): the status, and the refusal.
FETCH = """async (url) => {
    const answer = await fetch(url, { headers: { Range: 'bytes=0-99' } })
    return [answer.status, answer.status === 206 ? null : await answer.json()]
}"""


def wav_tone(seconds: float, rate: int = 44_100, hertz: float = 440.0) -> bytes:
    """A playable WAV: mono, 16-bit, a sine tone."""
    period = [int(12000 * math.sin(2 * math.pi * hertz * n / rate)) for n in range(rate)]
    frames = array("h", period * int(seconds)).tobytes()  # little-endian, as WAV wants
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(frames)
    return out.getvalue()


def sign_in_api(platform_url: str, username: str, password: str) -> httpx.Client:
    credentials = {"username": username, "password": password}
    answer = httpx.post(f"{platform_url}/api/v1/sign-in", json=credentials)
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    return httpx.Client(base_url=platform_url, headers=bearer(token), timeout=30)


@dataclass
class Access:
    """The clients and the recording the tests ask for."""

    reader: httpx.Client  # web-reader of WEB2
    head: httpx.Client  # web-head, whom the registry names head of WEB1
    archivist: httpx.Client
    office: httpx.Client
    recording: str  # a WAV of WEB1, uploaded by web-officer
    recording_name: str
    recording_sha256: str
    recording_bytes: bytes
    officer: httpx.Client  # web-officer, who holds the voice recorder
    device_id: str

    def upload(self, filename: str, data: bytes) -> str:
        """Another recording of web-officer's, once the catalog knows it."""
        captured_at = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        meta = {"device_id": self.device_id, "officer_id": OFFICER, "kind": "audio"}
        record_id = _upload(self.officer, data, filename=filename, captured_at=captured_at, **meta)
        # The catalog learns of the record from ingest's event; a request names it from there.
        _wait(
            lambda: self.office.get(f"/api/v1/records/{record_id}").status_code == 200,
            f"the catalog never learnt of {filename}",
        )
        return record_id

    def requested(self, purpose: str, record: str | None = None, **more: Any) -> dict[str, Any]:
        """web-reader's request to view the recording, waiting for web-head's approval."""
        records = [record or self.recording]
        body = {"record_ids": records, "purpose": purpose, "days": 7, **more}
        made = self.reader.post("/api/v1/access-requests", json=body)
        assert made.status_code == 201, made.text
        request: dict[str, Any] = made.json()
        assert request["status"] == "submitted", request
        return request

    def granted(self, purpose: str, record: str | None = None) -> dict[str, Any]:
        request = self.requested(purpose, record)
        body = {"decision": "approved", "opinion": "同意调阅"}
        decided = self.head.post(f"/api/v1/access-requests/{request['id']}/decisions", json=body)
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "active", decided.text
        return dict(decided.json())


@pytest.fixture(scope="module")
def access(
    platform_url: str,
    office_api: httpx.Client,
    make_account: Callable[..., str],
    bureau: dict[Role, str],
) -> Iterator[Access]:
    """web-officer's WAV recording of WEB1 (uploaded with tus from a body camera issued to them,
    known to the catalog), and clients of the reader of WEB2, the head and the archivist."""
    username, name, section = READER
    made = office_api.post(
        "/api/v1/sections", json={"code": section, "name": "网页二科", "supervisory": False}
    )
    assert made.status_code == 201, made.text
    reader_password = make_account(username, name, [Role.OFFICER], section=section)

    device = {"kind": "voice_recorder", "serial_number": "WEB-ACC-1", "model": "DSJ-A1"}
    device_id = office_api.post("/api/v1/devices", json={**device, "section": "WEB1"}).json()["id"]
    for path, body in (
        ("transitions", {"to": "in_stock"}),
        ("issue", {"officer_id": OFFICER, "check": PRE_USE_CHECK}),
    ):
        moved = office_api.post(f"/api/v1/devices/{device_id}/{path}", json=body)
        assert moved.status_code == 200, moved.text

    officer = sign_in_api(platform_url, OFFICER, bureau[Role.OFFICER])
    reader = sign_in_api(platform_url, username, reader_password)
    head = sign_in_api(platform_url, HEAD, bureau[Role.SECTION_HEAD])
    archivist = sign_in_api(platform_url, ARCHIVIST, bureau[Role.ARCHIVIST])
    with officer, reader, head, archivist:
        _wait(
            lambda: (
                officer.get(
                    "/api/v1/upload-permission",
                    params={"device_id": device_id, "officer_id": OFFICER},
                ).status_code
                == 200
            ),
            "ingest never learnt of the officer's voice recorder",
        )
        sound = wav_tone(SECONDS)
        prepared = Access(
            reader=reader,
            head=head,
            archivist=archivist,
            office=office_api,
            recording="",
            recording_name="现场询问录音.wav",
            recording_sha256=hashlib.sha256(sound).hexdigest(),
            recording_bytes=sound,
            officer=officer,
            device_id=device_id,
        )
        prepared.recording = prepared.upload(prepared.recording_name, sound)
        yield prepared


def _quiet(page: Page) -> None:
    """No message and no select's options are showing: axe reads one fading in or out as text
    of too little contrast."""
    expect(page.locator(".el-message")).to_have_count(0, timeout=10_000)
    expect(page.locator(".el-select__popper:visible, .el-picker__popper:visible")).to_have_count(0)
    # Nor is a dialog or anything else still fading in or out.
    expect(page.locator("[class*='-enter-active'], [class*='-leave-active']")).to_have_count(0)


def _fill_period(page: Page, first: date, last: date) -> None:
    """Types a period into the page's date range picker (days in the bureau's zone)."""
    page.get_by_placeholder("开始日期").fill(first.isoformat())
    end = page.get_by_placeholder("结束日期")
    end.fill(last.isoformat())
    end.press("Enter")
    page.keyboard.press("Escape")  # the calendar closes


def _first_byte(response: Response) -> int:
    """Where the part a 206 answers starts (-1: not a part)."""
    found = re.match(r"bytes (\d+)-", response.headers.get("content-range", ""))
    return int(found.group(1)) if found else -1


def _wait(done: Callable[[], bool], failure: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.1)
    pytest.fail(failure)


def _upload(client: httpx.Client, data: bytes, **meta: str) -> str:
    """One tus creation-with-upload; the record id of its receipt once the original is stored."""
    created = client.post(
        "/files/",
        content=data,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Metadata": ",".join(
                f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()
            ),
        },
    )
    assert created.status_code == 201, created.text
    upload_id = created.headers["location"].rsplit("/", 1)[1]
    for _ in range(100):
        receipt = client.get(f"/api/v1/uploads/{upload_id}/receipt")
        assert receipt.status_code == 200, receipt.text
        if receipt.json()["record_id"]:
            return str(receipt.json()["record_id"])
        time.sleep(0.1)
    pytest.fail(f"upload {meta['filename']} never completed")


@pytest.mark.req("C-6b")
def test_the_head_approves_another_sections_request_from_the_queue(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    access: Access,
    axe_check: AxeCheck,
    screenshot: Screenshot,
) -> None:
    request = access.requested("复核另一科室的现场询问过程")

    sign_in(page, Role.SECTION_HEAD)
    page.get_by_role("menuitem", name="调阅管理").click()
    page.get_by_role("menuitem", name="待我审批").click()
    row = page.get_by_test_id("approvals").get_by_role("row").filter(has_text="复核另一科室")
    expect(row).to_contain_text(READER[1])
    expect(row).to_contain_text("其他科室")
    _quiet(page)
    axe_check(page)
    screenshot(page, "head-approvals")

    row.get_by_role("link", name="审批").click()
    expect(page).to_have_url(re.compile(f"/console/access/{request['id']}$"))
    expect(page.get_by_test_id("access-status")).to_have_text("待审批")
    expect(page.get_by_test_id("access-items")).to_contain_text(access.recording_name)
    _quiet(page)
    axe_check(page)
    page.get_by_role("button", name="审批", exact=True).click()
    dialog = page.get_by_role("dialog", name="审批调阅申请")
    dialog.get_by_label("审批意见").fill("同意调阅，仅限查看")
    _quiet(page)
    axe_check(page)
    dialog.get_by_role("button", name="提交审批").click()
    expect(dialog).to_be_hidden()

    expect(page.get_by_test_id("access-status")).to_have_text("调阅中")
    approvals = page.get_by_test_id("access-approvals")
    expect(approvals).to_contain_text("同意调阅，仅限查看")
    expect(approvals).to_contain_text(HEAD)
    expect(page.get_by_test_id("access-items")).to_contain_text("已准予")
    expect(page.get_by_test_id("access-transitions")).to_contain_text("调阅中")
    screenshot(page, "head-approved")

    page.goto(f"{platform_url}/console/approvals")
    expect(page.get_by_test_id("approvals").get_by_text("复核另一科室")).to_have_count(0)
    assert access.reader.get(f"/api/v1/access-requests/{request['id']}").json()["status"] == (
        "active"
    )


@pytest.mark.req("D-19")
def test_the_head_sees_a_flagged_record_marked_and_grants_it_only_by_including_it(
    page: Page, platform_url: str, sign_in: SignIn, access: Access, axe_check: AxeCheck
) -> None:
    flagged = access.upload("未成年人询问录音.wav", wav_tone(2))
    described = access.office.put(
        f"/api/v1/records/{flagged}/archival", json={"privacy_flags": ["未成年人"]}
    )
    assert described.status_code == 200, described.text
    request = access.requested("核查询问未成年人的过程", record_ids=[access.recording, flagged])

    sign_in(page, Role.SECTION_HEAD)
    page.goto(f"{platform_url}/console/access/{request['id']}")
    items = page.get_by_test_id("access-items")
    marked = items.get_by_role("row").filter(has_text="未成年人询问录音.wav")
    expect(marked).to_have_class(re.compile(r"\bflagged\b"))
    expect(marked).to_contain_text("未成年人")
    plain = items.get_by_role("row").filter(has_text=access.recording_name)
    expect(plain).not_to_have_class(re.compile(r"\bflagged\b"))
    page.get_by_role("button", name="审批", exact=True).click()
    dialog = page.get_by_role("dialog", name="审批调阅申请")
    dialog.get_by_label("审批意见").fill("同意，含未成年人询问录音")
    dialog.get_by_text("包含敏感记录").click()
    _quiet(page)
    axe_check(page)
    dialog.get_by_role("button", name="提交审批").click()
    expect(page.get_by_test_id("access-status")).to_have_text("调阅中")
    expect(marked).to_contain_text("已准予")
    expect(plain).to_contain_text("已准予")
    expect(page.get_by_test_id("access-approvals")).to_contain_text("是")  # flagged included


@pytest.mark.req("C-5")
def test_the_office_registers_a_counterparty_who_needs_a_licence_before_the_approval(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    choose: Choose,
    access: Access,
    tmp_path: Path,
    axe_check: AxeCheck,
    screenshot: Screenshot,
) -> None:
    sign_in(page, Role.OFFICE)
    page.goto(f"{platform_url}/console/access")
    _quiet(page)
    axe_check(page)
    page.get_by_role("button", name="新建调阅申请").click()
    form = page.get_by_test_id("access-form")
    records = form.get_by_role("combobox", name="音像记录")
    records.fill("现场询问")
    page.get_by_role("option", name=re.compile(access.recording_name)).click()
    form.get_by_label("调阅事由").fill("相对人申请查看询问过程录音")
    form.get_by_label("依据").fill("《安全生产执法音像记录规定》")
    form.locator(".el-switch", has=page.get_by_role("switch", name="代外部调阅人登记")).click()
    form.get_by_label("姓名").fill("张律师")
    form.get_by_label("单位").fill("华南化工（广州）有限公司")
    form.get_by_label("证件号码").fill("44010119800101001X")
    choose(form, "密级", "内部")
    _quiet(page)
    axe_check(page)
    page.get_by_role("button", name="提交申请").click()

    expect(page).to_have_url(re.compile(r"/console/access/[0-9a-f-]{36}$"))
    request_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("access-status")).to_have_text("待审批")
    expect(page.get_by_test_id("missing-documents")).to_contain_text("尚缺：营业执照或身份证件")
    # The head may not agree while the licence is missing.
    refused = access.head.post(
        f"/api/v1/access-requests/{request_id}/decisions",
        json={"decision": "approved", "opinion": "同意"},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "documents_missing"

    licence = tmp_path / "营业执照.pdf"
    licence.write_bytes(SCANNED_PDF)
    choose(page, "材料类型", "营业执照")
    page.get_by_label("选择材料文件").set_input_files(licence)
    documents = page.get_by_test_id("access-documents")
    expect(documents).to_contain_text("营业执照.pdf")
    expect(documents).to_contain_text(hashlib.sha256(SCANNED_PDF).hexdigest())
    expect(page.get_by_test_id("missing-documents")).to_have_count(0)
    with page.expect_popup() as shown:
        documents.get_by_role("button", name="营业执照.pdf").click()
    assert shown.value.url.startswith("blob:")
    shown.value.close()
    _quiet(page)
    axe_check(page)
    screenshot(page, "office-counterparty-request")

    decided = access.head.post(
        f"/api/v1/access-requests/{request_id}/decisions",
        json={"decision": "approved", "opinion": "材料齐全，同意"},
    )
    assert decided.status_code == 200, decided.text
    page.reload()
    expect(page.get_by_test_id("access-status")).to_have_text("调阅中")


@pytest.mark.req("C-6a")
def test_the_handling_section_plays_and_copies_its_own_recording_on_its_own_screen(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    bureau: dict[Role, str],
    access: Access,
    tmp_path: Path,
) -> None:
    with sign_in_api(platform_url, OFFICER, bureau[Role.OFFICER]) as officer:
        body = {"record_ids": [access.recording], "purpose": "整理本科室案卷", "days": 3}
        made = officer.post("/api/v1/access-requests", json={**body, "access": "copy"})
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "active"  # the handling section's own: granted at once

    sign_in(page, Role.OFFICER)
    page.goto(f"{platform_url}/console/access")
    page.get_by_test_id("access-requests").get_by_role("row").filter(
        has_text="整理本科室案卷"
    ).get_by_role("link", name="查看").click()
    expect(page.get_by_test_id("access-status")).to_have_text("调阅中")
    expect(page.get_by_test_id("access-approvals")).to_have_count(0)
    expect(page.get_by_text("承办科室调阅，无需审批")).to_be_visible()
    row = (
        page.get_by_test_id("access-items")
        .get_by_role("row")
        .filter(has_text=access.recording_name)
    )
    row.get_by_role("button", name="播放").click()
    page.wait_for_function(f"() => {AUDIO} && {AUDIO}.readyState >= 2 && {AUDIO}.duration > 0")

    with page.expect_download() as started:
        row.get_by_role("button", name="复制").click()
    saved = tmp_path / "copy.wav"
    started.value.save_as(saved)
    assert started.value.suggested_filename == access.recording_name
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == access.recording_sha256

    # The hand-over form to print and sign lists the copy with the SHA-256 to check it by.
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="打印移交单").click()
    form = opened.value
    expect(form.locator("h1")).to_contain_text("执法记录复制件移交单")
    expect(form.locator("body")).to_contain_text(access.recording_sha256)
    expect(form.locator("body")).to_contain_text("接收人（签名）")
    form.close()


def test_the_office_revokes_a_pending_request_giving_the_reason(
    page: Page, platform_url: str, sign_in: SignIn, access: Access, axe_check: AxeCheck
) -> None:
    request = access.requested("已无调阅必要的申请")
    sign_in(page, Role.OFFICE)
    page.goto(f"{platform_url}/console/access/{request['id']}")
    page.get_by_role("button", name="撤销").click()
    dialog = page.get_by_role("dialog", name="撤销调阅")
    dialog.get_by_role("button", name="确认撤销").click()
    expect(dialog.get_by_text("请填写撤销理由")).to_be_visible()  # a reason is required
    dialog.get_by_label("撤销理由").fill("申请人已取得所需材料")
    _quiet(page)
    axe_check(page)
    dialog.get_by_role("button", name="确认撤销").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("access-status")).to_have_text("已撤销")
    expect(page.get_by_test_id("access-transitions")).to_contain_text("申请人已取得所需材料")
    expect(page.get_by_role("button", name="撤销")).to_have_count(0)


@pytest.mark.req("C-9")
def test_an_archivist_plays_a_recording_in_a_session_and_its_close_verifies_it(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    access: Access,
    axe_check: AxeCheck,
    screenshot: Screenshot,
) -> None:
    request = access.granted("查看现场询问录音")
    played: list[Response] = []
    page.on("response", lambda r: played.append(r) if "/api/v1/playback/" in r.url else None)

    sign_in(page, Role.ARCHIVIST)
    page.goto(f"{platform_url}/console/access/{request['id']}")
    expect(page.get_by_test_id("access-status")).to_have_text("调阅中")
    _quiet(page)
    axe_check(page)
    page.get_by_role("button", name="开启查阅会话").click()
    dialog = page.get_by_role("dialog", name="开启查阅会话")
    expect(dialog.get_by_label("查阅人")).to_have_value(READER[1])
    dialog.get_by_role("button", name="开启").click()
    expect(page).to_have_url(re.compile(r"/console/viewing-sessions/[0-9a-f-]{36}$"))
    expect(page.get_by_text("进行中", exact=True)).to_be_visible()
    _quiet(page)
    axe_check(page)

    granted = page.get_by_test_id("granted-records").get_by_role("row")
    granted.filter(has_text=access.recording_name).get_by_role("button", name="播放").click()
    audio = page.locator("audio")
    expect(audio).to_be_attached()
    # It loads and plays (muted: a page may start sound only after a gesture of its own).
    page.wait_for_function(f"() => {AUDIO} && {AUDIO}.readyState >= 2 && {AUDIO}.duration > 0")
    assert page.evaluate(f"() => {AUDIO}.duration") == SECONDS
    page.evaluate(f"() => {{ {AUDIO}.muted = true; return {AUDIO}.play() }}")
    page.wait_for_function(f"() => {AUDIO}.currentTime > 0.2")
    url = audio.get_attribute("src")
    assert url is not None
    assert url.startswith("/api/v1/playback/")

    # Seeking to the end, far beyond what Chromium has read, asks for it with a Range: 206.
    size = len(access.recording_bytes)
    with page.expect_response(lambda r: _first_byte(r) > size * 0.9) as sought:
        page.evaluate(f"() => {{ {AUDIO}.pause(); {AUDIO}.currentTime = {AUDIO}.duration - 0.5 }}")
    page.wait_for_function(f"() => !{AUDIO}.seeking && {AUDIO}.readyState >= 2")
    assert sought.value.url == f"{platform_url}{url}"
    assert sought.value.status == 206
    assert sought.value.request.headers["range"] == f"bytes={_first_byte(sought.value)}-"
    assert sought.value.headers["content-range"].endswith(f"-{size - 1}/{size}")
    assert sought.value.body() == access.recording_bytes[_first_byte(sought.value) :]
    assert [r.status for r in played if r.status != 206] == []  # every answer a part
    page.get_by_role("button", name="刷新").click()
    tally = page.get_by_test_id("played").get_by_role("row").filter(has_text=access.recording_name)
    expect(tally).to_contain_text("%")
    _quiet(page)
    axe_check(page)
    screenshot(page, "archivist-viewing")

    page.get_by_role("button", name="结束查阅并核验").click()
    page.get_by_role("dialog", name="结束查阅并核验").get_by_role("button", name="确定").click()
    verdict = page.get_by_test_id("verification")
    expect(verdict).to_contain_text("核验无误：1 条记录与入库时的 SHA-256 一致")
    expect(verdict).to_have_class(re.compile(r"\bel-alert--success\b"))
    expect(page.get_by_test_id("verified")).to_contain_text(access.recording_sha256)
    expect(page.locator("audio")).to_have_count(0)
    expect(page.get_by_test_id("played")).to_contain_text(access.recording_name)
    _quiet(page)
    axe_check(page)
    screenshot(page, "archivist-verified")

    page.get_by_role("link", name=re.compile(READER[1])).click()
    sessions = page.get_by_test_id("viewing-sessions")
    expect(sessions).to_contain_text("核验无误")
    expect(sessions).to_contain_text(ARCHIVIST)

    # The record's own page tells who looked at it: the catalog keeps it from the events.
    page.goto(f"{platform_url}/console/records")
    page.get_by_role("button", name=access.recording_name).click()
    history = page.get_by_test_id("access-history")
    expect(history).to_contain_text("播放")
    expect(history).to_contain_text("申请调阅")
    _quiet(page)
    axe_check(page)


@pytest.mark.req("C-9")
def test_a_playback_url_is_refused_in_another_browser_and_once_its_session_closed(
    page: Page,
    browser: Browser,
    platform_url: str,
    sign_in: SignIn,
    access: Access,
) -> None:
    request = access.granted("再次查看现场询问录音")
    opened = access.archivist.post("/api/v1/viewing-sessions", json={"request_id": request["id"]})
    assert opened.status_code == 201, opened.text
    session_id = opened.json()["id"]

    sign_in(page, Role.ARCHIVIST)
    page.goto(f"{platform_url}/console/viewing-sessions/{session_id}")
    granted = page.get_by_test_id("granted-records").get_by_role("row")
    granted.filter(has_text=access.recording_name).get_by_role("button", name="播放").click()
    page.wait_for_function(f"() => {AUDIO} && {AUDIO}.readyState >= 1")
    url = page.locator("audio").get_attribute("src")
    assert url is not None

    # The URL copied into another browser (which has not the ticket's cookie) is refused.
    other = browser.new_context()
    try:
        copied = other.request.get(f"{platform_url}{url}")
        assert copied.status == 403
        assert copied.json()["error"] == "ticket_foreign"
    finally:
        other.close()
    assert page.evaluate(FETCH, url) == [206, None]

    page.get_by_role("button", name="结束查阅并核验").click()
    page.get_by_role("dialog", name="结束查阅并核验").get_by_role("button", name="确定").click()
    expect(page.get_by_test_id("verification")).to_contain_text("核验无误")
    # The same browser, with its cookie, reuses the ticket: it ended with the session.
    status, body = page.evaluate(FETCH, url)
    assert status == 403
    assert body["error"] == "ticket_ended"


@pytest.mark.req("C-9")
def test_a_recording_altered_in_storage_during_a_session_raises_the_alarm_at_its_close(
    page: Page,
    platform_url: str,
    platform_settings: Settings,
    sign_in: SignIn,
    access: Access,
    axe_check: AxeCheck,
    screenshot: Screenshot,
) -> None:
    sound = wav_tone(3)
    record_id = access.upload("现场复查录音.wav", sound)
    request = access.granted("查看现场复查录音", record_id)
    opened = access.archivist.post("/api/v1/viewing-sessions", json={"request_id": request["id"]})
    assert opened.status_code == 201, opened.text

    sign_in(page, Role.ARCHIVIST)
    page.goto(f"{platform_url}/console/viewing-sessions/{opened.json()['id']}")
    granted = page.get_by_test_id("granted-records").get_by_role("row")
    granted.filter(has_text="现场复查录音.wav").get_by_role("button", name="播放").click()
    page.wait_for_function(f"() => {AUDIO} && {AUDIO}.readyState >= 2")

    # One byte of the stored original flipped behind the store's back while it is viewed.
    expected = hashlib.sha256(sound).hexdigest()
    stored = next(
        path
        for path in (platform_settings.objects_root / "objects").rglob("*")
        if path.is_file() and path.stat().st_size == len(sound) and path.read_bytes() == sound
    )
    altered = bytearray(sound)
    altered[100] ^= 0xFF
    stored.chmod(0o644)
    stored.write_bytes(bytes(altered))
    try:
        page.get_by_role("button", name="结束查阅并核验").click()
        page.get_by_role("dialog", name="结束查阅并核验").get_by_role("button", name="确定").click()
        verdict = page.get_by_test_id("verification")
        expect(verdict).to_contain_text("核验不符：1 条记录与入库时的 SHA-256 不一致，已报警")
        expect(verdict).to_have_class(re.compile(r"\bel-alert--error\b"))
        row = page.get_by_test_id("verified").get_by_role("row").filter(has_text="现场复查录音")
        expect(row).to_contain_text(expected)
        expect(row).to_contain_text(hashlib.sha256(altered).hexdigest())
        expect(row).to_contain_text("不符")
        _quiet(page)
        axe_check(page)
        screenshot(page, "archivist-verification-failed")
    finally:
        stored.write_bytes(sound)  # the store as it was, for the tests that follow
        stored.chmod(0o444)


def test_the_register_lists_requests_by_its_filters_and_exports_them(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    choose: Choose,
    access: Access,
    tmp_path: Path,
    axe_check: AxeCheck,
    screenshot: Screenshot,
) -> None:
    access.requested("登记簿中的调阅")
    sign_in(page, Role.ARCHIVIST)
    page.goto(f"{platform_url}/console/access-register")
    register = page.get_by_test_id("access-register")
    expect(register.get_by_role("row").filter(has_text="登记簿中的调阅")).to_have_count(1)
    choose(page, "调阅人类型", "相对人")
    page.get_by_role("button", name="查询").click()
    expect(register.get_by_text("登记簿中的调阅")).to_have_count(0)
    choose(page, "调阅人类型", "其他科室")
    page.get_by_label("记录编号").fill(access.recording)
    yesterday = datetime.now(BUREAU).date() - timedelta(days=1)
    _fill_period(page, yesterday, yesterday)
    page.get_by_role("button", name="查询").click()
    expect(register.get_by_text("登记簿中的调阅")).to_have_count(0)
    _fill_period(page, yesterday, yesterday + timedelta(days=1))  # until the end of today
    page.get_by_role("button", name="查询").click()
    expect(register.get_by_role("row").filter(has_text="登记簿中的调阅")).to_have_count(1)
    _quiet(page)
    axe_check(page)
    screenshot(page, "archivist-register")

    with page.expect_download() as started:
        page.get_by_role("button", name="导出 CSV").click()
    download = started.value
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / "register.csv"
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["序号", "登记时间", "调阅人类型", "调阅人"]
    assert {row[2] for row in rows[1:]} == {"其他科室"}
    assert any("登记簿中的调阅" in row for row in rows[1:])
    with page.expect_download() as started:
        page.get_by_role("button", name="导出 XLSX").click()
    assert started.value.suggested_filename.endswith(".xlsx")
    expect(page.get_by_test_id("register-export")).to_contain_text(".xlsx")
