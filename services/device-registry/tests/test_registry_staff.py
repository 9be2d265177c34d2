"""Sections and officers, and who may be issued a device, through the registry on its own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from quancheng.common.auth import Role
from quancheng.common.testing.kit import TokenFactory, appoint, bearer

GOOD_CHECK: dict[str, Any] = {
    "fault_free": True,
    "battery_percent": 90,
    "free_storage_mb": 32_000,
    "clock_offset_seconds": 1.5,
}


async def issued_device(
    client: httpx.AsyncClient, office: dict[str, str], serial: str, officer: str, section: str
) -> httpx.Response:
    body = {"kind": "body_camera", "serial_number": serial, "model": "DSJ", "section": section}
    created = await client.post("/api/v1/devices", json=body, headers=office)
    assert created.status_code == 201, created.text
    device_id = created.json()["id"]
    stocked = await client.post(
        f"/api/v1/devices/{device_id}/transitions", json={"to": "in_stock"}, headers=office
    )
    assert stocked.status_code == 200, stocked.text
    return await client.post(
        f"/api/v1/devices/{device_id}/issue",
        json={"officer_id": officer, "check": GOOD_CHECK},
        headers=office,
    )


@pytest.mark.req("A-6a")
async def test_the_office_names_a_sections_head_and_custodian_from_its_officers(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    named = await client.patch(
        "/api/v1/sections/JC1",
        json={"head_officer_id": "officer-7", "custodian_officer_id": "officer-8"},
        headers=office,
    )
    assert named.status_code == 200, named.text
    sections = (await client.get("/api/v1/sections", headers=office)).json()["items"]
    jc1 = next(s for s in sections if s["code"] == "JC1")
    assert (jc1["head_officer_id"], jc1["custodian_officer_id"]) == ("officer-7", "officer-8")
    assert (jc1["name"], jc1["supervisory"]) == ("监管一科", True)

    outsider = await client.patch(
        "/api/v1/sections/JC1", json={"custodian_officer_id": "officer-9"}, headers=office
    )
    assert outsider.status_code == 422
    assert outsider.json()["error"] == "leader_not_in_section"
    assert "JC1" in outsider.json()["message_zh"]


@pytest.mark.req("A-6a")
async def test_only_the_office_creates_sections_and_officers(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    head = bearer(token("officer-7", Role.SECTION_HEAD, section="JC1"))
    section = await client.post(
        "/api/v1/sections", json={"code": "X1", "name": "新科室"}, headers=head
    )
    officer = await client.post(
        "/api/v1/officers", json={"id": "x", "name": "某人", "section": "JC1"}, headers=head
    )
    assert (section.status_code, officer.status_code) == (403, 403)
    assert "办公室" in section.json()["message_zh"]


async def test_a_duplicate_section_code_or_name_is_refused(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    same_code = await client.post(
        "/api/v1/sections", json={"code": "JC1", "name": "别的名字"}, headers=office
    )
    same_name = await client.post(
        "/api/v1/sections", json={"code": "JC9", "name": "监管一科"}, headers=office
    )
    bad_code = await client.post(
        "/api/v1/sections", json={"code": "JC 9", "name": "空格"}, headers=office
    )
    assert (same_code.status_code, same_code.json()["error"]) == (409, "section_exists")
    assert (same_name.status_code, same_name.json()["error"]) == (409, "section_name_taken")
    assert bad_code.status_code == 422


@pytest.mark.req("A-6a")
async def test_officers_carry_certificate_section_frontline_and_duty(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    body = {
        "id": "zhao.lei",
        "name": "赵磊",
        "certificate_number": "44010099",
        "section": "JC2",
        "frontline": True,
    }
    created = await client.post("/api/v1/officers", json=body, headers=office)
    assert created.status_code == 201, created.text
    read = (await client.get("/api/v1/officers/zhao.lei", headers=office)).json()
    assert {k: read[k] for k in body} == body
    assert read["active"] is True

    taken = await client.post(
        "/api/v1/officers",
        json={**body, "id": "other", "certificate_number": "44010001"},
        headers=office,
    )
    assert (taken.status_code, taken.json()["error"]) == (409, "certificate_number_taken")
    no_cert = await client.post(
        "/api/v1/officers",
        json={"id": "new.one", "name": "新人", "section": "JC1", "frontline": True},
        headers=office,
    )
    assert (no_cert.status_code, no_cert.json()["error"]) == (422, "certificate_number_required")
    nowhere = await client.post(
        "/api/v1/officers", json={**body, "id": "lost", "section": "NOPE"}, headers=office
    )
    assert (nowhere.status_code, nowhere.json()["error"]) == (422, "unknown_section")


@pytest.mark.req("A-6a")
async def test_who_sees_which_officers(client: httpx.AsyncClient, token: TokenFactory) -> None:
    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["items"]]

    office = bearer(token("office-1", Role.OFFICE))
    await appoint(client, office, "JC1", head="officer-7")
    await appoint(client, office, "JC2", custodian="officer-9")
    head = bearer(token("officer-7", Role.SECTION_HEAD, section="JC1"))
    custodian = bearer(token("officer-9", Role.CUSTODIAN, section="JC2"))
    officer = bearer(token("officer-9", Role.OFFICER, section="JC2"))

    assert ids(await client.get("/api/v1/officers", headers=office)) == [
        "officer-7",
        "officer-8",
        "officer-9",
    ]
    assert ids(await client.get("/api/v1/officers", headers=head)) == ["officer-7", "officer-8"]
    assert ids(await client.get("/api/v1/officers?section=JC1", headers=custodian)) == []
    assert ids(await client.get("/api/v1/officers", headers=custodian)) == ["officer-9"]
    assert ids(await client.get("/api/v1/officers", headers=officer)) == ["officer-9"]
    hidden = await client.get("/api/v1/officers/officer-7", headers=officer)
    assert (hidden.status_code, hidden.json()["error"]) == (404, "officer_not_found")


async def test_officers_are_sorted_by_the_key_asked_for_either_way(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    office = bearer(token("office-1", Role.OFFICE))
    await appoint(client, office, "JC1", head="officer-7")
    head = bearer(token("officer-7", Role.SECTION_HEAD, section="JC1"))

    async def ids(headers: dict[str, str], **query: Any) -> list[str]:
        response = await client.get("/api/v1/officers", params=query, headers=headers)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["items"]]

    assert await ids(office) == ["officer-7", "officer-8", "officer-9"]  # by section, then id
    # The test databases compare names by code point: 张 (officer-9) < 李 (7) < 王 (8).
    assert await ids(office, sort="name") == ["officer-9", "officer-7", "officer-8"]
    assert await ids(office, sort="-name") == ["officer-8", "officer-7", "officer-9"]
    assert await ids(office, sort="-id") == ["officer-9", "officer-8", "officer-7"]
    assert await ids(office, sort="-section") == ["officer-9", "officer-7", "officer-8"]
    pages = [await ids(office, sort="-name", limit=2, offset=offset) for offset in (0, 2)]
    assert pages == [["officer-8", "officer-7"], ["officer-9"]]
    assert await ids(head, sort="-name") == ["officer-8", "officer-7"]
    # Refused whoever asks, even a caller who would see no officer at all.
    for headers in (office, bearer(token("dev-1", Role.DEVICE))):
        unknown = await client.get("/api/v1/officers", params={"sort": "rank"}, headers=headers)
        assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_sort")
        assert unknown.json()["message_zh"].startswith(
            "不支持按 rank 排序，可用：section、id、name"
        )


@pytest.mark.req("A-6a")
async def test_a_device_is_issued_only_to_an_active_officer_of_its_section(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    unknown = await issued_device(client, office, "SN-1", "nobody", "JC1")
    assert (unknown.status_code, unknown.json()["error"]) == (422, "unknown_officer")

    elsewhere = await issued_device(client, office, "SN-2", "officer-9", "JC1")
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (409, "officer_in_other_section")
    assert "张伟" in elsewhere.json()["message_zh"]

    off_duty = await client.patch(
        "/api/v1/officers/officer-8", json={"active": False}, headers=office
    )
    assert off_duty.status_code == 200, off_duty.text
    inactive = await issued_device(client, office, "SN-3", "officer-8", "JC1")
    assert (inactive.status_code, inactive.json()["error"]) == (409, "officer_inactive")

    fine = await issued_device(client, office, "SN-4", "officer-7", "JC1")
    assert fine.status_code == 200, fine.text
    assert fine.json()["officer_id"] == "officer-7"


@pytest.mark.req("A-6a")
async def test_an_officer_holding_a_device_cannot_leave_or_go_off_duty_until_it_is_back(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    issued = await issued_device(client, office, "SN-1", "officer-7", "JC1")
    assert issued.status_code == 200, issued.text

    for change in ({"section": "JC2"}, {"active": False}):
        refused = await client.patch("/api/v1/officers/officer-7", json=change, headers=office)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "officer_holds_devices"
        assert "SN-1" in refused.json()["message_zh"]

    # No body at all: its only field is optional.
    returned = await client.post(f"/api/v1/devices/{issued.json()['id']}/return", headers=office)
    assert returned.status_code == 200, returned.text
    moved = await client.patch(
        "/api/v1/officers/officer-7", json={"section": "JC2"}, headers=office
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["section"] == "JC2"


async def test_a_section_head_cannot_be_moved_away_before_handing_over(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await client.patch(
        "/api/v1/sections/JC1", json={"head_officer_id": "officer-7"}, headers=office
    )

    refused = await client.patch(
        "/api/v1/officers/officer-7", json={"active": False}, headers=office
    )

    assert (refused.status_code, refused.json()["error"]) == (409, "officer_leads_section")
