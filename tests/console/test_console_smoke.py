"""The console in a real browser: it opens on its sign-in page, and an account signs in to it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from quancheng.common.auth import Role


def test_an_office_account_signs_in_and_the_console_greets_it_by_name(
    page: Page,
    platform_url: str,
    make_account: Callable[..., str],
    axe_check: Callable[[Page], None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    password = make_account("office-smoke", "赵敏", [Role.OFFICE])

    page.goto(f"{platform_url}/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    screenshot(page, "sign-in")
    axe_check(page)

    page.get_by_label("用户名").fill("office-smoke")
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()

    expect(page.get_by_text("赵敏").first).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/console/sign-in"))
    screenshot(page, "home")
    axe_check(page)
