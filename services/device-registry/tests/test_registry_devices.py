"""Device registration and visibility, through the registry running on its own."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col, select

from quancheng.common import audit
from quancheng.common.audit import AuditEntry
from quancheng.common.auth import Role
from quancheng.common.events import DeviceRegistered, OutboxMessage, decode
from quancheng.common.settings import Settings
from quancheng.common.testing.kit import PRE_USE_CHECK, TokenFactory, appoint, bearer, database_of

DEVICES = "/api/v1/devices"


def device(serial: str, *, kind: str = "body_camera", section: str = "JC1") -> dict[str, Any]:
    return {"kind": kind, "serial_number": serial, "model": "DSJ-V9", "section": section}


async def register(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(DEVICES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def stored(settings: Settings) -> tuple[list[AuditEntry], list[OutboxMessage]]:
    """The registry's audit log and outbox, read in a session closed before the next request
    (SQLite transactions take the write lock, which the app would otherwise wait for)."""
    async with database_of(settings, "device-registry") as db, db.session() as session:
        entries = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
        outbox = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.seq)))).all()
    # The whole chain is intact; the tests look at the devices' entries and events (the test
    # bureau's seeding leaves entries of its own, and staff events, before them).
    devices = [m for m in outbox if m.topic == DeviceRegistered.topic()]
    return [e for e in entries if e.target.startswith("device:")], devices


@pytest.mark.req("A-2a")
@pytest.mark.req("D-2")
@pytest.mark.parametrize(
    ("kind", "label"),
    [
        ("body_camera", "执法记录仪"),
        ("camera", "照相机"),
        ("voice_recorder", "录音笔"),
        ("camcorder", "摄像机"),
    ],
    ids=["body_camera", "camera", "voice_recorder", "camcorder"],
)
async def test_office_registers_each_kind_of_device(
    client: httpx.AsyncClient, office: dict[str, str], kind: str, label: str
) -> None:
    created = await register(client, office, device("SN-1", kind=kind))

    assert created["kind"] == kind
    assert created["kind_label"] == label
    assert (created["status"], created["status_label"]) == ("registered", "已登记")
    assert (created["serial_number"], created["section"]) == ("SN-1", "JC1")
    assert created["registered_by"] == "office-1"
    fetched = await client.get(f"{DEVICES}/{created['id']}", headers=office)
    assert fetched.status_code == 200
    assert (fetched.json()["kind_label"], fetched.json()["status_label"]) == (label, "已登记")


async def test_a_device_read_back_keeps_its_registration_time_in_utc(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    created = await register(client, office, device("SN-1"))

    fetched = (await client.get(f"{DEVICES}/{created['id']}", headers=office)).json()

    assert datetime.fromisoformat(fetched["registered_at"]).utcoffset() == timedelta(0)
    assert fetched["registered_at"] == created["registered_at"]


@pytest.mark.req("A-6a")
@pytest.mark.parametrize("role", [Role.OFFICER, Role.SECTION_HEAD])
async def test_only_the_office_may_register_devices(
    client: httpx.AsyncClient, token: TokenFactory, office: dict[str, str], role: Role
) -> None:
    response = await client.post(
        DEVICES, json=device("SN-1"), headers=bearer(token("someone", role, section="JC1"))
    )

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    listed = await client.get(DEVICES, headers=office)
    assert listed.json()["total"] == 0


async def test_registering_without_a_token_is_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await client.post(DEVICES, json=device("SN-1"))

    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


async def test_a_second_device_with_the_same_serial_is_a_conflict_naming_it(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await register(client, office, device("BC-0042"))

    response = await client.post(DEVICES, json=device("BC-0042", kind="camera"), headers=office)

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "serial_number_taken"
    assert "BC-0042" in body["message"]
    assert "BC-0042" in body["message_zh"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({**device("SN-1"), "kind": "drone"}, "body.kind", id="invalid-kind"),
        pytest.param(
            {k: v for k, v in device("SN-1").items() if k != "model"}, "body.model", id="missing"
        ),
        pytest.param({**device("SN-1"), "colour": "black"}, "body.colour", id="extra"),
        pytest.param(device("   "), "body.serial_number", id="blank-serial"),
    ],
)
async def test_an_invalid_registration_is_rejected_naming_the_field(
    client: httpx.AsyncClient, office: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post(DEVICES, json=body, headers=office)

    assert response.status_code == 422
    problem = response.json()
    assert problem["error"] == "invalid_request"
    assert field in [p["field"] for p in problem["problems"]]


@pytest.mark.req("A-6a")
async def test_a_section_head_sees_only_their_sections_devices(
    client: httpx.AsyncClient, token: TokenFactory, office: dict[str, str]
) -> None:
    own = await register(client, office, device("JC1-1", section="JC1"))
    other = await register(client, office, device("JC2-1", section="JC2"))
    await appoint(client, office, "JC1", head="head-jc1")
    head = bearer(token("head-jc1", Role.SECTION_HEAD, section="JC1"))

    listed = (await client.get(DEVICES, headers=head)).json()
    assert [d["id"] for d in listed["items"]] == [own["id"]]
    assert listed["total"] == 1
    assert (await client.get(f"{DEVICES}/{own['id']}", headers=head)).status_code == 200
    hidden = await client.get(f"{DEVICES}/{other['id']}", headers=head)
    assert hidden.status_code == 404
    assert hidden.json()["error"] == "device_not_found"

    everything = (await client.get(DEVICES, headers=office)).json()
    assert {d["id"] for d in everything["items"]} == {own["id"], other["id"]}
    assert everything["total"] == 2


async def test_the_device_list_pages_in_registration_order(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    serials = [f"SN-{n}" for n in range(5)]
    for serial in serials:
        await register(client, office, device(serial))

    pages = [
        (await client.get(DEVICES, params={"offset": offset, "limit": 2}, headers=office)).json()
        for offset in (0, 2, 4)
    ]

    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    assert {page["total"] for page in pages} == {5}
    assert [d["serial_number"] for page in pages for d in page["items"]] == serials
    too_large = await client.get(DEVICES, params={"limit": 501}, headers=office)
    assert too_large.status_code == 422


async def test_the_device_list_sorts_by_the_key_asked_for_either_way_and_pages_without_overlap(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    registered: dict[str, str] = {}
    for serial, kind, asset_number in (
        ("SN-B", "camera", "ZC-3"),
        ("SN-C", "body_camera", None),
        ("SN-A", "camera", "ZC-1"),
    ):
        body = {**device(serial, kind=kind), "asset_number": asset_number}
        registered[serial] = (await register(client, office, body))["id"]
    for serial, officer in (("SN-A", "officer-8"), ("SN-B", "officer-7")):
        for path, payload in (
            ("transitions", {"to": "in_stock"}),
            ("issue", {"officer_id": officer, "check": PRE_USE_CHECK}),
        ):
            url = f"{DEVICES}/{registered[serial]}/{path}"
            moved = await client.post(url, json=payload, headers=office)
            assert moved.status_code == 200, moved.text

    async def serials(**query: Any) -> list[str]:
        response = await client.get(DEVICES, params=query, headers=office)
        assert response.status_code == 200, response.text
        return [d["serial_number"] for d in response.json()["items"]]

    assert await serials() == ["SN-B", "SN-C", "SN-A"]  # in the order of registration
    assert await serials(sort="serial_number") == ["SN-A", "SN-B", "SN-C"]
    assert await serials(sort="-serial_number") == ["SN-C", "SN-B", "SN-A"]
    # A device without an asset number, or held by nobody, comes last either way.
    assert await serials(sort="asset_number") == ["SN-A", "SN-B", "SN-C"]
    assert await serials(sort="-asset_number") == ["SN-B", "SN-A", "SN-C"]
    assert await serials(sort="officer_id") == ["SN-B", "SN-A", "SN-C"]
    assert await serials(sort="-officer_id") == ["SN-A", "SN-B", "SN-C"]
    # body_camera before camera; the two cameras in the order of their ids.
    cameras = sorted(["SN-A", "SN-B"], key=lambda serial: str(registered[serial]))
    assert await serials(sort="kind") == ["SN-C", *cameras]
    assert await serials(sort="-kind") == [*cameras, "SN-C"]
    for sort in ("kind", "-kind", "-asset_number"):
        pages = [await serials(sort=sort, limit=2, offset=offset) for offset in (0, 2)]
        assert [serial for page in pages for serial in page] == await serials(sort=sort)
    unknown = await client.get(DEVICES, params={"sort": "holder"}, headers=office)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_sort")
    assert unknown.json()["message_zh"].startswith(
        "不支持按 holder 排序，可用：registered_at、serial_number、kind、model、asset_number、"
        "section、status、officer_id"
    )


async def test_the_device_list_filters_and_refuses_what_it_does_not_know(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    camera = await register(client, office, device("JC1-CAM"))
    recorder = await register(client, office, device("JC1-REC", kind="voice_recorder"))
    other = await register(client, office, device("JC2-CAM", section="JC2"))
    for path, payload in (
        ("transitions", {"to": "in_stock"}),
        ("issue", {"officer_id": "officer-7", "check": PRE_USE_CHECK}),
    ):
        moved = await client.post(f"{DEVICES}/{camera['id']}/{path}", json=payload, headers=office)
        assert moved.status_code == 200, moved.text

    async def listed(**query: str) -> list[str]:
        response = await client.get(DEVICES, params=query, headers=office)
        assert response.status_code == 200, response.text
        return [d["serial_number"] for d in response.json()["items"]]

    assert await listed(section="JC2") == [other["serial_number"]]
    assert await listed(serial_number="JC1-REC") == [recorder["serial_number"]]
    assert await listed(kind="voice_recorder") == [recorder["serial_number"]]
    assert await listed(status="issued", holder="officer-7") == [camera["serial_number"]]
    assert await listed(section="JC1", status="registered") == [recorder["serial_number"]]
    assert await listed(section="JC9") == []
    # A misspelt filter is refused, not ignored (which would list every device).
    misspelt = await client.get(DEVICES, params={"serial": "JC1-REC"}, headers=office)
    assert misspelt.status_code == 400
    assert misspelt.json()["error"] == "unknown_query_parameter"
    assert "serial" in misspelt.json()["message_zh"]
    assert "serial_number" in misspelt.json()["message"]
    bad_status = await client.get(DEVICES, params={"status": "stolen"}, headers=office)
    assert bad_status.status_code == 422


async def test_each_registration_is_audited_and_announced_once(
    client: httpx.AsyncClient, office: dict[str, str], settings: Settings
) -> None:
    created = [await register(client, office, device(s)) for s in ("SN-1", "SN-2")]

    entries, outbox = await stored(settings)

    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("office-1", "device.register", f"device:{d['id']}") for d in created
    ]
    assert [(m.event_type, m.key) for m in outbox] == [
        ("device.registered", d["id"]) for d in created
    ]
    event = decode(outbox[0].to_message())
    assert isinstance(event, DeviceRegistered)
    assert (event.serial_number, event.registered_by) == ("SN-1", "office-1")


async def test_a_refused_duplicate_leaves_no_audit_entry_and_no_event(
    client: httpx.AsyncClient, office: dict[str, str], settings: Settings
) -> None:
    first = await register(client, office, device("SN-1"))

    refused = await client.post(DEVICES, json=device("SN-1"), headers=office)
    assert refused.status_code == 409
    second = await register(client, office, device("SN-2"))

    entries, outbox = await stored(settings)
    assert [e.target for e in entries] == [f"device:{first['id']}", f"device:{second['id']}"]
    assert [m.key for m in outbox] == [first["id"], second["id"]]


@pytest.mark.usefixtures("client")  # the test bureau's sections, before the audit log breaks
async def test_a_registration_failing_after_its_writes_leaves_nothing_behind(
    app: FastAPI,
    office: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # By the time the audit append fails the device row is flushed and the event queued.
    async def broken_append(*_args: object, **_kwargs: object) -> AuditEntry:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "append", broken_append)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.post(DEVICES, json=device("SN-1"), headers=office)
        assert response.status_code == 500
        assert response.json()["error"] == "internal_error"
        listed = (await client.get(DEVICES, headers=office)).json()

    assert listed["total"] == 0
    assert await stored(settings) == ([], [])


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    created = await register(client, office, device("SN-1"))
    await client.get(f"{DEVICES}/{created['id']}", headers=office)

    text = (await client.get("/metrics")).text

    requests = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "quancheng_http_requests"
        for s in family.samples
        if s.name == "quancheng_http_requests_total" and s.labels["service"] == "device-registry"
    }
    assert requests[("POST", DEVICES, "201")] == 1
    assert requests[("GET", f"{DEVICES}/{{device_id}}", "200")] == 1
    assert not any(created["id"] in route for _, route, _ in requests)
