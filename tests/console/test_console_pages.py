"""Every page of the console, for every role that sees it, in a real browser: it opens without an
error, passes axe-core without a serious or critical finding, and is kept as a screenshot. And
the office's first day: a bureau imported from a spreadsheet (its problems shown row by row
first), a device issued with its pre-use check; the supervisor's dashboard draws its chart."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from quancheng.common.auth import Role

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
        "unassigned",
        "activities",
        "statistics",
        "compliance",
    ],
    Role.SUPERVISOR: ["sections", "officers", "devices", "records", "statistics", "compliance"],
    Role.SECTION_HEAD: ["officers", "devices", "records", "unassigned", "activities"],
    Role.OFFICER: ["devices", "records", "activities"],
    Role.ARCHIVIST: ["records", "activities"],
}
SECTION = "WEB1"


def sign_in(page: Page, platform_url: str, username: str, password: str) -> None:
    page.goto(f"{platform_url}/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/console/sign-in"))


def choose(page: Page, within: Page | Locator, label: str, option: str) -> None:
    """Picks ``option`` in the Element Plus select named ``label`` (its wrapper takes the click)."""
    within.locator(".el-select", has=page.get_by_role("combobox", name=label)).click()
    page.get_by_role("option", name=option, exact=True).click()


@pytest.fixture(scope="module")
def bureau(office_api: httpx.Client, make_account: Callable[..., str]) -> dict[Role, str]:
    """A section with its head and an officer, and an account of every role: username → password."""
    for path, body in (
        ("/api/v1/sections", {"code": SECTION, "name": "网页一科", "supervisory": True}),
        (
            "/api/v1/officers",
            {
                "id": "web-head",
                "name": "周科长",
                "section": SECTION,
                "certificate_number": "WEB-0001",
                "frontline": True,
            },
        ),
        (
            "/api/v1/officers",
            {
                "id": "web-officer",
                "name": "吴执法",
                "section": SECTION,
                "certificate_number": "WEB-0002",
                "frontline": True,
            },
        ),
    ):
        assert office_api.post(path, json=body).status_code == 201
    named = office_api.patch(f"/api/v1/sections/{SECTION}", json={"head_officer_id": "web-head"})
    assert named.status_code == 200, named.text
    names = {
        Role.OFFICE: ("web-office", "钱办公", None),
        Role.SUPERVISOR: ("web-supervisor", "孙监督", None),
        Role.SECTION_HEAD: ("web-head", "周科长", SECTION),
        Role.OFFICER: ("web-officer", "吴执法", SECTION),
        Role.ARCHIVIST: ("web-archivist", "郑档案", None),
    }
    return {
        role: make_account(username, name, [role], section=section)
        for role, (username, name, section) in names.items()
    }


USERNAMES = {
    Role.OFFICE: "web-office",
    Role.SUPERVISOR: "web-supervisor",
    Role.SECTION_HEAD: "web-head",
    Role.OFFICER: "web-officer",
    Role.ARCHIVIST: "web-archivist",
}


@pytest.mark.parametrize("role", list(MENU))
def test_every_page_of_a_role_opens_and_passes_axe(
    role: Role,
    page: Page,
    platform_url: str,
    bureau: dict[Role, str],
    axe_check: Callable[[Page], None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(page, platform_url, USERNAMES[role], bureau[role])
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
    page: Page, platform_url: str, bureau: dict[Role, str]
) -> None:
    sign_in(page, platform_url, USERNAMES[Role.OFFICER], bureau[Role.OFFICER])
    page.goto(f"{platform_url}/console/accounts")
    expect(page.get_by_text("您的角色不能打开“账户”")).to_be_visible()
    expect(page.get_by_role("menuitem", name="账户")).to_have_count(0)


def test_an_expired_session_returns_to_sign_in_saying_so(
    page: Page, platform_url: str, bureau: dict[Role, str]
) -> None:
    sign_in(page, platform_url, USERNAMES[Role.OFFICE], bureau[Role.OFFICE])
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
    bureau: dict[Role, str],
    tmp_path: Path,
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(page, platform_url, USERNAMES[Role.OFFICE], bureau[Role.OFFICE])
    page.goto(f"{platform_url}/console/imports")
    choose(page, page, "CSV 内容", "设备")
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
    choose(page, dialog, "领用人", "吴执法（web-officer）")
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
    bureau: dict[Role, str],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(page, platform_url, USERNAMES[Role.SUPERVISOR], bureau[Role.SUPERVISOR])
    page.get_by_role("menuitem", name="执法监督").click()
    page.get_by_role("menuitem", name="统计分析").click()
    chart = page.get_by_test_id("statistics-chart")
    expect(chart.locator("canvas")).to_be_visible()
    expect(page.get_by_text(re.compile(r"科室：执法活动、音像记录与合规率"))).to_be_visible()
    screenshot(page, "supervisor-statistics")
