"""Local accounts: the office creates them, their holders sign in for the same RS256 tokens any
trusted issuer gives, failed sign-ins lock an account, and passwords are kept as argon2id only."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import select

from quancheng.access_gateway.models import Account
from quancheng.common.auth import Role
from quancheng.common.db import session_scope
from quancheng.common.testing.kit import Embedded, Headers, TokenFactory, bearer, database_of

FIRST = "Start-pass-2026"
OWN = "Own-choice-2027"
ACCOUNT = {
    "username": "officer-7",
    "display_name": "李明",
    "roles": ["officer"],
    "section": "JC1",
    "clearance": "secret",
    "password": FIRST,
}


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/sign-in", json={"username": username, "password": password})


async def test_the_office_creates_an_account_and_its_holder_signs_in_as_it_says(
    embedded: Embedded, office: Headers
) -> None:
    client = embedded.client
    created = await client.post("/api/v1/accounts", headers=office, json=ACCOUNT)
    assert created.status_code == 201, created.text
    assert created.json()["role_labels"] == ["执法人员"]
    assert FIRST not in created.text
    assert "$argon2" not in created.text

    signed_in = await sign_in(client, "officer-7", FIRST)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["token_type"] == "Bearer"
    assert signed_in.json()["must_change_password"] is True
    token = signed_in.json()["access_token"]
    me = (await client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["subject"] == "officer-7"
    assert [r["role"] for r in me["roles"]] == ["officer"]
    assert me["section"] == "JC1"
    assert me["clearance"]["level"] == "secret"
    # The token is one the services accept too, not only the gateway.
    assert (await client.get("/api/v1/records", headers=bearer(token))).status_code == 200

    changed = await client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": FIRST, "new_password": OWN},
    )
    assert changed.status_code == 204, changed.text
    assert (await sign_in(client, "officer-7", FIRST)).status_code == 401
    again = await sign_in(client, "officer-7", OWN)
    assert again.status_code == 200
    assert again.json()["must_change_password"] is False

    async with database_of(embedded.settings, "access-gateway") as db, session_scope(db) as s:
        stored = (await s.exec(select(Account))).one()
    assert stored.password_hash.startswith("$argon2id$")
    assert OWN not in stored.password_hash


async def test_failed_sign_ins_lock_the_account_until_the_office_unlocks_it(
    embedded: Embedded, office: Headers
) -> None:
    client = embedded.client
    assert (await client.post("/api/v1/accounts", headers=office, json=ACCOUNT)).is_success
    unknown = await sign_in(client, "nobody", FIRST)

    wrong = [await sign_in(client, "officer-7", "guess-123") for _ in range(5)]
    locked = await sign_in(client, "officer-7", FIRST)  # the right password, too late

    assert [r.status_code for r in wrong] == [401] * 5
    assert wrong[0].json() == unknown.json()  # no telling which usernames exist
    assert unknown.json()["message_zh"] == "用户名或密码错误"
    assert locked.status_code == 429
    assert "账户已锁定" in locked.json()["message_zh"]
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    listed = (await client.get("/api/v1/accounts", headers=office)).json()
    assert listed["items"][0]["locked_until"] is not None

    unlocked = await client.patch(
        "/api/v1/accounts/officer-7", headers=office, json={"unlock": True}
    )
    assert unlocked.status_code == 200, unlocked.text
    assert (await sign_in(client, "officer-7", FIRST)).status_code == 200


async def test_the_accounts_are_sorted_by_the_key_asked_for_either_way(
    embedded: Embedded, office: Headers
) -> None:
    client = embedded.client
    for username, name in (("officer-8", "王芳"), ("officer-9", "张伟"), ("officer-7", "李明")):
        body = {**ACCOUNT, "username": username, "display_name": name}
        assert (await client.post("/api/v1/accounts", headers=office, json=body)).is_success

    async def usernames(**query: Any) -> list[str]:
        response = await client.get("/api/v1/accounts", params=query, headers=office)
        assert response.status_code == 200, response.text
        return [a["username"] for a in response.json()["items"]]

    assert await usernames() == ["officer-7", "officer-8", "officer-9"]
    assert await usernames(sort="-username") == ["officer-9", "officer-8", "officer-7"]
    # The test databases compare names by code point: 张 < 李 < 王.
    assert await usernames(sort="display_name") == ["officer-9", "officer-7", "officer-8"]
    assert await usernames(sort="-display_name") == ["officer-8", "officer-7", "officer-9"]
    assert await usernames(sort="created_at") == ["officer-8", "officer-9", "officer-7"]
    assert await usernames(sort="-created_at") == ["officer-7", "officer-9", "officer-8"]
    pages = [await usernames(sort="-display_name", limit=2, offset=o) for o in (0, 2)]
    assert pages == [["officer-8", "officer-7"], ["officer-9"]]
    unknown = await client.get("/api/v1/accounts", params={"sort": "roles"}, headers=office)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_sort")
    assert unknown.json()["message_zh"].startswith(
        "不支持按 roles 排序，可用：username、display_name、created_at、updated_at"
    )


async def test_a_successful_sign_in_starts_the_count_of_failures_over(
    embedded: Embedded, office: Headers
) -> None:
    client = embedded.client
    assert (await client.post("/api/v1/accounts", headers=office, json=ACCOUNT)).is_success
    for _ in range(4):
        await sign_in(client, "officer-7", "guess-123")
    assert (await sign_in(client, "officer-7", FIRST)).status_code == 200
    later = [await sign_in(client, "officer-7", "guess-123") for _ in range(4)]
    assert [r.status_code for r in later] == [401] * 4
    assert (await sign_in(client, "officer-7", FIRST)).status_code == 200


async def test_the_office_disables_and_resets_accounts_and_only_the_office_may(
    embedded: Embedded, office: Headers, token: TokenFactory
) -> None:
    client = embedded.client
    officer = bearer(token("officer-8", Role.OFFICER, section="JC1"))
    refused = await client.post("/api/v1/accounts", headers=officer, json=ACCOUNT)
    assert refused.status_code == 403
    assert (await client.post("/api/v1/accounts", headers=office, json=ACCOUNT)).is_success

    disabled = await client.patch(
        "/api/v1/accounts/officer-7", headers=office, json={"disabled": True}
    )
    assert disabled.json()["disabled"] is True
    blocked = await sign_in(client, "officer-7", FIRST)
    assert blocked.status_code == 403
    assert blocked.json()["message_zh"] == "该账户已停用"

    reset = await client.patch(
        "/api/v1/accounts/officer-7",
        headers=office,
        json={"disabled": False, "password": "Reset-pass-2028", "section": None},
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["section"] is None
    assert (await sign_in(client, "officer-7", FIRST)).status_code == 401
    fresh = await sign_in(client, "officer-7", "Reset-pass-2028")
    assert fresh.json()["must_change_password"] is True


async def test_bad_accounts_and_passwords_are_refused_with_the_reason(
    embedded: Embedded, office: Headers
) -> None:
    client = embedded.client

    async def create(**change: object) -> httpx.Response:
        return await client.post("/api/v1/accounts", headers=office, json={**ACCOUNT, **change})

    weak = await create(password="short")
    with_name = await create(password="Officer-7-pass")
    device_role = await create(roles=["device"])
    no_role = await create(roles=[])
    bad_name = await create(username="../etc")
    assert (await create()).status_code == 201
    taken = await create()

    assert weak.status_code == 422
    assert weak.json()["error"] == "weak_password"
    assert "至少 10 位" in weak.json()["message_zh"]
    assert with_name.json()["error"] == "weak_password"
    assert [r.status_code for r in (device_role, no_role, bad_name)] == [422] * 3
    assert taken.status_code == 409
    assert taken.json()["message_zh"] == "账户 officer-7 已存在"

    token = (await sign_in(client, "officer-7", FIRST)).json()["access_token"]
    wrong = await client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": "not-it", "new_password": OWN},
    )
    same = await client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": FIRST, "new_password": FIRST},
    )
    assert wrong.status_code == 403
    assert wrong.json()["message_zh"] == "当前密码不正确"
    assert same.status_code == 422


async def test_the_office_cannot_lock_itself_out(embedded: Embedded, office: Headers) -> None:
    client = embedded.client
    mine = {**ACCOUNT, "username": "office-1", "roles": ["office"], "section": None}
    assert (await client.post("/api/v1/accounts", headers=office, json=mine)).is_success

    disabled = await client.patch(
        "/api/v1/accounts/office-1", headers=office, json={"disabled": True}
    )
    demoted = await client.patch(
        "/api/v1/accounts/office-1", headers=office, json={"roles": ["officer"]}
    )

    assert disabled.status_code == demoted.status_code == 409
    assert (await sign_in(client, "office-1", FIRST)).status_code == 200
