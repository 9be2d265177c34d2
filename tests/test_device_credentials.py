"""Upload credentials of devices and docking stations, end to end through the gateway: the
client credentials exchange, revocation taking effect on the next request, and ingest's rule
that an upload comes from a device issued to the officer it names."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import httpx
import jwt
import pytest

from quancheng.common.auth import Role
from quancheng.common.testing.kit import Embedded, TokenFactory, appoint, seed_staff

GOOD_CHECK: dict[str, Any] = {
    "fault_free": True,
    "battery_percent": 90,
    "free_storage_mb": 32_000,
    "clock_offset_seconds": -12.5,
}


class Bureau:
    def __init__(self, embedded: Embedded, token: TokenFactory) -> None:
        self.client = embedded.client
        self.office = embedded.auth(token("office-1", Role.OFFICE))
        self.auth = embedded.auth

    async def device(self, serial: str, section: str = "JC1", officer: str | None = None) -> str:
        body = {"kind": "body_camera", "serial_number": serial, "model": "DSJ", "section": section}
        created = await self.client.post("/api/v1/devices", json=body, headers=self.office)
        assert created.status_code == 201, created.text
        device_id: str = created.json()["id"]
        await self.move(device_id, "in_stock")
        if officer is not None:
            issued = await self.client.post(
                f"/api/v1/devices/{device_id}/issue",
                json={"officer_id": officer, "check": GOOD_CHECK},
                headers=self.office,
            )
            assert issued.status_code == 200, issued.text
        return device_id

    async def move(self, device_id: str, to: str) -> None:
        response = await self.client.post(
            f"/api/v1/devices/{device_id}/transitions", json={"to": to}, headers=self.office
        )
        assert response.status_code == 200, response.text

    async def credentials(self, path: str) -> dict[str, Any]:
        response = await self.client.post(path, headers=self.office)
        assert response.status_code == 201, response.text
        issued: dict[str, Any] = response.json()
        return issued

    async def exchange(self, creds: dict[str, Any]) -> httpx.Response:
        form = {
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
        return await self.client.post("/api/v1/device-tokens", data=form)

    async def token_for(self, creds: dict[str, Any]) -> dict[str, str]:
        response = await self.exchange(creds)
        assert response.status_code == 200, response.text
        return self.auth(response.json()["access_token"])

    async def permission(
        self, headers: dict[str, str], device_id: str, officer: str
    ) -> httpx.Response:
        return await self.client.get(
            "/api/v1/upload-permission",
            params={"device_id": device_id, "officer_id": officer},
            headers=headers,
        )

    async def eventually_permitted(
        self, headers: dict[str, str], device_id: str, officer: str
    ) -> httpx.Response:
        """Ingest learns of the issue from the registry's event, a moment after it happens."""
        deadline = time.monotonic() + 10
        while True:
            response = await self.permission(headers, device_id, officer)
            if response.status_code == 200 or time.monotonic() > deadline:
                return response
            await asyncio.sleep(0.1)


@pytest.fixture
async def bureau(embedded: Embedded, token: TokenFactory) -> Bureau:
    bureau = Bureau(embedded, token)
    await seed_staff(embedded.client, bureau.office)
    return bureau


@pytest.mark.req("A-6a")
async def test_a_device_trades_its_credentials_for_a_short_lived_upload_token(
    bureau: Bureau,
) -> None:
    device_id = await bureau.device("BC-1", officer="officer-7")
    creds = await bureau.credentials(f"/api/v1/devices/{device_id}/credentials")
    assert len(creds["client_secret"]) >= 40

    response = await bureau.exchange(creds)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900
    assert (claims["roles"], claims["device_id"], claims["section"]) == (
        ["device"],
        device_id,
        "JC1",
    )
    headers = bureau.auth(body["access_token"])
    status = await bureau.client.get("/api/v1/device-tokens/current", headers=headers)
    assert status.status_code == 200, status.text
    permitted = await bureau.eventually_permitted(headers, device_id, "officer-7")
    assert permitted.status_code == 200, permitted.text
    assert permitted.json()["serial_number"] == "BC-1"


async def test_the_secret_is_shown_once_and_basic_and_json_forms_work(bureau: Bureau) -> None:
    device_id = await bureau.device("BC-1")
    creds = await bureau.credentials(f"/api/v1/devices/{device_id}/credentials")

    listed = await bureau.client.get(
        f"/api/v1/devices/{device_id}/credentials", headers=bureau.office
    )
    assert listed.status_code == 200
    assert "client_secret" not in listed.text
    assert creds["client_secret"] not in listed.text
    assert [c["client_id"] for c in listed.json()["items"]] == [creds["client_id"]]

    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    by_basic = await bureau.client.post(
        "/api/v1/device-tokens",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    by_json = await bureau.client.post(
        "/api/v1/device-tokens", json={"grant_type": "client_credentials", **creds}
    )
    assert (by_basic.status_code, by_json.status_code) == (200, 200)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, 401, "invalid_client"),
        ({"client_id": "not-a-uuid"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"client_secret": None}, 400, "invalid_request"),
    ],
    ids=["wrong-secret", "unknown-client", "malformed-client", "wrong-grant", "no-secret"],
)
async def test_bad_credentials_get_no_token(
    bureau: Bureau, change: dict[str, Any], status: int, code: str
) -> None:
    device_id = await bureau.device("BC-1")
    creds = await bureau.credentials(f"/api/v1/devices/{device_id}/credentials")
    form = {"grant_type": "client_credentials", **creds, **change}
    form = {k: v for k, v in form.items() if v is not None and isinstance(v, str)}

    response = await bureau.client.post("/api/v1/device-tokens", data=form)

    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    assert response.json()["message_zh"]
    assert "access_token" not in response.text


@pytest.mark.req("A-6a")
async def test_a_revoked_device_token_is_refused_on_its_next_request(bureau: Bureau) -> None:
    device_id = await bureau.device("BC-1", officer="officer-7")
    creds = await bureau.credentials(f"/api/v1/devices/{device_id}/credentials")
    headers = await bureau.token_for(creds)
    assert (await bureau.eventually_permitted(headers, device_id, "officer-7")).status_code == 200

    revoked = await bureau.client.post(
        f"/api/v1/upload-clients/{creds['client_id']}/revoke",
        json={"reason": "遗失钥匙"},
        headers=bureau.office,
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked"] is True

    refused = await bureau.permission(headers, device_id, "officer-7")
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "device_credentials_revoked"
    assert refused.json()["message_zh"]
    again = await bureau.exchange(creds)
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")


@pytest.mark.req("A-6a")
@pytest.mark.parametrize("status", ["lost", "retired"])
async def test_a_lost_or_retired_devices_credentials_stop_at_once(
    bureau: Bureau, status: str
) -> None:
    device_id = await bureau.device("BC-1")
    creds = await bureau.credentials(f"/api/v1/devices/{device_id}/credentials")
    headers = await bureau.token_for(creds)

    await bureau.move(device_id, status)

    refused = await bureau.client.get("/api/v1/device-tokens/current", headers=headers)
    assert (refused.status_code, refused.json()["error"]) == (401, "device_credentials_revoked")
    assert (await bureau.exchange(creds)).status_code == 401
    listed = await bureau.client.get(
        f"/api/v1/devices/{device_id}/credentials", headers=bureau.office
    )
    assert listed.json()["items"][0]["revoke_reason"] == f"device {status}"
    if status == "lost":  # found again: the old credentials stay revoked
        await bureau.move(device_id, "in_stock")
        assert (await bureau.exchange(creds)).status_code == 401
    else:
        again = await bureau.client.post(
            f"/api/v1/devices/{device_id}/credentials", headers=bureau.office
        )
        assert (again.status_code, again.json()["error"]) == (409, "device_silenced")


async def test_credentials_are_issued_by_the_devices_own_section_only(
    bureau: Bureau, embedded: Embedded, token: TokenFactory
) -> None:
    device_id = await bureau.device("BC-1", section="JC2")
    path = f"/api/v1/devices/{device_id}/credentials"
    await appoint(bureau.client, bureau.office, "JC2", custodian="c2")
    await appoint(bureau.client, bureau.office, "JC1", custodian="c1")
    own = embedded.auth(token("c2", Role.CUSTODIAN, section="JC2"))
    other = embedded.auth(token("c1", Role.CUSTODIAN, section="JC1"))
    officer = embedded.auth(token("officer-9", Role.OFFICER, section="JC2"))

    assert (await bureau.client.post(path, headers=own)).status_code == 201
    assert (await bureau.client.post(path, headers=other)).status_code == 404
    assert (await bureau.client.post(path, headers=officer)).status_code == 403


@pytest.mark.req("A-3")
async def test_an_upload_is_permitted_only_from_a_device_issued_to_the_named_officer(
    bureau: Bureau, embedded: Embedded, token: TokenFactory
) -> None:
    mine = await bureau.device("BC-1", officer="officer-7")
    theirs = await bureau.device("BC-2", officer="officer-8")
    officer7 = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    device_token = await bureau.token_for(
        await bureau.credentials(f"/api/v1/devices/{mine}/credentials")
    )
    assert (await bureau.eventually_permitted(officer7, mine, "officer-7")).status_code == 200
    assert (await bureau.eventually_permitted(officer7, theirs, "officer-8")).status_code == 403

    cases = [
        (officer7, theirs, "officer-7", "not issued to officer-7"),  # someone else's device
        (officer7, theirs, "officer-8", "only the officer holding"),  # uploading for another
        (device_token, theirs, "officer-8", "its own recordings"),  # a device for another
        (device_token, mine, "officer-8", "not issued to officer-8"),  # the wrong officer
    ]
    for headers, device_id, officer, reason in cases:
        refused = await bureau.permission(headers, device_id, officer)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "upload_not_permitted"
        assert reason in refused.json()["message"]
        assert refused.json()["message_zh"]
    assert (await bureau.permission(device_token, mine, "officer-7")).status_code == 200


@pytest.mark.req("A-3")
async def test_a_docking_station_uploads_for_the_officers_of_its_own_section(
    bureau: Bureau,
) -> None:
    station = await bureau.client.post(
        "/api/v1/docking-stations",
        json={"name": "一科采集站", "serial_number": "DS-1", "section": "JC1"},
        headers=bureau.office,
    )
    assert station.status_code == 201, station.text
    station_id = station.json()["id"]
    headers = await bureau.token_for(
        await bureau.credentials(f"/api/v1/docking-stations/{station_id}/credentials")
    )
    jc1 = await bureau.device("BC-1", officer="officer-7")
    jc2 = await bureau.device("BC-2", section="JC2", officer="officer-9")

    assert (await bureau.eventually_permitted(headers, jc1, "officer-7")).status_code == 200
    other = await bureau.eventually_permitted(headers, jc2, "officer-9")
    assert other.status_code == 403
    assert "JC2" in other.json()["message"]

    off = await bureau.client.post(
        f"/api/v1/docking-stations/{station_id}/deactivate", headers=bureau.office
    )
    assert off.status_code == 200, off.text
    refused = await bureau.permission(headers, jc1, "officer-7")
    assert (refused.status_code, refused.json()["error"]) == (401, "device_credentials_revoked")


async def test_a_device_token_can_do_nothing_but_upload(bureau: Bureau) -> None:
    device_id = await bureau.device("BC-1")
    headers = await bureau.token_for(
        await bureau.credentials(f"/api/v1/devices/{device_id}/credentials")
    )

    register = await bureau.client.post(
        "/api/v1/devices",
        json={"kind": "camera", "serial_number": "X", "model": "M", "section": "JC1"},
        headers=headers,
    )
    devices = await bureau.client.get("/api/v1/devices", headers=headers)
    report = await bureau.client.get("/api/v1/allocation", headers=headers)

    assert register.status_code == 403
    assert devices.json()["total"] == 0
    assert report.status_code == 403
