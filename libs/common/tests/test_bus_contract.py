"""The event-bus contract, run against every adapter, then what only Kafka promises, against a
private single-node broker: committed offsets survive a consumer restart, a broker outage loses
nothing committed, dead letters, and the outbox and idempotent consumers end to end.

The in-process bus hands a failed delivery back to its publisher (the outbox relay keeps the row and
publishes it again), where Kafka keeps and redelivers it itself; :func:`relay` publishes like the
relay does, so that the same tests hold for both.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.db import Database, session_scope
from quancheng.common.db.migrate import COMMON, upgrade
from quancheng.common.events import (
    Consumers,
    DeadLetter,
    DeviceRegistered,
    EventBus,
    InProcessBus,
    Message,
    OutboxMessage,
    OutboxRelay,
    ProcessedEvent,
    record,
)
from quancheng.common.events.kafka import (
    HEADER_DEAD_LETTER_GROUP,
    HEADER_DEAD_LETTER_REASON,
    HEADER_ORIGINAL_OFFSET,
    HEADER_ORIGINAL_PARTITION,
    HEADER_ORIGINAL_TOPIC,
    KafkaBus,
    KafkaUnavailableError,
)
from quancheng.common.settings import KafkaSettings
from quancheng.common.testing.cache import free_port
from quancheng.common.testing.kafka import KafkaServer

WAIT = 60.0  # seconds any single expected delivery may take on a busy two-core machine

BusFactory = Callable[[], EventBus]
KafkaBuses = Callable[[], KafkaBus]


@pytest.fixture
def kafka_config(kafka_server: KafkaServer) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=kafka_server.bootstrap,
        client_id="quancheng-test",
        partitions=3,
        dead_letter_topic=f"test.dead-letter.{uuid.uuid4().hex}",
    )


@pytest.fixture
async def kafka_buses(kafka_config: KafkaSettings) -> AsyncIterator[KafkaBuses]:
    """Makes Kafka buses on the test broker, and stops them after the test."""
    buses: list[KafkaBus] = []

    def make() -> KafkaBus:
        bus = KafkaBus(kafka_config, connect_timeout=30.0, request_timeout=5.0)
        buses.append(bus)
        return bus

    yield make
    for bus in reversed(buses):
        await bus.stop()


@pytest.fixture(params=["inprocess", "kafka"])
def new_bus(request: pytest.FixtureRequest) -> BusFactory:
    if request.param == "inprocess":
        return InProcessBus
    make: BusFactory = request.getfixturevalue("kafka_buses")
    return make


class Inbox:
    """A handler that records what it is given; ``fail(message, attempt)`` says which attempts
    raise, counting every delivery to this handler."""

    def __init__(self, fail: Callable[[Message, int], bool] | None = None) -> None:
        self.attempts: list[Message] = []
        self.handled: list[Message] = []
        self._fail = fail
        self._changed = asyncio.Event()

    async def __call__(self, message: Message) -> None:
        self.attempts.append(message)
        failing = self._fail is not None and self._fail(message, len(self.attempts))
        if not failing:
            self.handled.append(message)
        self._changed.set()
        if failing:
            raise RuntimeError(f"handler failed on {message.value!r}")

    async def wait_for(self, count: int) -> list[Message]:
        """The first ``count`` handled messages, once there are that many."""
        await self.wait_until(lambda handled: len(handled) >= count)
        return self.handled[:count]

    async def wait_until(self, done: Callable[[list[Message]], bool]) -> list[Message]:
        async with asyncio.timeout(WAIT):
            while not done(self.handled):
                self._changed.clear()
                await self._changed.wait()
        return self.handled


async def relay(bus: EventBus, *messages: Message) -> None:
    """Publish in order like the outbox relay: a refused message is published again."""
    async with asyncio.timeout(WAIT):
        for message in messages:
            while True:
                try:
                    await bus.publish(message)
                    break
                except Exception:
                    await asyncio.sleep(0.1)


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.1)


def topic_name() -> str:
    return f"test.{uuid.uuid4().hex}"


def group_name() -> str:
    return f"group-{uuid.uuid4().hex}"


def message(topic: str, n: int, key: str = "aggregate-1") -> Message:
    return Message(topic, key, f"message {n}".encode(), {"event-type": "test.thing", "n": str(n)})


# The contract


async def test_a_published_message_reaches_the_group_intact(new_bus: BusFactory) -> None:
    bus, inbox, topic = new_bus(), Inbox(), topic_name()
    bus.subscribe(group_name(), [topic], inbox)
    await bus.start()
    sent = Message(
        topic,
        "案件-42",
        b'{"serial_number": "BC-1", "bytes": "\\u0000"}',
        {"event-id": str(uuid4()), "event-type": "device.registered", "note": "执法记录仪"},
    )

    await relay(bus, sent)

    assert await inbox.wait_for(1) == [sent]


async def test_every_group_gets_each_message(new_bus: BusFactory) -> None:
    bus, first, second, topic = new_bus(), Inbox(), Inbox(), topic_name()
    bus.subscribe(group_name(), [topic], first)
    bus.subscribe(group_name(), [topic], second)
    await bus.start()

    await relay(bus, message(topic, 1), message(topic, 2))

    assert await first.wait_for(2) == [message(topic, 1), message(topic, 2)]
    assert await second.wait_for(2) == [message(topic, 1), message(topic, 2)]


async def test_a_group_gets_only_its_topics(new_bus: BusFactory) -> None:
    bus, inbox, wanted, other = new_bus(), Inbox(), topic_name(), topic_name()
    bus.subscribe(group_name(), [wanted], inbox)
    bus.subscribe(group_name(), [other], Inbox())
    await bus.start()

    await relay(bus, message(other, 1), message(wanted, 2))

    assert await inbox.wait_for(1) == [message(wanted, 2)]
    assert inbox.attempts == [message(wanted, 2)]


async def test_a_failed_delivery_comes_again_and_later_messages_wait_behind_it(
    new_bus: BusFactory,
) -> None:
    # The first message fails twice; messages 2 and 3 (same key, same partition) must not pass it.
    bus, topic = new_bus(), topic_name()
    inbox = Inbox(fail=lambda m, attempt: m.headers["n"] == "1" and attempt <= 2)
    bus.subscribe(group_name(), [topic], inbox)
    await bus.start()

    await relay(bus, message(topic, 1), message(topic, 2), message(topic, 3))

    assert await inbox.wait_for(3) == [message(topic, n) for n in (1, 2, 3)]
    assert [m.headers["n"] for m in inbox.attempts] == ["1", "1", "1", "2", "3"]


async def test_a_failing_group_does_not_hold_up_another(new_bus: BusFactory) -> None:
    bus, topic = new_bus(), topic_name()
    failing = Inbox(fail=lambda m, attempt: attempt == 1)
    healthy = Inbox()
    bus.subscribe(group_name(), [topic], failing)
    bus.subscribe(group_name(), [topic], healthy)
    await bus.start()

    await relay(bus, message(topic, 1))

    assert await failing.wait_for(1) == [message(topic, 1)]
    # The in-process bus publishes again to every group: an idempotent consumer ignores it.
    assert message(topic, 1) in await healthy.wait_for(1)


# Kafka only


async def test_a_group_that_subscribes_after_start_gets_messages(
    kafka_buses: KafkaBuses,
) -> None:
    bus, inbox, topic = kafka_buses(), Inbox(), topic_name()
    await bus.start()

    bus.subscribe(group_name(), [topic], inbox)
    await bus.publish(message(topic, 1))

    assert await inbox.wait_for(1) == [message(topic, 1)]


async def test_a_restarted_group_resumes_after_its_committed_offset(
    kafka_buses: KafkaBuses,
) -> None:
    topic, group = topic_name(), group_name()
    producer = kafka_buses()
    await producer.start()
    first_life, first_inbox = kafka_buses(), Inbox()
    first_life.subscribe(group, [topic], first_inbox)
    await first_life.start()
    await producer.publish(message(topic, 1))
    await producer.publish(message(topic, 2))
    await first_inbox.wait_for(2)
    await first_life.stop()

    await producer.publish(message(topic, 3))
    second_life, second_inbox = kafka_buses(), Inbox()
    second_life.subscribe(group, [topic], second_inbox)
    await second_life.start()

    # Same key, same partition: had 1 or 2 come again, they would have come before 3.
    assert await second_inbox.wait_for(1) == [message(topic, 3)]


async def test_stopping_lets_the_handler_in_hand_finish_and_commits_it(
    kafka_buses: KafkaBuses,
) -> None:
    topic, group = topic_name(), group_name()
    started, release = asyncio.Event(), asyncio.Event()
    handled: list[Message] = []

    async def slow(message: Message) -> None:
        started.set()
        await release.wait()
        handled.append(message)

    bus = kafka_buses()
    bus.subscribe(group, [topic], slow)
    await bus.start()
    await bus.publish(message(topic, 1))
    await bus.publish(message(topic, 2))
    await asyncio.wait_for(started.wait(), timeout=WAIT)

    stopping = asyncio.create_task(bus.stop())
    await asyncio.sleep(0.5)
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, timeout=WAIT)

    assert handled == [message(topic, 1)]
    successor, inbox = kafka_buses(), Inbox()
    successor.subscribe(group, [topic], inbox)
    await successor.start()
    assert await inbox.wait_for(1) == [message(topic, 2)]


async def committed(server: KafkaServer, group: str, topic: str, count: int) -> bool:
    """Whether ``group`` has committed ``count`` messages of ``topic``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=server.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    done: int = sum(o.offset for tp, o in offsets.items() if tp.topic == topic)
    return done >= count


async def test_a_broker_outage_refuses_publishing_and_loses_nothing_committed(
    kafka_server: KafkaServer, kafka_buses: KafkaBuses
) -> None:
    topic, group = topic_name(), group_name()
    bus, inbox = kafka_buses(), Inbox()
    bus.subscribe(group, [topic], inbox)
    await bus.start()
    await bus.publish(message(topic, 1))
    await inbox.wait_for(1)
    await until(lambda: committed(kafka_server, group, topic, 1))

    await asyncio.to_thread(kafka_server.stop_broker)
    try:
        with pytest.raises(KafkaUnavailableError):
            await bus.publish(message(topic, 2))
    finally:
        await asyncio.to_thread(kafka_server.start_broker)
    await bus.publish(message(topic, 3))

    # The refused message may still arrive (its publisher sends it again anyway), but in order, and
    # nothing the group had committed comes again.
    m1, m2, m3 = (message(topic, n) for n in (1, 2, 3))
    handled = await inbox.wait_until(lambda handled: m3 in handled)
    assert handled in ([m1, m3], [m1, m2, m3])
    assert inbox.attempts == handled
    # Everything the broker had acknowledged is still there for a group that reads it all.
    reader, everything = kafka_buses(), Inbox()
    reader.subscribe(group_name(), [topic], everything)
    await reader.start()
    assert await everything.wait_until(lambda handled: m3 in handled) == handled


async def test_a_broker_outage_is_logged_once_and_its_end_once(
    kafka_server: KafkaServer, kafka_buses: KafkaBuses, caplog: pytest.LogCaptureFixture
) -> None:
    topic = topic_name()
    bus, inbox = kafka_buses(), Inbox()
    bus.subscribe(group_name(), [topic], inbox)
    await bus.start()
    await bus.publish(message(topic, 1))
    await inbox.wait_for(1)

    caplog.set_level(logging.INFO)
    await asyncio.to_thread(kafka_server.stop_broker)
    try:
        await asyncio.sleep(10)  # aiokafka alone logged about 90 ERROR lines a second here
    finally:
        await asyncio.to_thread(kafka_server.start_broker)
    await bus.publish(message(topic, 2))
    await inbox.wait_for(2)

    complaints = [
        (r.name, str(r.msg))
        for r in caplog.records
        if r.name.startswith("aiokafka") and r.levelno >= logging.WARNING
    ]
    assert complaints, "the outage was not logged at all"
    assert len(complaints) == len(set(complaints)), "a kind of complaint was logged twice"
    assert [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]


async def test_a_bus_stops_promptly_while_the_broker_is_down(
    kafka_server: KafkaServer, kafka_buses: KafkaBuses
) -> None:
    topic = topic_name()
    bus = kafka_buses()
    bus.subscribe(group_name(), [topic], Inbox())
    await bus.start()
    await bus.publish(message(topic, 1))
    await asyncio.to_thread(kafka_server.stop_broker)
    try:
        with pytest.raises(KafkaUnavailableError):
            await bus.publish(message(topic, 2))  # stays queued in the producer

        await asyncio.wait_for(bus.stop(), timeout=WAIT)
    finally:
        await asyncio.to_thread(kafka_server.start_broker)


async def test_start_waits_for_a_broker_that_comes_up_in_time(
    kafka_server: KafkaServer, kafka_buses: KafkaBuses
) -> None:
    bus, inbox, topic = kafka_buses(), Inbox(), topic_name()
    bus.subscribe(group_name(), [topic], inbox)
    await asyncio.to_thread(kafka_server.stop_broker)
    try:
        starting = asyncio.create_task(bus.start())
        await asyncio.sleep(2)
        assert not starting.done()
    finally:
        await asyncio.to_thread(kafka_server.start_broker)
    await asyncio.wait_for(starting, timeout=WAIT)

    await bus.publish(message(topic, 1))
    assert await inbox.wait_for(1) == [message(topic, 1)]


async def test_start_gives_up_clearly_when_no_broker_answers() -> None:
    bus = KafkaBus(KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}"), connect_timeout=2)
    bus.subscribe(group_name(), [topic_name()], Inbox())

    with pytest.raises(KafkaUnavailableError, match="within 2s"):
        await asyncio.wait_for(bus.start(), timeout=WAIT)


async def read_dead_letters(
    kafka_buses: KafkaBuses, settings: KafkaSettings, count: int
) -> list[Message]:
    reader, inbox = kafka_buses(), Inbox()
    reader.subscribe(group_name(), [settings.dead_letter_topic], inbox)
    await reader.start()
    return await inbox.wait_for(count)


async def test_a_handler_puts_a_message_that_breaks_its_contract_on_the_dead_letter_topic(
    kafka_buses: KafkaBuses, kafka_config: KafkaSettings
) -> None:
    topic, group = topic_name(), group_name()
    bus = kafka_buses()

    async def reject(message: Message) -> None:
        await bus.dead_letter(message, "unknown event type 'test.thing'")

    bus.subscribe(group, [topic], reject)
    await bus.start()
    await bus.publish(message(topic, 1))

    (letter,) = await read_dead_letters(kafka_buses, kafka_config, 1)
    assert (letter.key, letter.value) == ("aggregate-1", b"message 1")
    assert letter.headers["n"] == "1"
    assert letter.headers[HEADER_DEAD_LETTER_REASON] == "unknown event type 'test.thing'"
    assert letter.headers[HEADER_DEAD_LETTER_GROUP] == group
    assert letter.headers[HEADER_ORIGINAL_TOPIC] == topic
    assert int(letter.headers[HEADER_ORIGINAL_PARTITION]) in range(3)
    assert letter.headers[HEADER_ORIGINAL_OFFSET] == "0"


async def test_a_message_that_cannot_be_read_becomes_a_dead_letter_and_the_stream_goes_on(
    kafka_server: KafkaServer, kafka_buses: KafkaBuses, kafka_config: KafkaSettings
) -> None:
    topic, group = topic_name(), group_name()
    bus, inbox = kafka_buses(), Inbox()
    bus.subscribe(group, [topic], inbox)
    await bus.start()
    raw = AIOKafkaProducer(bootstrap_servers=kafka_server.bootstrap)
    await raw.start()
    try:
        await raw.send_and_wait(
            topic, b"payload", key=b"aggregate-1", headers=[("event-type", b"\xff\xfe")]
        )
    finally:
        await raw.stop()
    await bus.publish(message(topic, 2))

    assert await inbox.wait_for(1) == [message(topic, 2)]
    (letter,) = await read_dead_letters(kafka_buses, kafka_config, 1)
    assert letter.value == b"payload"
    assert letter.headers[HEADER_DEAD_LETTER_REASON] == (
        "malformed message: header event-type is not UTF-8"
    )
    assert letter.headers[HEADER_DEAD_LETTER_GROUP] == group
    assert letter.headers[HEADER_ORIGINAL_OFFSET] == "0"
    assert "event-type" not in letter.headers  # the unreadable header stays out of the reader's way


# The outbox and idempotent consumers over Kafka


class BusAppliedEvent(SQLModel, table=True):
    """The test consumer's effect table: one row each time its handler's transaction commits."""

    __tablename__ = "test_bus_applied_events"

    id: int | None = Field(default=None, primary_key=True)
    event_id: UUID


async def sqlite_database(path: Path) -> Database:
    url = f"sqlite:///{path}"
    upgrade(url, COMMON)
    db = Database(url)
    db.connect()
    async with db.engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all, tables=[BusAppliedEvent.__table__])  # type: ignore[attr-defined]
    return db


async def applied_events(db: Database) -> list[UUID]:
    async with db.session() as session:
        return [row.event_id for row in (await session.exec(select(BusAppliedEvent))).all()]


async def has_applied(db: Database, count: int) -> bool:
    return len(await applied_events(db)) >= count


def registered(device_id: UUID) -> DeviceRegistered:
    return DeviceRegistered(
        device_id=device_id,
        serial_number="BC-1",
        kind="body_camera",
        model="M",
        section="JC1",
        registered_by="office-1",
    )


async def test_a_committed_event_is_applied_once_over_kafka_despite_a_failure_and_a_resend(
    tmp_path: Path, kafka_buses: KafkaBuses
) -> None:
    producer_db = await sqlite_database(tmp_path / "producer.sqlite3")
    consumer_db = await sqlite_database(tmp_path / "consumer.sqlite3")
    calls = 0

    async def apply_failing_once(session: AsyncSession, event: DeviceRegistered) -> None:
        nonlocal calls
        calls += 1
        session.add(BusAppliedEvent(event_id=event.event_id))
        if calls == 1:
            raise RuntimeError("database hiccup")

    consumers = Consumers(group_name(), consumer_db, ready_timeout=WAIT)
    consumers.on(DeviceRegistered, apply_failing_once)
    consumers.ready()
    producer_bus, consumer_bus = kafka_buses(), kafka_buses()
    consumers.attach(consumer_bus)
    relay = OutboxRelay(producer_db, producer_bus)
    try:
        await asyncio.gather(consumer_bus.start(), producer_bus.start())
        # Same device, same key, same partition: the second event is handled after the first.
        device_id = uuid4()
        first, second = registered(device_id), registered(device_id)
        async with session_scope(producer_db) as session:
            record(session, first)

        assert await relay.relay_once() == 1
        # A relay that died before marking the row relayed sends it again.
        async with producer_db.session() as session:
            row = (await session.exec(select(OutboxMessage))).one()
        await producer_bus.publish(row.to_message())
        async with session_scope(producer_db) as session:
            record(session, second)
        assert await relay.relay_once() == 1

        await until(lambda: has_applied(consumer_db, 2))
        assert await applied_events(consumer_db) == [first.event_id, second.event_id]
        async with consumer_db.session() as session:
            processed = (await session.exec(select(func.count()).select_from(ProcessedEvent))).one()
        assert processed == 2
        assert calls == 3  # first failed, first again, second; the resend never reached it
    finally:
        await consumer_bus.stop()
        await consumers.stop()
        await producer_db.dispose()
        await consumer_db.dispose()


async def test_an_event_that_breaks_its_contract_is_kept_in_the_table_and_on_the_topic(
    tmp_path: Path, kafka_buses: KafkaBuses, kafka_config: KafkaSettings
) -> None:
    consumer_db = await sqlite_database(tmp_path / "consumer.sqlite3")

    async def ignore(session: AsyncSession, event: DeviceRegistered) -> None:
        return None  # the topic also holds other tests' valid events

    consumers = Consumers(group_name(), consumer_db, ready_timeout=WAIT)
    consumers.on(DeviceRegistered, ignore)
    consumers.ready()
    bus = kafka_buses()
    consumers.attach(bus)
    payload = f'{{"serial_number": "{uuid4()}"}}'.encode()
    broken = Message(
        DeviceRegistered.topic(),
        "device-1",
        payload,
        {"event-id": str(uuid4()), "event-type": "device.registered", "event-version": "1"},
    )

    async def kept() -> bool:
        async with consumer_db.session() as session:
            return bool((await session.exec(select(DeadLetter))).all())

    try:
        await bus.start()
        await bus.publish(broken)
        await until(kept)
        async with consumer_db.session() as session:
            (row,) = (await session.exec(select(DeadLetter))).all()
        reader, inbox = kafka_buses(), Inbox()
        reader.subscribe(group_name(), [kafka_config.dead_letter_topic], inbox)
        await reader.start()
        letters = [
            m
            for m in await inbox.wait_until(lambda got: any(m.value == payload for m in got))
            if m.value == payload
        ]
    finally:
        await bus.stop()
        await consumers.stop()
        await consumer_db.dispose()
    assert "device_id" in row.reason
    assert [m.headers[HEADER_DEAD_LETTER_REASON] for m in letters] == [row.reason]
    assert letters[0].headers[HEADER_DEAD_LETTER_GROUP] == consumers.name


async def test_over_kafka_a_poison_event_goes_to_the_dead_letters_and_later_events_arrive(
    tmp_path: Path, kafka_buses: KafkaBuses, kafka_config: KafkaSettings
) -> None:
    producer_db = await sqlite_database(tmp_path / "producer.sqlite3")
    consumer_db = await sqlite_database(tmp_path / "consumer.sqlite3")
    poison, after = registered(uuid4()), registered(uuid4())
    # The poison's aggregate has a later event: it joins the poison rather than overtake it.
    same_aggregate = registered(poison.device_id)

    async def refuse_poison(session: AsyncSession, event: DeviceRegistered) -> None:
        if event.device_id == poison.device_id and event.event_id == poison.event_id:
            raise OverflowError("date value out of range")
        if event.event_id in (after.event_id, same_aggregate.event_id):
            session.add(BusAppliedEvent(event_id=event.event_id))

    consumers = Consumers(group_name(), consumer_db, ready_timeout=WAIT, max_attempts=2)
    consumers.on(DeviceRegistered, refuse_poison)
    consumers.ready()
    producer_bus, consumer_bus = kafka_buses(), kafka_buses()
    consumers.attach(consumer_bus)
    relay = OutboxRelay(producer_db, producer_bus)
    try:
        await asyncio.gather(consumer_bus.start(), producer_bus.start())
        async with session_scope(producer_db) as session:
            for event in (poison, same_aggregate, after):
                record(session, event)
        assert await relay.relay_once() == 3

        await until(lambda: has_applied(consumer_db, 1))

        # The topic also holds other tests' events, some of them broken: only the poison's
        # aggregate is looked at.
        key = str(poison.device_id)

        async def poisons_letters() -> list[DeadLetter]:
            async with consumer_db.session() as session:
                found = await session.exec(
                    select(DeadLetter).where(DeadLetter.key == key).order_by(DeadLetter.id)  # type: ignore[arg-type]
                )
                return list(found.all())

        async def two_dead_letters() -> bool:
            return len(await poisons_letters()) == 2

        await until(two_dead_letters)
        rows = await poisons_letters()
        reader, inbox = kafka_buses(), Inbox()
        reader.subscribe(group_name(), [kafka_config.dead_letter_topic], inbox)
        await reader.start()
        letters = await inbox.wait_until(lambda got: len([m for m in got if m.key == key]) == 2)
        letters = [m for m in letters if m.key == key]
        applied = await applied_events(consumer_db)
    finally:
        await consumer_bus.stop()
        await consumers.stop()
        await producer_db.dispose()
        await consumer_db.dispose()
    assert applied == [after.event_id]
    assert [str(poison.event_id) in row.payload for row in rows] == [True, False]
    assert "failed 2 times: OverflowError" in rows[0].reason
    assert f"waits behind dead letter {rows[0].id}" in rows[1].reason
    assert [m.headers[HEADER_DEAD_LETTER_REASON] for m in letters] == [r.reason for r in rows]
