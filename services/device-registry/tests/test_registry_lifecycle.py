"""The device life cycle, its history and the pre-use check, through the registry on its own."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from quancheng.common.audit import AuditEntry
from quancheng.common.auth import Role
from quancheng.common.events import DeviceIssued, DeviceReturned, OutboxMessage, decode
from quancheng.common.events.contracts import EVENT_TYPES, DeviceStatusChanged
from quancheng.common.settings import Settings
from quancheng.common.testing.kit import TokenFactory, appoint, bearer, database_of
from quancheng.device_registry.lifecycle import TRANSITIONS
from quancheng.device_registry.models import DeviceStatus

DEVICES = "/api/v1/devices"
S = DeviceStatus
GOOD_CHECK: dict[str, Any] = {
    "fault_free": True,
    "battery_percent": 90,
    "free_storage_mb": 32_000,
    "clock_offset_seconds": 1.5,
}
# The shortest way from registration to each status, through the office.
PATH_TO: dict[DeviceStatus, list[DeviceStatus]] = {
    S.REGISTERED: [],
    S.IN_STOCK: [S.IN_STOCK],
    S.ISSUED: [S.IN_STOCK, S.ISSUED],
    S.RETURNED: [S.IN_STOCK, S.ISSUED, S.RETURNED],
    S.IN_MAINTENANCE: [S.IN_STOCK, S.IN_MAINTENANCE],
    S.LOST: [S.IN_STOCK, S.LOST],
    S.RETIRED: [S.RETIRED],
}
ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
REFUSED = [(a, b) for a in S for b in S if b is not S.REGISTERED and b not in TRANSITIONS[a]]


def pair_id(pair: tuple[DeviceStatus, DeviceStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


@pytest.fixture
async def client(client: httpx.AsyncClient, office: dict[str, str]) -> httpx.AsyncClient:
    """The test bureau's client, with keeper-1 as JC1's head and device custodian."""
    await appoint(client, office, "JC1", head="keeper-1", custodian="keeper-1")
    return client


async def register(
    client: httpx.AsyncClient, office: dict[str, str], serial: str = "SN-1", section: str = "JC1"
) -> str:
    body = {"kind": "body_camera", "serial_number": serial, "model": "DSJ-V9", "section": section}
    response = await client.post(DEVICES, json=body, headers=office)
    assert response.status_code == 201, response.text
    device_id: str = response.json()["id"]
    return device_id


async def move(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    device_id: str,
    to: DeviceStatus,
    *,
    note: str | None = None,
    officer: str = "officer-7",
    check: dict[str, Any] | None = None,
) -> httpx.Response:
    """Ask for a transition through the route that makes it."""
    if to is S.ISSUED:
        body: dict[str, Any] = {"officer_id": officer, "check": check or GOOD_CHECK, "note": note}
        return await client.post(f"{DEVICES}/{device_id}/issue", json=body, headers=headers)
    if to is S.RETURNED:
        return await client.post(
            f"{DEVICES}/{device_id}/return", json={"note": note}, headers=headers
        )
    return await client.post(
        f"{DEVICES}/{device_id}/transitions", json={"to": to.value, "note": note}, headers=headers
    )


async def bring_to(
    client: httpx.AsyncClient,
    office: dict[str, str],
    device_id: str,
    status: DeviceStatus,
    *,
    officer: str = "officer-7",
) -> None:
    for step in PATH_TO[status]:
        response = await move(client, office, device_id, step, officer=officer)
        assert response.status_code == 200, response.text


async def history(
    client: httpx.AsyncClient, headers: dict[str, str], device_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{DEVICES}/{device_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def status_of(client: httpx.AsyncClient, office: dict[str, str], device_id: str) -> str:
    status: str = (await client.get(f"{DEVICES}/{device_id}", headers=office)).json()["status"]
    return status


async def stored(settings: Settings) -> tuple[list[AuditEntry], list[OutboxMessage]]:
    """The registry's audit log and outbox, read in a session closed before the next request."""
    async with database_of(settings, "device-registry") as db, db.session() as session:
        entries = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
        outbox = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.seq)))).all()
    # The whole chain is intact; the tests look at the devices' entries and events (the test
    # bureau's seeding leaves entries of its own, and staff events, before them).
    devices = [m for m in outbox if m.topic == DeviceIssued.topic()]
    return [e for e in entries if e.target.startswith("device:")], devices


def written(stored: tuple[list[AuditEntry], list[OutboxMessage]]) -> tuple[list[Any], list[Any]]:
    """What was written to the audit log and the outbox (the relay marks outbox rows as sent)."""
    entries, outbox = stored
    return [(e.seq, e.action) for e in entries], [(m.event_type, m.payload) for m in outbox]


def test_the_transition_table_covers_every_status_and_retired_is_final() -> None:
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.RETIRED] == ()
    assert S.IN_STOCK in TRANSITIONS[S.LOST]
    assert "device.status_changed" in EVENT_TYPES
    assert [s.label for s in S] == [
        "已登记",
        "在库",
        "已发放",
        "已归还",
        "维修中",
        "遗失",
        "已报废",
    ]


@pytest.mark.req("A-6a")
@pytest.mark.req("D-7")
@pytest.mark.parametrize("pair", ALLOWED, ids=pair_id)
async def test_every_allowed_transition_is_made_recorded_and_announced(
    client: httpx.AsyncClient,
    office: dict[str, str],
    settings: Settings,
    pair: tuple[DeviceStatus, DeviceStatus],
) -> None:
    source, target = pair
    device_id = await register(client, office)
    await bring_to(client, office, device_id, source)

    response = await move(client, office, device_id, target, note="by the book")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["status_label"]) == (target.value, target.label)
    assert body["officer_id"] == ("officer-7" if target is S.ISSUED else None)
    last = (await history(client, office, device_id))[-1]
    assert (last["kind"], last["from_status"], last["to_status"]) == (
        "transition",
        source.value,
        target.value,
    )
    assert (last["by"], last["note"], last["to_status_label"]) == (
        "office-1",
        "by the book",
        target.label,
    )
    entries, outbox = await stored(settings)
    assert entries[-1].target == f"device:{device_id}"
    detail = json.loads(entries[-1].detail)
    assert (detail["from"], detail["to"]) == (source.value, target.value)
    event = decode(outbox[-1].to_message())
    assert outbox[-1].key == device_id
    if target is S.ISSUED:
        assert isinstance(event, DeviceIssued)
        assert (event.officer_id, event.section, event.issued_by) == (
            "officer-7",
            "JC1",
            "office-1",
        )
    elif target is S.RETURNED:
        assert isinstance(event, DeviceReturned)
        assert (event.officer_id, event.received_by) == ("officer-7", "office-1")
    else:
        assert isinstance(event, DeviceStatusChanged)
        assert (event.from_status, event.to_status) == (source.value, target.value)
        assert (event.by, event.reason) == ("office-1", "by the book")
        assert event.officer_id == ("officer-7" if source is S.ISSUED else None)


@pytest.mark.req("A-6a")
@pytest.mark.req("D-7")
@pytest.mark.parametrize("pair", REFUSED, ids=pair_id)
async def test_every_impossible_transition_is_refused_naming_the_allowed_ones(
    client: httpx.AsyncClient,
    office: dict[str, str],
    settings: Settings,
    pair: tuple[DeviceStatus, DeviceStatus],
) -> None:
    source, target = pair
    device_id = await register(client, office)
    await bring_to(client, office, device_id, source)
    before = await stored(settings)

    response = await move(client, office, device_id, target)

    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["error"] == "invalid_transition"
    assert problem["current_status"] == source.value
    assert problem["allowed"] == [s.value for s in TRANSITIONS[source]]
    assert source.value in problem["message"]
    assert source.label in problem["message_zh"]
    for allowed in TRANSITIONS[source]:
        assert allowed.value in problem["message"]
        assert allowed.label in problem["message_zh"]
    if source is S.RETIRED:
        assert "final" in problem["message"]
        assert "最终状态" in problem["message_zh"]
    assert await status_of(client, office, device_id) == source.value
    assert len(await history(client, office, device_id)) == len(PATH_TO[source]) + 1
    assert written(await stored(settings)) == written(before)


@pytest.mark.parametrize("to", ["issued", "returned", "registered"])
async def test_the_transition_route_sends_issue_and_return_to_their_own_routes(
    client: httpx.AsyncClient, office: dict[str, str], to: str
) -> None:
    device_id = await register(client, office)
    await bring_to(client, office, device_id, S.IN_STOCK)

    response = await client.post(
        f"{DEVICES}/{device_id}/transitions", json={"to": to}, headers=office
    )

    assert response.status_code == 422
    assert response.json()["error"] == "use_dedicated_route"
    assert await status_of(client, office, device_id) == "in_stock"


async def test_a_transition_of_an_unknown_device_is_not_found(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    response = await move(client, office, unknown, S.IN_STOCK)

    assert response.status_code == 404
    assert response.json()["error"] == "device_not_found"


@pytest.mark.req("A-6a")
@pytest.mark.req("D-7")
async def test_the_history_lists_a_whole_life_oldest_first_with_who_did_what(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory, settings: Settings
) -> None:
    device_id = await register(client, office)
    custodian = bearer(token("keeper-1", Role.CUSTODIAN, section="JC1"))
    steps: list[tuple[dict[str, str], DeviceStatus, str]] = [
        (office, S.IN_STOCK, "received from supplier"),
        (custodian, S.ISSUED, "day shift"),
        (custodian, S.RETURNED, "end of shift"),
        (office, S.IN_MAINTENANCE, "cracked lens"),
        (office, S.IN_STOCK, "repaired"),
        (custodian, S.LOST, "left at inspection site"),
        (office, S.IN_STOCK, "found"),
        (office, S.RETIRED, "end of service life"),
    ]
    for headers, to, note in steps:
        response = await move(client, headers, device_id, to, note=note)
        assert response.status_code == 200, response.text

    items = await history(client, office, device_id)

    assert [i["seq"] for i in items] == list(range(1, len(steps) + 2))
    assert [(i["from_status"], i["to_status"]) for i in items] == [
        (None, "registered"),
        ("registered", "in_stock"),
        ("in_stock", "issued"),
        ("issued", "returned"),
        ("returned", "in_maintenance"),
        ("in_maintenance", "in_stock"),
        ("in_stock", "lost"),
        ("lost", "in_stock"),
        ("in_stock", "retired"),
    ]
    assert [i["by"] for i in items] == ["office-1"] + [
        "keeper-1" if h is custodian else "office-1" for h, _, _ in steps
    ]
    assert [i["note"] for i in items] == [None] + [note for _, _, note in steps]
    assert [i["officer_id"] for i in items[2:4]] == ["officer-7", "officer-7"]
    assert items[2]["pre_use_check"] == GOOD_CHECK
    assert items[0]["from_status_label"] is None
    assert (items[1]["from_status_label"], items[1]["to_status_label"]) == ("已登记", "在库")
    times = [datetime.fromisoformat(i["at"]) for i in items]
    assert times == sorted(times)

    entries, outbox = await stored(settings)
    assert [(e.actor, e.action) for e in entries] == [
        ("office-1", "device.register"),
        ("office-1", "device.stock"),
        ("keeper-1", "device.issue"),
        ("keeper-1", "device.return"),
        ("office-1", "device.maintenance"),
        ("office-1", "device.stock"),
        ("keeper-1", "device.lost"),
        ("office-1", "device.stock"),
        ("office-1", "device.retire"),
    ]
    assert [m.event_type for m in outbox] == [
        "device.registered",
        "device.status_changed",
        "device.issued",
        "device.returned",
        *["device.status_changed"] * 5,
    ]


@pytest.mark.req("A-6a")
async def test_a_device_lost_while_issued_is_no_longer_held_by_the_officer(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory
) -> None:
    device_id = await register(client, office)
    await bring_to(client, office, device_id, S.LOST)
    officer = bearer(token("officer-7", Role.OFFICER, section="JC1"))

    assert (await client.get(f"{DEVICES}/{device_id}", headers=office)).json()["officer_id"] is None
    assert (await client.get(DEVICES, headers=officer)).json()["total"] == 0


# Where a device must be for a move to it to be allowed.
START_FOR = {S.IN_STOCK: S.REGISTERED, S.ISSUED: S.IN_STOCK, S.RETURNED: S.ISSUED}

# --- roles --------------------------------------------------------------------------------


@pytest.mark.req("A-6a")
@pytest.mark.parametrize("role", [Role.SECTION_HEAD, Role.CUSTODIAN])
async def test_section_head_and_custodian_move_their_own_sections_devices(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory, role: Role
) -> None:
    device_id = await register(client, office)
    keeper = bearer(token("keeper-1", role, section="JC1"))

    for to in (S.IN_STOCK, S.ISSUED, S.RETURNED, S.IN_MAINTENANCE, S.IN_STOCK, S.RETIRED):
        response = await move(client, keeper, device_id, to)
        assert response.status_code == 200, response.text

    assert {i["by"] for i in (await history(client, keeper, device_id))[1:]} == {"keeper-1"}


@pytest.mark.req("A-6a")
@pytest.mark.parametrize("role", [Role.SECTION_HEAD, Role.CUSTODIAN])
@pytest.mark.parametrize("to", [S.IN_STOCK, S.ISSUED, S.RETURNED], ids=lambda s: s.value)
async def test_section_head_and_custodian_cannot_touch_another_sections_devices(
    client: httpx.AsyncClient,
    office: dict[str, str],
    token: TokenFactory,
    settings: Settings,
    role: Role,
    to: DeviceStatus,
) -> None:
    device_id = await register(client, office, section="JC2")
    await bring_to(client, office, device_id, START_FOR[to], officer="officer-9")
    state = await status_of(client, office, device_id)
    before = await stored(settings)
    stranger = bearer(token("keeper-1", role, section="JC1"))

    response = await move(client, stranger, device_id, to)

    assert response.status_code == 404
    assert response.json()["error"] == "device_not_found"
    assert await status_of(client, office, device_id) == state
    assert written(await stored(settings)) == written(before)
    hidden = await client.get(f"{DEVICES}/{device_id}/history", headers=stranger)
    assert hidden.status_code == 404


@pytest.mark.req("A-6a")
async def test_a_custodian_may_not_register_devices(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    custodian = bearer(token("keeper-1", Role.CUSTODIAN, section="JC1"))
    body = {"kind": "camera", "serial_number": "SN-1", "model": "X", "section": "JC1"}

    response = await client.post(DEVICES, json=body, headers=custodian)

    assert response.status_code == 403


@pytest.mark.req("A-6a")
@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.ARCHIVIST])
@pytest.mark.parametrize("to", [S.IN_STOCK, S.ISSUED, S.RETURNED], ids=lambda s: s.value)
async def test_other_roles_may_not_move_devices_even_their_own(
    client: httpx.AsyncClient,
    office: dict[str, str],
    token: TokenFactory,
    role: Role,
    to: DeviceStatus,
) -> None:
    device_id = await register(client, office)
    start = START_FOR[to]
    await bring_to(client, office, device_id, start)
    # officer-7 holds the device once it is issued.
    caller = bearer(token("officer-7", role, section="JC1"))

    response = await move(client, caller, device_id, to)

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert await status_of(client, office, device_id) == start.value


@pytest.mark.req("A-6a")
async def test_an_officer_sees_only_the_devices_currently_issued_to_them(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory
) -> None:
    mine = await register(client, office, "SN-1")
    theirs = await register(client, office, "SN-2")
    in_stock = await register(client, office, "SN-3")
    await bring_to(client, office, mine, S.ISSUED)
    await bring_to(client, office, in_stock, S.IN_STOCK)
    response = await move(client, office, theirs, S.IN_STOCK)
    assert response.status_code == 200
    response = await move(client, office, theirs, S.ISSUED, officer="officer-8")
    assert response.status_code == 200
    officer = bearer(token("officer-7", Role.OFFICER, section="JC1"))

    listed = (await client.get(DEVICES, headers=officer)).json()
    assert ([d["id"] for d in listed["items"]], listed["total"]) == ([mine], 1)
    assert (await client.get(f"{DEVICES}/{mine}", headers=officer)).status_code == 200
    assert len(await history(client, officer, mine)) == 3
    for hidden in (theirs, in_stock):
        assert (await client.get(f"{DEVICES}/{hidden}", headers=officer)).status_code == 404

    assert (await move(client, office, mine, S.RETURNED)).status_code == 200
    assert (await client.get(DEVICES, headers=officer)).json()["total"] == 0
    assert (await client.get(f"{DEVICES}/{mine}", headers=officer)).status_code == 404


@pytest.mark.req("A-6a")
@pytest.mark.parametrize(
    ("role", "visible"),
    [
        (Role.OFFICE, {"SN-1", "SN-2"}),
        (Role.SUPERVISOR, {"SN-1", "SN-2"}),
        (Role.SECTION_HEAD, {"SN-1"}),
        (Role.CUSTODIAN, {"SN-1"}),
        (Role.ARCHIVIST, set()),
    ],
    ids=lambda v: v.value if isinstance(v, Role) else None,
)
async def test_who_sees_which_devices(
    client: httpx.AsyncClient,
    office: dict[str, str],
    token: TokenFactory,
    role: Role,
    visible: set[str],
) -> None:
    await register(client, office, "SN-1", section="JC1")
    await register(client, office, "SN-2", section="JC2")
    await appoint(client, office, "JC1", head="someone", custodian="someone")

    listed = (
        await client.get(DEVICES, headers=bearer(token("someone", role, section="JC1")))
    ).json()

    assert {d["serial_number"] for d in listed["items"]} == visible
    assert listed["total"] == len(visible)


# --- the pre-use check ---------------------------------------------------------------------


@pytest.mark.req("A-8")
@pytest.mark.req("D-8")
async def test_a_check_at_the_thresholds_passes_and_is_recorded_with_the_issue(
    client: httpx.AsyncClient, office: dict[str, str], settings: Settings
) -> None:
    device_id = await register(client, office)
    await bring_to(client, office, device_id, S.IN_STOCK)
    check = {
        "fault_free": True,
        "battery_percent": 30,
        "free_storage_mb": 1024,
        "clock_offset_seconds": -60.0,
    }

    response = await move(client, office, device_id, S.ISSUED, check=check)

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["officer_id"]) == ("issued", "officer-7")
    last = (await history(client, office, device_id))[-1]
    assert (last["pre_use_check"], last["failed_checks"]) == (check, None)
    entries, _ = await stored(settings)
    assert entries[-1].action == "device.issue"


CHECK_FAILURES = [
    pytest.param({"fault_free": False}, ["fault_free"], ["fault"], ["故障"], id="fault"),
    pytest.param({"battery_percent": 29}, ["battery_percent"], ["29%"], ["电量"], id="battery"),
    pytest.param(
        {"free_storage_mb": 1023}, ["free_storage_mb"], ["1023 MB"], ["存储"], id="storage"
    ),
    pytest.param(
        {"clock_offset_seconds": 60.5}, ["clock_offset_seconds"], ["60.5"], ["时钟"], id="clock"
    ),
    pytest.param(
        {"clock_offset_seconds": -75}, ["clock_offset_seconds"], ["-75"], ["时钟"], id="clock-slow"
    ),
    pytest.param(
        {
            "fault_free": False,
            "battery_percent": 5,
            "free_storage_mb": 0,
            "clock_offset_seconds": 3600,
        },
        ["fault_free", "battery_percent", "free_storage_mb", "clock_offset_seconds"],
        ["fault", "5%", "0 MB", "3600"],
        ["故障", "电量", "存储", "时钟"],
        id="everything",
    ),
]


@pytest.mark.req("A-8")
@pytest.mark.req("D-8")
@pytest.mark.parametrize(("change", "items", "words", "words_zh"), CHECK_FAILURES)
async def test_a_failed_check_blocks_the_issue_naming_each_failure_and_is_still_recorded(
    client: httpx.AsyncClient,
    office: dict[str, str],
    settings: Settings,
    change: dict[str, Any],
    items: list[str],
    words: list[str],
    words_zh: list[str],
) -> None:
    device_id = await register(client, office)
    await bring_to(client, office, device_id, S.IN_STOCK)
    check = {**GOOD_CHECK, **change}

    response = await move(client, office, device_id, S.ISSUED, check=check, note="morning")

    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["error"] == "pre_use_check_failed"
    assert [f["item"] for f in problem["failed"]] == items
    for word in words:
        assert word in problem["message"]
    for word in words_zh:
        assert word in problem["message_zh"]
    device = (await client.get(f"{DEVICES}/{device_id}", headers=office)).json()
    assert (device["status"], device["officer_id"]) == ("in_stock", None)
    last = (await history(client, office, device_id))[-1]
    assert (last["kind"], last["from_status"], last["to_status"]) == (
        "check_failed",
        "in_stock",
        "in_stock",
    )
    assert (last["by"], last["officer_id"], last["note"]) == ("office-1", "officer-7", "morning")
    assert (last["pre_use_check"], last["failed_checks"]) == (check, items)
    entries, outbox = await stored(settings)
    assert entries[-1].action == "device.pre_use_check_failed"
    assert json.loads(entries[-1].detail)["failed"] == items
    assert "device.issued" not in [m.event_type for m in outbox]

    # Once the device passes its check it goes out.
    assert (await move(client, office, device_id, S.ISSUED)).status_code == 200


@pytest.mark.req("A-8")
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"battery_percent": 101}, "body.check.battery_percent"),
        ({"battery_percent": -1}, "body.check.battery_percent"),
        ({"free_storage_mb": -1}, "body.check.free_storage_mb"),
        ({"fault_free": None}, "body.check.fault_free"),
    ],
    ids=["battery-over", "battery-under", "storage-negative", "fault-missing"],
)
async def test_a_malformed_check_is_rejected_naming_the_field(
    client: httpx.AsyncClient, office: dict[str, str], change: dict[str, Any], field: str
) -> None:
    device_id = await register(client, office)
    await bring_to(client, office, device_id, S.IN_STOCK)

    response = await move(client, office, device_id, S.ISSUED, check={**GOOD_CHECK, **change})

    assert response.status_code == 422
    assert field in [p["field"] for p in response.json()["problems"]]
    assert len(await history(client, office, device_id)) == 2
