"""Outbox, relay, bus and idempotent consumers, on real SQLite databases and the in-process bus.

Two databases stand for two services: "producer" writes events with its changes, "consumer"
handles them. The handler records what it saw in the consumer's own table, in its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import func
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.db import Database, session_scope
from quancheng.common.db.migrate import COMMON, upgrade
from quancheng.common.events import (
    Consumers,
    DeadLetter,
    DeviceRegistered,
    InProcessBus,
    Message,
    OutboxMessage,
    OutboxRelay,
    ProcessedEvent,
    encode,
    record,
)
from quancheng.common.events.consumer import ConsumerStoppedError


class SeenDevice(SQLModel, table=True):
    """The test consumer's effect table."""

    __tablename__ = "test_seen_devices"

    id: int | None = Field(default=None, primary_key=True)
    device_id: UUID


async def _database(url: str) -> Database:
    upgrade(url, COMMON)
    db = Database(url)
    db.connect()
    async with db.engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all, tables=[SeenDevice.__table__])  # type: ignore[attr-defined]
    return db


@pytest.fixture
async def producer(database_url: str) -> AsyncIterator[Database]:
    db = await _database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def consumer_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = await _database(f"sqlite:///{tmp_path / 'consumer.sqlite3'}")
    yield db
    await db.dispose()


async def remember(session: AsyncSession, event: DeviceRegistered) -> None:
    session.add(SeenDevice(device_id=event.device_id))


def make_consumers(db: Database) -> Consumers:
    consumers = Consumers("consumer", db, ready_timeout=1.0)
    consumers.on(DeviceRegistered, remember)
    consumers.ready()
    return consumers


def registered() -> DeviceRegistered:
    return DeviceRegistered(
        device_id=uuid4(),
        serial_number="BC-1",
        kind="body_camera",
        model="M",
        section="JC1",
        registered_by="office-1",
    )


async def count(db: Database, model: type[SQLModel]) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def pending(db: Database) -> int:
    async with db.session() as session:
        rows = await session.exec(select(OutboxMessage).where(OutboxMessage.relayed_at == None))  # noqa: E711
        return len(rows.all())


async def test_an_event_committed_in_one_service_is_handled_in_another(
    producer: Database, consumer_db: Database
) -> None:
    bus = InProcessBus()
    make_consumers(consumer_db).attach(bus)
    event = registered()
    async with session_scope(producer) as session:
        record(session, event)

    assert await OutboxRelay(producer, bus).relay_once() == 1

    async with consumer_db.session() as session:
        seen = (await session.exec(select(SeenDevice))).all()
    assert [s.device_id for s in seen] == [event.device_id]
    assert await pending(producer) == 0


async def test_two_embedded_services_can_deliver_to_each_other_at_the_same_moment(
    tmp_path: Path,
) -> None:
    # Each SQLite database has one write lock. Ingest delivers recording.ingested to the registry
    # while the registry delivers a device event to ingest: neither relay may hold its own
    # database while the other's consumer needs it.
    a = await _database(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    b = await _database(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    try:
        arrived = {"a": asyncio.Event(), "b": asyncio.Event()}

        def crossing(sender: str, receiver: str, into: Database) -> InProcessBus:
            consumers = make_consumers(into)

            async def handler(message: Message) -> None:
                # Both deliveries are under way before either is handled.
                arrived[sender].set()
                await asyncio.wait_for(arrived[receiver].wait(), timeout=5)
                await consumers.handle(message)

            bus = InProcessBus()
            bus.subscribe(f"to-{receiver}", ["quancheng.device"], handler)
            return bus

        for db in (a, b):
            async with session_scope(db) as session:
                record(session, registered())
        relays = (
            OutboxRelay(a, crossing("a", "b", into=b)),
            OutboxRelay(b, crossing("b", "a", into=a)),
        )

        sent = await asyncio.wait_for(
            asyncio.gather(*(relay.relay_once() for relay in relays)), timeout=10
        )

        assert sent == [1, 1]
        assert (await count(a, SeenDevice), await count(b, SeenDevice)) == (1, 1)
        assert (await pending(a), await pending(b)) == (0, 0)
    finally:
        await a.dispose()
        await b.dispose()


async def test_the_message_is_kafka_shaped(producer: Database) -> None:
    delivered: list[Message] = []

    async def capture(message: Message) -> None:
        delivered.append(message)

    bus = InProcessBus()
    bus.subscribe("capture", ["quancheng.device"], capture)
    event = registered()
    async with session_scope(producer) as session:
        record(session, event)
    await OutboxRelay(producer, bus).relay_once()

    (message,) = delivered
    assert message.topic == "quancheng.device"
    assert message.key == str(event.device_id)
    assert message.headers["event-id"] == str(event.event_id)
    assert message.headers["event-type"] == "device.registered"
    assert message.headers["event-version"] == "1"
    assert json.loads(message.value)["serial_number"] == "BC-1"


async def test_a_rolled_back_change_emits_nothing(producer: Database) -> None:
    async def failing_change() -> None:
        async with session_scope(producer) as session:
            record(session, registered())
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()

    assert await count(producer, OutboxMessage) == 0


async def test_a_crash_between_commit_and_relay_loses_nothing(
    database_url: str, consumer_db: Database
) -> None:
    # First life: the change commits, then the process dies before its relay runs.
    first = await _database(database_url)
    event = registered()
    async with session_scope(first) as session:
        record(session, event)
    await first.dispose()

    # Second life: a new process, a new bus, a new relay find the event and deliver it.
    second = Database(database_url)
    second.connect()
    try:
        bus = InProcessBus()
        make_consumers(consumer_db).attach(bus)
        assert await OutboxRelay(second, bus).relay_once() == 1
        assert await pending(second) == 0
    finally:
        await second.dispose()
    async with consumer_db.session() as session:
        seen = (await session.exec(select(SeenDevice))).all()
    assert [s.device_id for s in seen] == [event.device_id]


async def test_a_redelivered_event_is_applied_once(consumer_db: Database) -> None:
    consumers = make_consumers(consumer_db)
    message = encode(registered(), {})

    await consumers.handle(message)
    await consumers.handle(message)

    assert await count(consumer_db, SeenDevice) == 1
    assert await count(consumer_db, ProcessedEvent) == 1


async def test_a_failing_bus_keeps_the_event_until_it_recovers(
    producer: Database, consumer_db: Database
) -> None:
    consumers = make_consumers(consumer_db)
    bus = InProcessBus()
    broken = True

    async def flaky(message: Message) -> None:
        if broken:
            raise ConnectionError("broker unreachable")
        await consumers.handle(message)

    bus.subscribe("consumer", ["quancheng.device"], flaky)
    relay = OutboxRelay(producer, bus)
    async with session_scope(producer) as session:
        record(session, registered())

    with pytest.raises(Exception, match="broker unreachable"):
        await relay.relay_once()
    async with producer.session() as session:
        row = (await session.exec(select(OutboxMessage))).one()
    assert row.relayed_at is None
    assert row.attempts == 1
    assert "broker unreachable" in (row.last_error or "")

    broken = False
    assert await relay.relay_once() == 1
    assert await count(consumer_db, SeenDevice) == 1


async def test_events_leave_in_commit_order(producer: Database) -> None:
    seen: list[str] = []

    async def capture(message: Message) -> None:
        seen.append(json.loads(message.value)["serial_number"])

    bus = InProcessBus()
    bus.subscribe("capture", ["quancheng.device"], capture)
    for n in range(5):
        async with session_scope(producer) as session:
            record(session, registered().model_copy(update={"serial_number": f"BC-{n}"}))

    await OutboxRelay(producer, bus, batch_size=2).relay_once()

    assert seen == [f"BC-{n}" for n in range(5)]


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ({"event-type": "device.registered", "event-version": "1"}, b"{not json", "malformed"),
        ({"event-type": "device.registered", "event-version": "1"}, b'{"kind": "x"}', "Field"),
        ({"event-type": "device.melted", "event-version": "1"}, b"{}", "unknown event type"),
        ({"event-type": "device.registered", "event-version": "9"}, b"{}", "version 9"),
    ],
    ids=["bad-json", "missing-fields", "unknown-type", "unknown-version"],
)
async def test_a_message_that_breaks_its_contract_becomes_a_dead_letter(
    consumer_db: Database, headers: dict[str, str], value: bytes, reason: str
) -> None:
    consumers = make_consumers(consumer_db)

    await consumers.handle(Message("quancheng.device", "k", value, headers))

    async with consumer_db.session() as session:
        (letter,) = (await session.exec(select(DeadLetter))).all()
    assert reason.lower() in letter.reason.lower()
    assert letter.consumer == "consumer"
    assert await count(consumer_db, SeenDevice) == 0


async def test_a_commit_wakes_the_running_relay_at_once(producer: Database) -> None:
    delivered = asyncio.Event()

    async def capture(_message: Message) -> None:
        delivered.set()

    bus = InProcessBus()
    bus.subscribe("capture", ["quancheng.device"], capture)
    # The timer alone would take an hour: only the commit's wake-up can deliver in time.
    relay_task = asyncio.create_task(OutboxRelay(producer, bus, interval=3600).run())
    try:
        await asyncio.sleep(0.05)
        async with session_scope(producer) as session:
            record(session, registered())
        await asyncio.wait_for(delivered.wait(), timeout=5)
    finally:
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task


async def test_an_idle_relay_stays_idle(producer: Database) -> None:
    class CountingRelay(OutboxRelay):
        rounds = 0

        async def relay_once(self) -> int:
            self.rounds += 1
            return await super().relay_once()

    relay = CountingRelay(producer, InProcessBus(), interval=3600)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.5)
    relay.stop()
    await asyncio.wait_for(task, timeout=5)

    # One round at start, one for the stop; its own commits must not keep waking it.
    assert relay.rounds <= 2


async def test_stopping_consumers_finish_the_delivery_in_hand_and_refuse_new_ones(
    consumer_db: Database,
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(session: AsyncSession, event: DeviceRegistered) -> None:
        started.set()
        await release.wait()
        session.add(SeenDevice(device_id=event.device_id))

    consumers = Consumers("consumer", consumer_db)
    consumers.on(DeviceRegistered, slow)
    consumers.ready()
    in_hand = asyncio.create_task(consumers.handle(encode(registered(), {})))
    await started.wait()

    stopping = asyncio.create_task(consumers.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()
    with pytest.raises(ConsumerStoppedError):
        await consumers.handle(encode(registered(), {}))

    release.set()
    await in_hand
    await asyncio.wait_for(stopping, timeout=5)
    assert await count(consumer_db, SeenDevice) == 1


async def test_the_trace_context_travels_with_the_event(
    producer: Database, consumer_db: Database
) -> None:
    seen_trace_ids: list[int] = []

    async def traced(session: AsyncSession, event: DeviceRegistered) -> None:
        seen_trace_ids.append(trace.get_current_span().get_span_context().trace_id)

    consumers = Consumers("consumer", consumer_db)
    consumers.on(DeviceRegistered, traced)
    consumers.ready()
    bus = InProcessBus()
    consumers.attach(bus)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("register device") as span:
        async with session_scope(producer) as session:
            record(session, registered())
    trace_id = span.get_span_context().trace_id

    await OutboxRelay(producer, bus).relay_once()

    async with producer.session() as session:
        row = (await session.exec(select(OutboxMessage))).one()
    assert f"{trace_id:032x}" in json.loads(row.headers)["traceparent"]
    assert seen_trace_ids == [trace_id]
