"""The catalog learns the registry's staff through the registry's outbox and the bus, in the
whole platform: an officer registered (or moved) in the registry is known (or moved) in the
catalog a moment later, and a section's head acts in both services only while the registry
names them its head (A-6a)."""

from __future__ import annotations

import pytest

from quancheng.common.auth import Role
from quancheng.common.testing.kit import Embedded, TokenFactory, seed_staff, staff_told

ACTIVITY = {
    "kind": "inspection",
    "type": "daily_inspection",
    "matter": "日常检查",
    "section": "JC1",
    "started_at": "2026-11-27T09:00:00+08:00",
}


@pytest.mark.req("A-6a")
async def test_the_catalog_learns_an_officer_from_the_registry(
    embedded: Embedded, token: TokenFactory
) -> None:
    client = embedded.client
    office = embedded.auth(token("office-1", Role.OFFICE))
    await seed_staff(client, office)
    crew = {**ACTIVITY, "officers": ["officer-7", "officer-10"]}

    unknown = await client.post("/api/v1/activities", json=crew, headers=office)
    assert unknown.status_code == 422, unknown.text
    assert "人员 officer-10 未在设备登记中登记" in unknown.json()["message_zh"]

    new = {"id": "officer-10", "name": "赵敏", "section": "JC1", "frontline": False}
    assert (await client.post("/api/v1/officers", json=new, headers=office)).status_code == 201
    await staff_told(client)  # the registry's outbox relayed, the catalog's consumer done
    created = await client.post("/api/v1/activities", json=crew, headers=office)
    assert created.status_code == 201, created.text

    moved = await client.patch(
        "/api/v1/officers/officer-10", json={"section": "JC2"}, headers=office
    )
    assert moved.status_code == 200, moved.text
    await staff_told(client)
    refused = await client.post("/api/v1/activities", json=crew, headers=office)
    assert refused.status_code == 422, refused.text
    assert "赵敏（officer-10）属于科室 JC2" in refused.json()["message_zh"]
    elsewhere = {**crew, "section": "JC2", "officers": ["officer-9", "officer-10"]}
    assert (
        await client.post("/api/v1/activities", json=elsewhere, headers=office)
    ).status_code == 201


@pytest.mark.req("A-6a")
@pytest.mark.req("D-7")
async def test_a_head_acts_in_registry_and_catalog_only_while_the_registry_names_them(
    embedded: Embedded, token: TokenFactory
) -> None:
    client = embedded.client
    office = embedded.auth(token("office-1", Role.OFFICE))
    head = embedded.auth(token("officer-7", Role.SECTION_HEAD, section="JC1"))
    await seed_staff(client, office)
    crew = {**ACTIVITY, "officers": ["officer-8"]}

    before = await client.post("/api/v1/activities", json=crew, headers=head)
    assert before.status_code == 403, before.text
    assert before.json()["error"] == "section_role_not_named"
    assert "officer-7 不是科室 JC1 的负责人" in before.json()["message_zh"]
    listed = await client.get("/api/v1/officers", headers=head)
    assert (listed.status_code, listed.json()["error"]) == (403, "section_role_not_named")

    named = await client.patch(
        "/api/v1/sections/JC1", json={"head_officer_id": "officer-7"}, headers=office
    )
    assert named.status_code == 200, named.text
    officers = await client.get("/api/v1/officers", headers=head)
    assert [o["id"] for o in officers.json()["items"]] == ["officer-7", "officer-8"]
    await staff_told(client)
    created = await client.post("/api/v1/activities", json=crew, headers=head)
    assert created.status_code == 201, created.text
