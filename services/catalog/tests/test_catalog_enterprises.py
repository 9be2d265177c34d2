"""Enterprises (一企一档, E-3/E-16): registered with a verified unified social credit code, found
by a fragment of their Chinese name, and kept in step by the district's platform without
duplicates."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from quancheng.common.auth import Role
from quancheng.common.testing.kit import TokenFactory

# Real codes (published by the companies), so the check character is known to be right.
HUAWEI = "914403001922038216"
TENCENT = "9144030071526726XG"
ALIBABA = "91330100716105852F"


def enterprise(name: str, code: str, **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "credit_code": code,
        "legal_representative": "张伟",
        "address": "江城区化工园区纬二路 8 号",
        "industry": "危险化学品生产",
        "region": "江城街道",
        "hazardous_processes": ["氯化工艺", "硝化工艺"],
        "hazardous_equipment": ["液氯汽化器"],
        "major_hazard_sources": ["液氯储罐区（二级）"],
        "risk": {"level": "较大风险", "open_hidden_dangers": 2},
        **more,
    }


async def test_an_enterprise_is_registered_with_its_whole_file(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/enterprises", json=enterprise("江城精细化工有限公司", HUAWEI), headers=office
    )

    assert created.status_code == 201, created.text
    body = created.json()
    fetched = (await client.get(f"/api/v1/enterprises/{body['id']}", headers=office)).json()
    assert fetched == body
    assert (body["name"], body["credit_code"], body["region"]) == (
        "江城精细化工有限公司",
        HUAWEI,
        "江城街道",
    )
    assert body["hazardous_processes"] == ["氯化工艺", "硝化工艺"]
    assert body["hazardous_equipment"] == ["液氯汽化器"]
    assert body["risk"] == {"level": "较大风险", "open_hidden_dangers": 2}


@pytest.mark.parametrize(
    ("code", "why", "why_zh"),
    [
        ("914403001922038217", "check character", "校验位"),  # the last character mistyped
        ("91440300192203821", "18 characters", "应为 18 位"),
        ("91440300I92203821O", "18 characters", "应为 18 位"),  # I and O are not used
    ],
)
async def test_a_credit_code_that_is_not_valid_is_refused_and_says_why(
    client: httpx.AsyncClient, office: dict[str, str], code: str, why: str, why_zh: str
) -> None:
    response = await client.post(
        "/api/v1/enterprises", json=enterprise("某公司", code), headers=office
    )

    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["field"] == "body.credit_code"
    assert why in problem["problem"]
    assert why_zh in problem["problem_zh"]
    assert "不是有效的统一社会信用代码" in response.json()["message_zh"]


async def test_one_credit_code_is_one_enterprise(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    first = await client.post(
        "/api/v1/enterprises", json=enterprise("江城精细化工有限公司", HUAWEI), headers=office
    )
    again = await client.post(
        "/api/v1/enterprises", json=enterprise("另一个名字", HUAWEI.lower()), headers=office
    )

    assert (again.status_code, again.json()["error"]) == (409, "enterprise_exists")
    assert again.json()["enterprise_id"] == first.json()["id"]
    assert "已登记" in again.json()["message_zh"]


async def test_a_fragment_of_a_chinese_name_finds_the_enterprise(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory
) -> None:
    for name, code in (
        ("江城精细化工有限公司", HUAWEI),
        ("江城港务集团", TENCENT),
        ("北岸烟花爆竹批发部", ALIBABA),
    ):
        response = await client.post(
            "/api/v1/enterprises", json=enterprise(name, code), headers=office
        )
        assert response.status_code == 201, response.text
    officer = {"Authorization": f"Bearer {token('officer-7', Role.OFFICER, section='JC1')}"}

    async def names(q: str) -> list[str]:
        response = await client.get("/api/v1/enterprises", params={"q": q}, headers=officer)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert await names("化工") == ["江城精细化工有限公司"]
    assert await names("江城") == ["江城港务集团", "江城精细化工有限公司"]
    assert await names("烟花") == ["北岸烟花爆竹批发部"]
    assert await names("9144030071") == ["江城港务集团"]  # the start of a credit code
    assert await names("%") == []  # a wildcard is a character like any other
    assert await names("钢铁") == []


async def test_enterprises_are_sorted_by_name_or_credit_code_either_way(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    for name, code in (
        ("江城精细化工有限公司", HUAWEI),
        ("江城港务集团", TENCENT),
        ("北岸烟花爆竹批发部", ALIBABA),
    ):
        response = await client.post(
            "/api/v1/enterprises", json=enterprise(name, code), headers=office
        )
        assert response.status_code == 201, response.text

    async def codes(**query: Any) -> list[str]:
        response = await client.get("/api/v1/enterprises", params=query, headers=office)
        assert response.status_code == 200, response.text
        return [item["credit_code"] for item in response.json()["items"]]

    assert await codes() == [ALIBABA, TENCENT, HUAWEI]  # by name
    assert await codes(sort="-name") == [HUAWEI, TENCENT, ALIBABA]
    assert await codes(sort="credit_code") == [ALIBABA, HUAWEI, TENCENT]
    assert await codes(sort="-credit_code") == [TENCENT, HUAWEI, ALIBABA]
    pages = [await codes(sort="-credit_code", limit=2, offset=o) for o in (0, 2)]
    assert pages == [[TENCENT, HUAWEI], [ALIBABA]]
    unknown = await client.get("/api/v1/enterprises", params={"sort": "region"}, headers=office)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_sort")
    assert unknown.json()["message_zh"].startswith("不支持按 region 排序，可用：name、credit_code")


async def test_the_platform_s_retried_calls_never_make_a_second_enterprise(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory
) -> None:
    platform = {"Authorization": f"Bearer {token('district-platform', Role.INTEGRATION)}"}
    url = "/api/v1/enterprises/external/QY-2026-0042"

    created = await client.put(url, json=enterprise("江城港务集团", TENCENT), headers=platform)
    retried = await client.put(url, json=enterprise("江城港务集团", TENCENT), headers=platform)
    renamed = await client.put(
        url, json=enterprise("江城港务集团有限公司", TENCENT), headers=platform
    )
    # An enterprise the bureau registered itself is recognised by its credit code.
    own = await client.post(
        "/api/v1/enterprises", json=enterprise("江城精细化工有限公司", HUAWEI), headers=office
    )
    adopted = await client.put(
        "/api/v1/enterprises/external/QY-2026-0043",
        json=enterprise("江城精细化工有限公司", HUAWEI),
        headers=platform,
    )
    clash = await client.put(
        "/api/v1/enterprises/external/QY-2026-0044",
        json=enterprise("冒用代码", TENCENT),
        headers=platform,
    )

    assert (created.status_code, retried.status_code, renamed.status_code) == (201, 200, 200)
    assert created.json()["id"] == retried.json()["id"] == renamed.json()["id"]
    assert renamed.json()["name"] == "江城港务集团有限公司"
    assert (adopted.status_code, adopted.json()["id"]) == (200, own.json()["id"])
    assert adopted.json()["external_id"] == "QY-2026-0043"
    assert (clash.status_code, clash.json()["error"]) == (409, "enterprise_exists")
    everything = (await client.get("/api/v1/enterprises", headers=office)).json()
    assert everything["total"] == 2


async def test_the_platform_s_calls_sent_twice_at_once_make_one_enterprise_and_one_activity(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory
) -> None:
    # A platform that times out and resends while the first call is still being handled: the
    # two race for the same id (on PostgreSQL they really run side by side).
    platform = {"Authorization": f"Bearer {token('district-platform', Role.INTEGRATION)}"}
    body = enterprise("江城港务集团", TENCENT)
    twice = await asyncio.gather(
        *(
            client.put("/api/v1/enterprises/external/QY-7", json=body, headers=platform)
            for _ in range(2)
        )
    )
    activity = {
        "kind": "inspection",
        "type": "daily_inspection",
        "matter": "日常检查",
        "section": "JC1",
        "officers": ["officer-7"],
        "started_at": "2026-11-27T09:00:00+08:00",
    }
    again = await asyncio.gather(
        *(
            client.put("/api/v1/activities/external/ACT-7", json=activity, headers=platform)
            for _ in range(2)
        )
    )

    for pair in (twice, again):
        assert sorted(r.status_code for r in pair) == [200, 201], [r.text for r in pair]
        assert pair[0].json()["id"] == pair[1].json()["id"]
    assert (await client.get("/api/v1/enterprises", headers=office)).json()["total"] == 1
    assert (await client.get("/api/v1/activities", headers=office)).json()["total"] == 1


async def test_a_creating_call_sent_again_with_its_idempotency_key_creates_nothing_more(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory
) -> None:
    keyed = {**office, "Idempotency-Key": "req-0001"}
    body = enterprise("江城港务集团", TENCENT)
    first = await client.post("/api/v1/enterprises", json=body, headers=keyed)
    again = await client.post("/api/v1/enterprises", json=body, headers=keyed)
    changed = await client.post(
        "/api/v1/enterprises", json=enterprise("别的企业", HUAWEI), headers=keyed
    )
    activity = {
        "kind": "inspection",
        "type": "daily_inspection",
        "matter": "日常检查",
        "section": "JC1",
        "officers": ["officer-7"],
        "started_at": "2026-11-27T09:00:00+08:00",
    }
    at_once = await asyncio.gather(
        *(
            client.post(
                "/api/v1/activities", json=activity, headers={**office, "Idempotency-Key": "a-1"}
            )
            for _ in range(2)
        )
    )
    # Keys are the caller's own: another caller's "a-1" is another request.
    platform = {"Authorization": f"Bearer {token('district-platform', Role.INTEGRATION)}"}
    theirs = await client.post(
        "/api/v1/activities", json=activity, headers={**platform, "Idempotency-Key": "a-1"}
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert (changed.status_code, changed.json()["error"]) == (422, "idempotency_key_reused")
    assert "幂等键" in changed.json()["message_zh"]
    assert sorted(r.status_code for r in at_once) == [200, 201], [r.text for r in at_once]
    assert at_once[0].json()["id"] == at_once[1].json()["id"]
    assert theirs.status_code == 201
    assert theirs.json()["id"] != at_once[0].json()["id"]
    assert (await client.get("/api/v1/enterprises", headers=office)).json()["total"] == 1
    assert (await client.get("/api/v1/activities", headers=office)).json()["total"] == 2


async def test_only_the_office_and_the_platform_change_enterprises(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory
) -> None:
    officer = {"Authorization": f"Bearer {token('officer-7', Role.OFFICER, section='JC1')}"}
    device = {"Authorization": f"Bearer {token('dev-1', Role.DEVICE, section='JC1')}"}
    created = await client.post(
        "/api/v1/enterprises", json=enterprise("江城精细化工有限公司", HUAWEI), headers=office
    )
    path = f"/api/v1/enterprises/{created.json()['id']}"

    by_officer = await client.post(
        "/api/v1/enterprises", json=enterprise("某公司", TENCENT), headers=officer
    )
    edit_by_officer = await client.put(path, json=enterprise("改名", HUAWEI), headers=officer)
    read_by_device = await client.get(path, headers=device)
    corrected = await client.put(
        path, json=enterprise("江城精细化工股份有限公司", HUAWEI), headers=office
    )

    assert (by_officer.status_code, edit_by_officer.status_code) == (403, 403)
    assert "此操作需要以下角色之一" in by_officer.json()["message_zh"]
    assert read_by_device.status_code == 403
    assert (corrected.status_code, corrected.json()["name"]) == (200, "江城精细化工股份有限公司")
    missing = await client.get(
        "/api/v1/enterprises/00000000-0000-0000-0000-000000000000", headers=office
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "enterprise_not_found")
