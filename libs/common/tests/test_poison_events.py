"""An event its handler keeps failing on goes to the dead letters after bounded retries, so the
events behind it move on; later events of its aggregate join it there, in order; an outage of
what the handler stands on never counts towards a dead letter. On SQLite and the in-process bus
(the Kafka run of the same rule is in test_bus_contract.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.db import Database, session_scope
from quancheng.common.db.migrate import COMMON, upgrade
from quancheng.common.events import (
    Consumers,
    DeadLetter,
    DeviceRegistered,
    InProcessBus,
    OutboxRelay,
    encode,
    record,
)


class HandledDevice(SQLModel, table=True):
    __tablename__ = "test_handled_devices"

    id: int | None = Field(default=None, primary_key=True)
    device_id: UUID
    serial_number: str


async def _database(path: Path) -> Database:
    url = f"sqlite:///{path}"
    upgrade(url, COMMON)
    db = Database(url)
    db.connect()
    async with db.engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all, tables=[HandledDevice.__table__])  # type: ignore[attr-defined]
    return db


@pytest.fixture
async def dbs(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    producer = await _database(tmp_path / "producer.sqlite3")
    consumer = await _database(tmp_path / "consumer.sqlite3")
    yield producer, consumer
    await producer.dispose()
    await consumer.dispose()


async def refuse_poison(session: AsyncSession, event: DeviceRegistered) -> None:
    if event.serial_number == "POISON":
        # What the catalog met: a time that has no UTC form.
        raise OverflowError("date value out of range")
    session.add(HandledDevice(device_id=event.device_id, serial_number=event.serial_number))


def registered(serial: str, device_id: UUID | None = None) -> DeviceRegistered:
    return DeviceRegistered(
        device_id=device_id or uuid4(),
        serial_number=serial,
        kind="body_camera",
        model="M",
        section="JC1",
        registered_by="office-1",
    )


async def handled(db: Database) -> list[str]:
    async with db.session() as session:
        rows = await session.exec(select(HandledDevice).order_by(col(HandledDevice.id)))
        return [row.serial_number for row in rows.all()]


async def dead_letters(db: Database) -> list[DeadLetter]:
    async with db.session() as session:
        return list((await session.exec(select(DeadLetter).order_by(col(DeadLetter.id)))).all())


async def test_a_poison_event_goes_to_the_dead_letters_and_later_events_arrive(
    dbs: tuple[Database, Database],
) -> None:
    producer, consumer_db = dbs
    consumers = Consumers("catalog", consumer_db, max_attempts=3)
    consumers.on(DeviceRegistered, refuse_poison)
    consumers.ready()
    bus = InProcessBus()
    consumers.attach(bus)
    poison = registered("POISON")
    # The poison's aggregate has a later event: it must not be handled before the poison is.
    same_aggregate = registered("AFTER-POISON", poison.device_id)
    async with session_scope(producer) as session:
        for event in (poison, registered("BC-1"), same_aggregate, registered("BC-2")):
            record(session, event)
    relay = OutboxRelay(producer, bus, interval=0.05, max_backoff=0.1)
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(30):
            while True:
                done = await handled(consumer_db) == ["BC-1", "BC-2"]
                if done and not (await relay.status())["outbox_pending"]:
                    break
                await asyncio.sleep(0.05)
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=10)

    first, second = await dead_letters(consumer_db)
    assert (first.consumer, first.key) == ("catalog", str(poison.device_id))
    assert "failed 3 times" in first.reason
    assert "OverflowError: date value out of range" in first.reason
    assert str(poison.event_id) in first.payload
    assert str(same_aggregate.event_id) in second.payload
    assert f"waits behind dead letter {first.id}" in second.reason
    assert await consumers.status() == {"dead_letters": 2, "failing_events": 0}
    figures = await relay.status()
    assert (figures["outbox_pending"], figures["outbox_head_attempts"]) == (0, 0)


async def test_a_dead_letter_delivered_again_is_passed_over(
    dbs: tuple[Database, Database],
) -> None:
    _, consumer_db = dbs
    consumers = Consumers("catalog", consumer_db, max_attempts=1)
    consumers.on(DeviceRegistered, refuse_poison)
    consumers.ready()
    message = encode(registered("POISON"), {})

    await consumers.handle(message)
    await consumers.handle(message)  # a relay that crashed before marking it sends it again

    assert len(await dead_letters(consumer_db)) == 1


async def test_an_outage_is_retried_for_ever_and_never_makes_a_dead_letter(
    dbs: tuple[Database, Database],
) -> None:
    _, consumer_db = dbs
    down = True

    async def needs_the_database(session: AsyncSession, event: DeviceRegistered) -> None:
        if down:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        session.add(HandledDevice(device_id=event.device_id, serial_number=event.serial_number))

    consumers = Consumers("catalog", consumer_db, max_attempts=2)
    consumers.on(DeviceRegistered, needs_the_database)
    consumers.ready()
    message = encode(registered("BC-1"), {})
    for _ in range(5):
        with pytest.raises(OperationalError):
            await consumers.handle(message)
    down = False
    await consumers.handle(message)

    assert await dead_letters(consumer_db) == []
    assert await handled(consumer_db) == ["BC-1"]


async def test_a_failing_event_is_counted_until_it_is_handled_or_set_aside(
    dbs: tuple[Database, Database],
) -> None:
    _, consumer_db = dbs
    consumers = Consumers("catalog", consumer_db, max_attempts=3)
    consumers.on(DeviceRegistered, refuse_poison)
    consumers.ready()
    message = encode(registered("POISON"), {})
    for _ in range(2):
        with contextlib.suppress(OverflowError):
            await consumers.handle(message)
    assert await consumers.status() == {"dead_letters": 0, "failing_events": 1}

    await consumers.handle(message)

    assert await consumers.status() == {"dead_letters": 1, "failing_events": 0}
