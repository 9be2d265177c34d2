"""Ingest's projection of the registry's devices, kept from device events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from uuid import UUID, uuid4

import anyio
import pytest
from sqlmodel import select

from quancheng.common.db import Database, upgrade
from quancheng.common.events import (
    Consumers,
    DeadLetter,
    DeviceIssued,
    DeviceRegistered,
    DeviceReturned,
    DeviceStatusChanged,
    Event,
    Message,
    ProcessedEvent,
    encode,
)
from quancheng.common.settings import Settings
from quancheng.ingest.config import MIGRATIONS, SERVICE_NAME
from quancheng.ingest.consumers import register
from quancheng.ingest.models import KnownDevice
from quancheng.ingest.repository import KnownDeviceRepository


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    url = settings.database_url(SERVICE_NAME)
    await anyio.to_thread.run_sync(upgrade, url, MIGRATIONS)
    database = Database(url)
    database.connect()
    yield database
    await database.dispose()


@pytest.fixture
def consumers(db: Database) -> Consumers:
    consumers = Consumers(SERVICE_NAME, db)
    register(consumers)
    consumers.ready()
    return consumers


def registered(device_id: UUID) -> DeviceRegistered:
    return DeviceRegistered(
        device_id=device_id,
        serial_number="BC-0001",
        kind="body_camera",
        model="DSJ-V9",
        section="JC1",
        registered_by="office-1",
    )


def issued(device_id: UUID) -> DeviceIssued:
    return DeviceIssued(
        device_id=device_id, officer_id="officer-7", section="JC1", issued_by="office-1"
    )


async def deliver(consumers: Consumers, *events: Event) -> None:
    for event in events:
        await consumers.handle(encode(event, {}))


async def known(db: Database, device_id: UUID) -> KnownDevice | None:
    async with db.session() as session:
        return await KnownDeviceRepository(session).get(device_id)


async def test_a_registered_device_becomes_known_without_an_officer(
    consumers: Consumers, db: Database
) -> None:
    device_id = uuid4()

    await deliver(consumers, registered(device_id))

    device = await known(db, device_id)
    assert device is not None
    assert (device.serial_number, device.kind, device.section) == ("BC-0001", "body_camera", "JC1")
    assert device.officer_id is None


async def test_issuing_a_known_device_records_its_officer(
    consumers: Consumers, db: Database
) -> None:
    device_id = uuid4()

    await deliver(consumers, registered(device_id), issued(device_id))

    device = await known(db, device_id)
    assert device is not None
    assert device.officer_id == "officer-7"


async def test_returning_a_device_clears_its_officer(consumers: Consumers, db: Database) -> None:
    device_id = uuid4()
    returned = DeviceReturned(device_id=device_id, officer_id="officer-7", received_by="office-1")

    await deliver(consumers, registered(device_id), issued(device_id), returned)

    device = await known(db, device_id)
    assert device is not None
    assert device.officer_id is None


async def test_a_device_lost_while_issued_no_longer_carries_its_officer(
    consumers: Consumers, db: Database
) -> None:
    device_id = uuid4()
    lost = DeviceStatusChanged(
        device_id=device_id,
        from_status="issued",
        to_status="lost",
        by="office-1",
        officer_id="officer-7",
    )

    await deliver(consumers, registered(device_id), issued(device_id), lost)

    device = await known(db, device_id)
    assert device is not None
    assert device.officer_id is None


async def test_issuing_an_unknown_device_is_ignored(consumers: Consumers, db: Database) -> None:
    device_id = uuid4()

    await deliver(consumers, issued(device_id))

    assert await known(db, device_id) is None


async def test_a_redelivered_event_is_applied_once(consumers: Consumers, db: Database) -> None:
    device_id = uuid4()
    issue = issued(device_id)
    returned = DeviceReturned(device_id=device_id, officer_id="officer-7", received_by="office-1")
    await deliver(consumers, registered(device_id), issue, returned)

    # Applied again, the stale issue would hand the returned device back to the officer.
    await deliver(consumers, issue)

    device = await known(db, device_id)
    assert device is not None
    assert device.officer_id is None
    async with db.session() as session:
        processed = (
            await session.exec(
                select(ProcessedEvent).where(ProcessedEvent.event_id == str(issue.event_id))
            )
        ).all()
    assert [(p.consumer, p.event_type) for p in processed] == [(SERVICE_NAME, "device.issued")]


def _without_officer(event: DeviceIssued) -> Message:
    message = encode(event, {})
    payload = json.loads(message.value)
    del payload["officer_id"]
    return Message(message.topic, message.key, json.dumps(payload).encode(), message.headers)


def _not_json(event: DeviceIssued) -> Message:
    message = encode(event, {})
    return Message(message.topic, message.key, b"{not json", message.headers)


@pytest.mark.parametrize(
    ("malform", "reason"),
    [(_not_json, "malformed message"), (_without_officer, "officer_id")],
    ids=["bad-json", "missing-field"],
)
async def test_a_malformed_message_becomes_a_dead_letter_with_its_reason(
    consumers: Consumers,
    db: Database,
    malform: Callable[[DeviceIssued], Message],
    reason: str,
) -> None:
    device_id = uuid4()
    await deliver(consumers, registered(device_id))
    message = malform(issued(device_id))

    await consumers.handle(message)

    async with db.session() as session:
        letters = (await session.exec(select(DeadLetter))).all()
    assert len(letters) == 1
    assert reason in letters[0].reason
    assert (letters[0].consumer, letters[0].topic) == (SERVICE_NAME, "quancheng.device")
    assert letters[0].payload == message.value.decode(errors="replace")
    device = await known(db, device_id)
    assert device is not None
    assert device.officer_id is None


class _RecordingBus:
    def __init__(self) -> None:
        self.subscriptions: dict[str, Sequence[str]] = {}

    def subscribe(self, group: str, topics: Sequence[str], handler: object) -> None:
        self.subscriptions[group] = topics


def test_a_devices_whole_life_cycle_comes_on_one_topic_so_it_stays_in_order(
    db: Database,
) -> None:
    """Kafka orders a key's messages only within one topic: were registration, stocking and
    issue told on three topics, ingest could apply the issue before the stocking, which clears
    the holder, and refuse the officer's uploads for good."""
    consumers = Consumers(SERVICE_NAME, db)
    register(consumers)
    bus = _RecordingBus()

    consumers.attach(bus)  # type: ignore[arg-type]

    assert bus.subscriptions == {SERVICE_NAME: ["quancheng.device"]}
