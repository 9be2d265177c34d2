"""Enterprises in the console, in a real browser: the office registers one (a wrong credit code
refused with the API's reason), lists sort on the server by a column header, and an enterprise's
file 一企一档 shows its activities and exports its archive."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from quancheng.common.auth import Role

SignIn = Callable[[Page, Role], None]
BUREAU = ZoneInfo("Asia/Shanghai")
# Valid credit codes (GB 32100-2015), in the order their names sort.
ENTERPRISES = {
    "安达化工有限公司": "91350100M000100Y43",
    "博远烟花爆竹有限公司": "914403001922038216",
}


def rows(table: Locator) -> list[str]:
    return [text.strip() for text in table.locator("tbody tr td:first-child").all_inner_texts()]


@pytest.fixture(scope="module")
def enterprises(office_api: httpx.Client) -> dict[str, str]:
    """The enterprises above, registered through the API: name → id."""
    found = {}
    for name, code in ENTERPRISES.items():
        created = office_api.post("/api/v1/enterprises", json={"name": name, "credit_code": code})
        assert created.status_code == 201, created.text
        found[name] = created.json()["id"]
    return found


@pytest.mark.req("E-16")
def test_the_office_registers_an_enterprise_and_sorts_the_list(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    enterprises: dict[str, str],
    axe_check: Callable[[Page], None],
) -> None:
    sign_in(page, Role.OFFICE)
    page.goto(f"{platform_url}/console/enterprises")
    page.get_by_role("button", name="登记企业").click()
    dialog = page.get_by_role("dialog", name="登记企业")
    dialog.get_by_label("企业名称").fill("创新危化品储运有限公司")
    dialog.get_by_label("统一社会信用代码").fill("91110000600037341X")  # a wrong check character
    dialog.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").filter(has_text="统一社会信用代码")).to_be_visible()
    dialog.get_by_label("统一社会信用代码").fill("91110000600037341L")
    dialog.get_by_label("重大危险源").fill("液氨储罐")
    dialog.get_by_label("重大危险源").press("Enter")
    # A click elsewhere closes the select's options, which would cover the buttons below it.
    dialog.get_by_label("企业名称").click()
    expect(page.get_by_role("listbox", name="重大危险源")).to_be_hidden()
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()

    table = page.locator(".el-table")
    expect(table).to_contain_text("创新危化品储运有限公司")
    listed = ["安达化工有限公司", "博远烟花爆竹有限公司", "创新危化品储运有限公司"]
    by_name = sorted(listed)  # code-point order, as the test databases sort
    header = table.get_by_role("columnheader", name="企业名称")
    header.click()  # ascending
    expect(table.locator("tbody tr").first).to_contain_text(by_name[0])
    assert rows(table) == by_name
    header.click()  # descending
    expect(table.locator("tbody tr").first).to_contain_text(by_name[-1])
    assert rows(table) == by_name[::-1]
    axe_check(page)


@pytest.mark.req("E-3")
def test_an_enterprises_file_shows_its_activities_and_exports_its_archive(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    make_activity: Callable[..., dict[str, Any]],
    enterprises: dict[str, str],
    tmp_path: Path,
    axe_check: Callable[[Page], None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    start = datetime.now(BUREAU).replace(second=0, microsecond=0) - timedelta(days=1)
    enterprise_id = enterprises["安达化工有限公司"]
    make_activity(
        "安达化工储罐区检查",
        "inspection",
        "daily_inspection",
        start,
        start + timedelta(hours=1),
        enterprise_id=enterprise_id,
        hidden_dangers_found=2,
    )

    sign_in(page, Role.ARCHIVIST)
    page.goto(f"{platform_url}/console/enterprises")
    page.get_by_role("link", name="安达化工有限公司").click()
    expect(page.get_by_text("一企一档：安达化工有限公司")).to_be_visible()
    expect(page.get_by_role("link", name="安达化工储罐区检查")).to_be_visible()
    expect(page.locator(".figure").filter(has_text="发现隐患")).to_contain_text("2")
    axe_check(page)
    screenshot(page, "archivist-enterprise-file")

    with page.expect_download() as started:
        page.get_by_role("button", name="导出电子档案").click()
    saved = tmp_path / "enterprise.zip"
    started.value.save_as(saved)
    with zipfile.ZipFile(saved) as bag:
        assert any(name.endswith("bagit.txt") for name in bag.namelist())
    expect(page.get_by_test_id("export-progress")).to_contain_text("已导出")
