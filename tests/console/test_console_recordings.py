"""Recordings in the console, in a real browser: an officer uploads a file (tus, with its progress,
resumable after a pause and a reload) and finds it listed with its metadata; the section head
ties the day's recordings to their activity; the officer explains the gap between them, and the
compliance finding goes."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from quancheng.common.auth import Role
from quancheng.common.testing.kit import PRE_USE_CHECK, bearer

SignIn = Callable[[Page, Role], None]
Choose = Callable[[Page | Locator, str, str], None]
BUREAU = ZoneInfo("Asia/Shanghai")
OFFICER = "web-officer"


@pytest.fixture(scope="module")
def officer_api(
    platform_url: str, bureau: dict[Role, str], office_api: httpx.Client
) -> Iterator[httpx.Client]:
    """The officer signed in through the API, with a body camera issued to them (ingest knows)."""
    credentials = {"username": OFFICER, "password": bureau[Role.OFFICER]}
    token = httpx.post(f"{platform_url}/api/v1/sign-in", json=credentials).json()["access_token"]
    device = {"kind": "body_camera", "serial_number": "WEB-REC-1", "model": "DSJ"}
    device["section"] = "WEB1"
    device_id = office_api.post("/api/v1/devices", json=device).json()["id"]
    for path, body in (
        ("transitions", {"to": "in_stock"}),
        ("issue", {"officer_id": OFFICER, "check": PRE_USE_CHECK}),
    ):
        moved = office_api.post(f"/api/v1/devices/{device_id}/{path}", json=body)
        assert moved.status_code == 200, moved.text
    with httpx.Client(base_url=platform_url, headers=bearer(token), timeout=30) as client:
        client.headers["X-Test-Device"] = device_id
        params = {"device_id": device_id, "officer_id": OFFICER}
        for _ in range(200):
            if client.get("/api/v1/upload-permission", params=params).status_code == 200:
                yield client
                return
            time.sleep(0.05)
        pytest.fail("ingest never learnt of the officer's device")


def upload(client: httpx.Client, **meta: str) -> str:
    """A recording uploaded by the officer through the API (tus creation-with-upload); its
    record id once stored."""
    data = os.urandom(2048)
    values = {"device_id": client.headers["X-Test-Device"], "officer_id": OFFICER, **meta}
    created = client.post(
        "/files/",
        content=data,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Metadata": ",".join(
                f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items()
            ),
        },
    )
    assert created.status_code == 201, created.text
    upload_id = created.headers["location"].rsplit("/", 1)[1]
    receipt = client.get(f"/api/v1/uploads/{upload_id}/receipt").json()
    assert receipt["record_id"], receipt
    # The catalog learns of the record from ingest's event, a moment after the receipt.
    for _ in range(200):
        if client.get(f"/api/v1/records/{receipt['record_id']}").status_code == 200:
            return str(receipt["record_id"])
        time.sleep(0.05)
    pytest.fail(f"the catalog never learnt of {meta.get('filename')}")


def picker(moment: datetime) -> str:
    """A moment as the console's date-time pickers take it typed in (the bureau's zone)."""
    return moment.astimezone(BUREAU).strftime("%Y-%m-%d %H:%M:%S")


def fill_picker(within: Page | Locator, label: str, moment: datetime) -> None:
    field = within.get_by_role("combobox", name=label)
    field.fill(picker(moment))
    field.press("Enter")


@pytest.mark.req("D-14b")
def test_an_officer_uploads_a_scan_and_finds_it_with_its_metadata(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    choose: Choose,
    officer_api: httpx.Client,
    tmp_path: Path,
    axe_check: Callable[[Page], None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    scan = tmp_path / "现场检查笔录.pdf"
    data = b"%PDF-1.4\n" + os.urandom(300_000)
    scan.write_bytes(data)
    made = datetime.now(BUREAU).replace(microsecond=0) - timedelta(hours=1)
    sign_in(page, Role.OFFICER)
    page.goto(f"{platform_url}/console/uploads")

    form = page.get_by_test_id("upload-form")
    form.get_by_label("选择文件").set_input_files(scan)
    expect(form.get_by_text("现场检查笔录.pdf（293.0 KB）")).to_be_visible()
    choose(form, "采集设备", "执法记录仪 WEB-REC-1")
    fill_picker(form, "制作时间", made)
    form.get_by_role("button", name="开始上传").click()

    expect(form.get_by_text("现场检查笔录.pdf 已保存为原始记录")).to_be_visible()
    expect(form.get_by_text(f"SHA-256 {hashlib.sha256(data).hexdigest()}")).to_be_visible()
    expect(form.get_by_label("上传进度 100%")).to_be_visible()
    row = page.get_by_test_id("uploads").get_by_role("row").filter(has_text="现场检查笔录.pdf")
    expect(row).to_contain_text("已保存")
    axe_check(page)
    screenshot(page, "officer-upload")

    row.get_by_role("button", name="查看").click()
    drawer = page.get_by_role("dialog", name="现场检查笔录.pdf")
    expect(drawer).to_contain_text("文书")
    expect(drawer).to_contain_text(picker(made))
    expect(drawer).to_contain_text(OFFICER)
    expect(drawer).to_contain_text("WEB1")
    expect(drawer).to_contain_text("未关联")

    page.goto(f"{platform_url}/console/records")
    listed = page.get_by_role("row").filter(has_text="现场检查笔录.pdf")
    expect(listed).to_contain_text("文书")
    expect(listed).to_contain_text(picker(made))
    expect(listed).to_contain_text("未关联")


def test_a_paused_upload_goes_on_from_where_it_stopped_after_a_reload(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    choose: Choose,
    officer_api: httpx.Client,
    tmp_path: Path,
) -> None:
    video = tmp_path / "执法过程.mp4"
    video.write_bytes(os.urandom(24 * 1024 * 1024))  # five of the console's 5 MiB requests
    now = datetime.now(BUREAU).replace(microsecond=0)
    sign_in(page, Role.OFFICER)
    page.goto(f"{platform_url}/console/uploads")

    def fill_in(form: Locator) -> None:
        form.get_by_label("选择文件").set_input_files(video)
        choose(form, "采集设备", "执法记录仪 WEB-REC-1")
        fill_picker(form, "拍摄开始", now - timedelta(minutes=50))
        fill_picker(form, "拍摄结束", now - timedelta(minutes=30))
        form.get_by_text("已告知", exact=True).click()

    form = page.get_by_test_id("upload-form")
    fill_in(form)
    # Slow the bytes down so that the pause comes while the upload is under way.
    page.route(re.compile(r"/files/[0-9a-f]{32}$"), _slowly)
    form.get_by_role("button", name="开始上传").click()
    expect(page.get_by_test_id("upload-progress")).to_contain_text(re.compile(r"已上传 [1-9]"))
    form.get_by_role("button", name="暂停").click()
    expect(form.get_by_role("button", name="继续上传")).to_be_visible()
    row = page.get_by_test_id("uploads").get_by_role("row").filter(has_text="执法过程.mp4")
    expect(row).to_contain_text("接收中")
    page.unroute(re.compile(r"/files/[0-9a-f]{32}$"))

    page.reload()
    form = page.get_by_test_id("upload-form")
    fill_in(form)
    form.get_by_role("button", name="开始上传").click()
    expect(page.get_by_test_id("upload-progress")).to_contain_text("已接续上次未完成的上传")
    expect(form.get_by_text("执法过程.mp4 已保存为原始记录")).to_be_visible(timeout=60_000)

    listed = officer_api.get("/api/v1/uploads").json()["items"]
    mine = [u for u in listed if u["filename"] == "执法过程.mp4"]
    assert [u["status"] for u in mine] == ["complete"]  # one upload, taken up again


def _slowly(route: Any) -> None:
    time.sleep(0.5)
    route.continue_()


@pytest.mark.req("A-3")
@pytest.mark.req("D-10a")
def test_the_head_ties_recordings_to_the_activity_and_the_officer_explains_the_gap(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    make_activity: Callable[..., dict[str, Any]],
    officer_api: httpx.Client,
    axe_check: Callable[[Page], None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    start = datetime.now(BUREAU).replace(second=0, microsecond=0) - timedelta(hours=3)
    activity = make_activity(
        "查封危化品仓库", "coercion", "sealing_seizure", start, start + timedelta(minutes=60)
    )
    for name, begins, ends in (("查封-上半段.mp4", 0, 20), ("查封-下半段.mp4", 40, 60)):
        upload(
            officer_api,
            filename=name,
            kind="video",
            captured_at=(start + timedelta(minutes=begins)).isoformat(),
            captured_until=(start + timedelta(minutes=ends)).isoformat(),
            party_informed="true",
        )

    head = officer = page
    sign_in(head, Role.SECTION_HEAD)
    head.goto(f"{platform_url}/console/unassigned")
    for name in ("查封-上半段.mp4", "查封-下半段.mp4"):
        head.get_by_role("row").filter(has_text=name).get_by_role("button", name="关联活动").click()
        dialog = head.get_by_role("dialog", name=f"关联活动：{name}")
        dialog.get_by_role("row").filter(has_text="查封危化品仓库").click()
        dialog.get_by_role("button", name="关联到所选活动").click()
        expect(head.get_by_role("row").filter(has_text=name)).to_have_count(0)
    screenshot(head, "head-unassigned-done")

    sign_in(officer, Role.OFFICER)
    officer.goto(f"{platform_url}/console/activities/{activity['id']}")
    findings = officer.get_by_test_id("findings")
    gap = findings.get_by_role("row").filter(has_text="记录中断且未说明原因")
    expect(gap).to_contain_text(picker(start + timedelta(minutes=20)))
    gap.get_by_role("button", name="说明中断").click()
    dialog = officer.get_by_role("dialog", name="中断情况说明")
    expect(dialog.get_by_role("combobox", name="中断时间")).to_have_value(
        picker(start + timedelta(minutes=20))
    )
    dialog.get_by_label("情况说明").fill("设备电量耗尽，更换电池后继续记录")
    dialog.get_by_role("button", name="提交").click()
    expect(dialog).to_be_hidden()

    expect(officer.get_by_text("未发现问题")).to_be_visible()
    expect(officer.get_by_text("记录中断且未说明原因")).to_have_count(0)
    expect(officer.get_by_role("cell", name="设备电量耗尽，更换电池后继续记录")).to_be_visible()
    axe_check(officer)
    screenshot(officer, "officer-gap-explained")


@pytest.mark.req("C-4")
@pytest.mark.req("E-17")
def test_an_archivist_describes_archives_and_exports_a_case(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    office_api: httpx.Client,
    make_activity: Callable[..., dict[str, Any]],
    officer_api: httpx.Client,
    tmp_path: Path,
    axe_check: Callable[[Page], None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    start = datetime.now(BUREAU).replace(second=0, microsecond=0) - timedelta(hours=5)
    activity = make_activity(
        "烟花爆竹仓库检查",
        "inspection",
        "daily_inspection",
        start,
        start + timedelta(minutes=30),
        case_number="应急检〔2026〕9号",
    )
    record_id = upload(
        officer_api,
        filename="仓库检查.mp4",
        kind="video",
        captured_at=start.isoformat(),
        captured_until=(start + timedelta(minutes=30)).isoformat(),
        party_informed="true",
    )
    tied = office_api.put(
        f"/api/v1/records/{record_id}/activity", json={"activity_id": activity["id"]}
    )
    assert tied.status_code == 200, tied.text

    sign_in(page, Role.ARCHIVIST)
    page.goto(f"{platform_url}/console/activities/{activity['id']}")
    row = page.get_by_role("row").filter(has_text="仓库检查.mp4")
    expect(row).to_contain_text("未著录")
    # An activity whose recordings don't say what they prove is not archived: the API says which.
    page.get_by_role("button", name="归档").click()
    page.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(page.get_by_role("alert").filter(has_text="仓库检查.mp4")).to_be_visible()

    row.get_by_role("button", name="著录").click()
    dialog = page.get_by_role("dialog", name="著录：仓库检查.mp4")
    dialog.get_by_label("证明内容").fill("仓库内超量储存烟花爆竹")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("仓库内超量储存烟花爆竹")
    page.get_by_role("button", name="归档").click()
    page.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(page.get_by_text("已归档", exact=True).first).to_be_visible()

    page.goto(f"{platform_url}/console/archive")
    shelf = page.get_by_role("row").filter(has_text="烟花爆竹仓库检查")
    expect(shelf).to_contain_text("应急检〔2026〕9号")
    expect(page.get_by_role("heading", name=re.compile("日常执法检查"))).to_be_visible()
    axe_check(page)
    screenshot(page, "archivist-archive")
    with page.expect_download() as started:
        shelf.get_by_role("button", name="导出案件档案").click()
    download = started.value
    assert download.suggested_filename.endswith(".zip")
    saved = tmp_path / "case.zip"
    download.save_as(saved)
    with zipfile.ZipFile(saved) as bag:
        names = bag.namelist()
    assert any(n.endswith("bagit.txt") for n in names)
    assert any(n.endswith("仓库检查.mp4") for n in names)
    expect(page.get_by_test_id("export-progress")).to_contain_text("已导出 案件 应急检〔2026〕9号")


@pytest.mark.req("A-5")
def test_the_head_acknowledges_an_exemption_from_the_list_of_those_waiting(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    choose: Choose,
    make_activity: Callable[..., dict[str, Any]],
    officer_api: httpx.Client,
) -> None:
    start = datetime.now(BUREAU).replace(second=0, microsecond=0) - timedelta(hours=6)
    activity = make_activity(
        "查封防爆区域仓库", "coercion", "sealing_seizure", start, start + timedelta(minutes=40)
    )
    filed = officer_api.post(
        f"/api/v1/activities/{activity['id']}/exemptions",
        json={
            "reason": "explosion_hazard",
            "basis": "《安全生产执法音像记录规定》",
            "work_record": "现场为防爆区域，无防爆执法记录仪，未录像",
        },
    )
    assert filed.status_code == 201, filed.text

    sign_in(page, Role.SECTION_HEAD)
    page.goto(f"{platform_url}/console/exemptions")
    row = page.get_by_test_id("exemptions").get_by_role("row").filter(has_text="查封防爆区域仓库")
    expect(row).to_contain_text("易燃易爆区域无防爆设备")
    row.get_by_role("button", name="确认").click()
    expect(row).to_have_count(0)  # no longer waiting

    choose(page, "状态", "已确认")
    page.get_by_role("button", name="查询").click()
    done = page.get_by_test_id("exemptions").get_by_role("row").filter(has_text="查封防爆区域仓库")
    expect(done).to_contain_text("web-head")
