"""Every page of the console, for every role that sees it, in a real browser: it opens without an
error, passes axe-core without a serious or critical finding, and is kept as a screenshot. And
the office's first day: a bureau imported from a spreadsheet (its problems shown row by row
first), a device issued with its pre-use check; the supervisor's dashboard draws its chart."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from quancheng.common.auth import Role

SignIn = Callable[[Page, Role], None]
Choose = Callable[[Page | Locator, str, str], None]

MENU: dict[Role, list[str]] = {
    Role.OFFICE: [
        "sections",
        "officers",
        "accounts",
        "imports",
        "devices",
        "allocation",
        "docking-stations",
        "records",
        "uploads",
        "unassigned",
        "exemptions",
        "activities",
        "enterprises",
        "archive",
        "access",
        "access-register",
        "statistics",
        "compliance",
    ],
    Role.SUPERVISOR: [
        "sections",
        "officers",
        "devices",
        "records",
        "uploads",
        "exemptions",
        "enterprises",
        "archive",
        "access",
        "access-register",
        "statistics",
        "compliance",
    ],
    Role.SECTION_HEAD: [
        "officers",
        "devices",
        "records",
        "uploads",
        "unassigned",
        "exemptions",
        "activities",
        "enterprises",
        "archive",
        "access",
        "approvals",
    ],
    Role.OFFICER: ["devices", "records", "uploads", "activities", "enterprises", "access"],
    Role.ARCHIVIST: [
        "records",
        "activities",
        "enterprises",
        "archive",
        "access",
        "access-register",
    ],
}


@pytest.mark.parametrize("role", list(MENU))
def test_every_page_of_a_role_opens_and_passes_axe(
    role: Role,
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    axe_check: Callable[[Page], None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(page, role)
    menu = page.get_by_role("menubar", name="主菜单")
    expect(menu).to_be_visible()
    axe_check(page)
    screenshot(page, f"{role.value}-home")
    for name in MENU[role]:
        page.goto(f"{platform_url}/console/{name}")
        page.wait_for_load_state("networkidle")
        expect(page.locator(".el-breadcrumb")).to_contain_text("首页")
        expect(page.get_by_text("您的角色不能打开")).to_have_count(0)
        axe_check(page)
        screenshot(page, f"{role.value}-{name}")


def test_a_page_outside_the_roles_is_not_opened(
    page: Page, platform_url: str, sign_in: SignIn
) -> None:
    sign_in(page, Role.OFFICER)
    page.goto(f"{platform_url}/console/accounts")
    expect(page.get_by_text("您的角色不能打开“账户”")).to_be_visible()
    expect(page.get_by_role("menuitem", name="账户")).to_have_count(0)


def test_an_expired_session_returns_to_sign_in_saying_so(
    page: Page, platform_url: str, sign_in: SignIn
) -> None:
    sign_in(page, Role.OFFICE)
    # The token the tab keeps runs out (as after an hour): the next page says so.
    page.evaluate(
        """() => {
            const saved = JSON.parse(sessionStorage.getItem('quancheng.session'))
            saved.claims.exp = 1
            sessionStorage.setItem('quancheng.session', JSON.stringify(saved))
        }"""
    )
    page.goto(f"{platform_url}/console/devices")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?expired=1"))
    expect(page.get_by_text("登录状态已过期，请重新登录")).to_be_visible()


def test_the_office_imports_a_bureau_and_issues_a_device(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    choose: Choose,
    tmp_path: Path,
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(page, Role.OFFICE)
    page.goto(f"{platform_url}/console/imports")
    choose(page, "CSV 内容", "设备")
    wrong = tmp_path / "设备.csv"
    wrong.write_text(
        "设备类型,序列号,型号,所属科室\n执法记录仪,WEB-BC-1,DSJ-V9,WEB1\n望远镜,WEB-X-2,X,WEB1\n",
        encoding="utf-8",
    )
    page.get_by_label("选择表格文件").set_input_files(wrong)
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("3")  # the row of the unknown kind, with its problem
    expect(page.get_by_text("未导入任何数据")).to_be_visible()
    screenshot(page, "office-import-problems")

    right = tmp_path / "devices.csv"
    right.write_text(
        "设备类型,序列号,型号,所属科室\n执法记录仪,WEB-BC-1,DSJ-V9,WEB1\n",
        encoding="utf-8",
    )
    page.get_by_label("选择表格文件").set_input_files(right)
    expect(page.get_by_text("导入完成")).to_be_visible()
    expect(page.get_by_role("cell", name="设备", exact=True)).to_be_visible()

    page.goto(f"{platform_url}/console/devices")
    row = page.get_by_role("row").filter(has_text="WEB-BC-1")
    expect(row).to_contain_text("已登记")
    # A registered device is put in stock before it can be issued.
    row.get_by_role("button", name="状态变更").click()
    page.get_by_role("menuitem", name="在库").click()
    page.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(row).to_contain_text("在库")
    row.get_by_role("button", name="发放").click()
    dialog = page.get_by_role("dialog", name="发放设备 WEB-BC-1")
    choose(dialog, "领用人", "吴执法（web-officer）")
    dialog.get_by_role("spinbutton", name="电量（%）").fill("20")
    dialog.get_by_role("button", name="检查并发放").click()
    # The failed check is refused with the failed item named, and the device stays in stock.
    expect(page.get_by_role("alert").filter(has_text="电量")).to_be_visible()
    expect(row).to_contain_text("在库")
    dialog.get_by_role("spinbutton", name="电量（%）").fill("90")
    dialog.get_by_role("button", name="检查并发放").click()
    expect(row).to_contain_text("已发放")
    expect(row).to_contain_text("web-officer")
    screenshot(page, "office-device-issued")


def test_the_supervisors_dashboard_draws_its_chart(
    page: Page,
    platform_url: str,
    sign_in: SignIn,
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(page, Role.SUPERVISOR)
    page.get_by_role("menuitem", name="执法监督").click()
    page.get_by_role("menuitem", name="统计分析").click()
    chart = page.get_by_test_id("statistics-chart")
    expect(chart.locator("canvas")).to_be_visible()
    expect(page.get_by_text(re.compile(r"科室：执法活动、音像记录与合规率"))).to_be_visible()
    screenshot(page, "supervisor-statistics")
