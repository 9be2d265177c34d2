"""The Kafka bus (aiokafka): an idempotent producer and one consumer per consumer group.

Delivery is at-least-once: a group commits a message's offset only after its handler returned (the
handler's own transaction has committed by then). A handler that raises gets the same message again
after a growing pause, and the later messages of that partition wait behind it. Topics are created
on first use, by a subscription or a publish, with the configured partitions and replication.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.structs import TopicPartition

from quancheng.common.events.bus import Handler, Message
from quancheng.common.settings import KafkaSettings

log = logging.getLogger(__name__)

# Headers a dead letter carries besides the original ones.
HEADER_DEAD_LETTER_REASON = "dead-letter-reason"
HEADER_DEAD_LETTER_GROUP = "dead-letter-group"
HEADER_ORIGINAL_TOPIC = "original-topic"
HEADER_ORIGINAL_PARTITION = "original-partition"
HEADER_ORIGINAL_OFFSET = "original-offset"

_FIRST_BACKOFF = 0.5
_MAX_BACKOFF = 30.0
_POLL_SECONDS = 1.0

T = TypeVar("T")


class KafkaUnavailableError(ConnectionError):
    """No Kafka broker answered within the bus's connect timeout."""


class _OutageLog(logging.Filter):
    """While the broker is down, aiokafka logs every reconnect and fetch it tries: thousands of
    ERROR lines a minute. Each kind of warning or error passes once per outage; the bus calls
    :meth:`ended` when Kafka answers again, which says so once, with the count held back."""

    # A long outage (or an end the bus did not see) is told again at this interval.
    REMIND_SECONDS = 300.0

    def __init__(self) -> None:
        super().__init__()
        self._held: dict[tuple[str, str], int] = {}
        self._since = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if record.created - self._since > self.REMIND_SECONDS:
            self._held, self._since = {}, record.created
        kind = (record.name, str(record.msg))
        if kind in self._held:
            self._held[kind] += 1
            return False
        self._held[kind] = 0
        return True

    def ended(self) -> None:
        if self._held:
            held, self._held = sum(self._held.values()), {}
            log.warning(
                "Kafka answers again; %d repeats of its client's errors were not logged", held
            )


# Loggers and their filters are process-wide, like aiokafka's connections to the one broker.
_outage_log = _OutageLog()


def _quiet_repeats() -> None:
    for name in [*logging.root.manager.loggerDict, "aiokafka"]:
        if name == "aiokafka" or name.startswith("aiokafka."):
            logger = logging.getLogger(name)
            if _outage_log not in logger.filters:
                logger.addFilter(_outage_log)


class _Record(Protocol):
    """What the bus reads of an aiokafka ``ConsumerRecord``."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True)
class _Delivery:
    """The message a group's handler has in hand, so that a dead letter can say where it was."""

    group: str
    topic: str
    partition: int
    offset: int
    message: Message | None


_delivery: contextvars.ContextVar[_Delivery | None] = contextvars.ContextVar(
    "quancheng_kafka_delivery", default=None
)


@dataclass
class _Retry:
    delay: float
    resume_at: float
    attempts: int


@dataclass
class _Group:
    name: str
    topics: tuple[str, ...]
    handler: Handler
    consumer: Any = None
    task: asyncio.Task[None] | None = None
    # A delivery is in hand: stop() lets its handler and commit finish instead of cancelling.
    busy: bool = False
    retries: dict[TopicPartition, _Retry] = field(default_factory=dict)


class KafkaBus:
    def __init__(
        self,
        settings: KafkaSettings,
        *,
        connect_timeout: float = 60.0,
        request_timeout: float = 30.0,
    ) -> None:
        self._settings = settings
        self._bootstrap = [s.strip() for s in settings.bootstrap_servers.split(",") if s.strip()]
        self._connect_timeout = connect_timeout
        self._request_timeout = request_timeout
        self._groups: dict[str, _Group] = {}
        self._topics: set[str] = set()  # known to exist
        self._producer: Any = None
        self._admin: Any = None
        self._stopping = False

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        if group in self._groups:
            raise ValueError(f"consumer group {group!r} is already subscribed")
        subscription = _Group(group, tuple(dict.fromkeys(topics)), handler)
        self._groups[group] = subscription
        if self._producer is not None:
            subscription.task = self._spawn(self._open_and_consume(subscription))

    async def start(self) -> None:
        """Connect (retrying until the connect timeout) and start every subscribed group."""
        if self._producer is not None:
            return
        self._stopping = False
        _quiet_repeats()
        deadline = asyncio.get_running_loop().time() + self._connect_timeout
        try:
            self._producer = await self._retrying(
                "start the producer", lambda: _started(self._new_producer), deadline
            )
            self._admin = await self._retrying(
                "start the admin client", lambda: _started(self._new_admin), deadline
            )
            groups = list(self._groups.values())
            results = await asyncio.gather(
                *(self._open(group, deadline) for group in groups), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        except BaseException:
            await self.stop()
            raise
        for group in groups:
            group.task = self._spawn(self._consume(group))

    async def stop(self) -> None:
        """Stop the groups (a delivery in hand finishes first), then the producer."""
        self._stopping = True
        groups = list(self._groups.values())
        for group in groups:
            if group.task is not None and not group.busy:
                group.task.cancel()
        await asyncio.gather(
            *(group.task for group in groups if group.task is not None), return_exceptions=True
        )
        for group in groups:
            group.task = None
            group.retries.clear()
            if group.consumer is not None:
                consumer, group.consumer = group.consumer, None
                await _stop_consumer(consumer)
        producer, self._producer = self._producer, None
        admin, self._admin = self._admin, None
        if producer is not None:
            await self._stop_producer(producer)
        if admin is not None:
            await admin.close()
        self._topics.clear()

    async def publish(self, message: Message) -> None:
        """Send ``message`` and wait until all in-sync replicas have it.

        Raises if Kafka does not take it within the request timeout. The producer may still deliver
        it once Kafka is back: the caller publishes it again and consumers ignore the duplicate.
        """
        await self._send(
            message.topic,
            message.value,
            message.key.encode(),
            [(name, value.encode()) for name, value in message.headers.items()],
        )

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Put ``message``, which breaks its contract, on the dead-letter topic with ``reason``.

        Called from the message's handler, the dead letter also names the group and the
        partition and offset it came from.
        """
        if message.topic == self._settings.dead_letter_topic:
            log.error("a dead letter broke its contract again (%s); it stays where it is", reason)
            return
        delivery = _delivery.get()
        if delivery is not None and delivery.message != message:
            delivery = None
        await self._send_dead_letter(
            topic=message.topic,
            key=message.key.encode(),
            value=message.value,
            headers=[(name, value.encode()) for name, value in message.headers.items()],
            reason=reason,
            delivery=delivery,
        )

    # Connections

    def _new_producer(self) -> Any:
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._settings.client_id,
            enable_idempotence=True,
            acks="all",
            request_timeout_ms=int(self._request_timeout * 1000),
        )

    def _new_admin(self) -> Any:
        return AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap,
            client_id=f"{self._settings.client_id}-admin",
            request_timeout_ms=int(self._request_timeout * 1000),
        )

    def _new_consumer(self, group: _Group) -> Any:
        return AIOKafkaConsumer(
            *group.topics,
            bootstrap_servers=self._bootstrap,
            client_id=f"{self._settings.client_id}-{group.name}",
            group_id=group.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[T]], deadline: float) -> T:
        loop = asyncio.get_running_loop()
        delay = _FIRST_BACKOFF
        while True:
            try:
                return await asyncio.wait_for(attempt(), timeout=max(deadline - loop.time(), 0.1))
            except (KafkaError, OSError, TimeoutError) as exc:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise KafkaUnavailableError(
                        f"could not {what} on Kafka at {','.join(self._bootstrap)} "
                        f"within {self._connect_timeout:.0f}s: {exc!r}"
                    ) from exc
                pause = min(delay, remaining)
                log.warning("could not %s on Kafka (%r); retrying in %.1fs", what, exc, pause)
                await asyncio.sleep(pause)
                delay = min(delay * 2, _MAX_BACKOFF)

    async def _send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: list[tuple[str, bytes | None]],
    ) -> None:
        if self._producer is None:
            raise RuntimeError("the Kafka bus is not started")
        try:
            async with asyncio.timeout(self._request_timeout):
                await self._ensure_topics([topic])
                await self._producer.send_and_wait(topic, value, key=key, headers=headers)
            _outage_log.ended()
        except TimeoutError as exc:
            raise KafkaUnavailableError(
                f"Kafka did not take a message for {topic} within {self._request_timeout:.0f}s"
            ) from exc

    async def _stop_producer(self, producer: Any) -> None:
        try:
            await asyncio.wait_for(producer.flush(), self._request_timeout)
        except TimeoutError:
            await _abandon_unsent(producer)
        await producer.stop()

    async def _ensure_topics(self, topics: Sequence[str]) -> None:
        missing = [topic for topic in topics if topic not in self._topics]
        if not missing:
            return
        if self._admin is None:
            raise RuntimeError("the Kafka bus is not started")
        response = await self._admin.create_topics(
            [
                NewTopic(topic, self._settings.partitions, self._settings.replication_factor)
                for topic in missing
            ]
        )
        for topic, code, *_ in response.topic_errors:
            if code not in (0, TopicAlreadyExistsError.errno):
                raise for_code(code)(f"cannot create topic {topic}")
        self._topics.update(missing)

    # Consumer groups

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        task.add_done_callback(_report_crash)
        return task

    async def _open(self, group: _Group, deadline: float) -> None:
        await self._retrying(
            f"create the topics of group {group.name}",
            lambda: self._ensure_topics(group.topics),
            deadline,
        )
        group.consumer = await self._retrying(
            f"join group {group.name}",
            lambda: _started(lambda: self._new_consumer(group)),
            deadline,
        )

    async def _open_and_consume(self, group: _Group) -> None:
        while group.consumer is None:
            deadline = asyncio.get_running_loop().time() + self._connect_timeout
            try:
                await self._open(group, deadline)
            except KafkaUnavailableError:
                log.exception("group %s could not start; trying again", group.name)
        await self._consume(group)

    async def _consume(self, group: _Group) -> None:
        loop = asyncio.get_running_loop()
        consumer = group.consumer
        while not self._stopping:
            timeout = self._resume_due(group, loop.time())
            try:
                batches: dict[TopicPartition, list[_Record]] = await consumer.getmany(
                    timeout_ms=int(timeout * 1000)
                )
            except KafkaError as exc:
                log.warning("group %s could not fetch (%r)", group.name, exc)
                await asyncio.sleep(_FIRST_BACKOFF)
                continue
            if batches:
                _outage_log.ended()
            for partition, records in batches.items():
                for record in records:
                    if self._stopping:
                        return
                    if not await self._deliver(group, partition, record):
                        break  # the rest of this partition comes again after the retry

    def _resume_due(self, group: _Group, now: float) -> float:
        """Resume the partitions whose pause is over; returns how long the next poll may wait."""
        assigned = group.consumer.assignment()
        wait = _POLL_SECONDS
        for partition, retry in list(group.retries.items()):
            if partition not in assigned:
                # Revoked: its next owner starts again from the committed offset.
                del group.retries[partition]
            elif retry.resume_at <= now:
                group.consumer.resume(partition)
            else:
                wait = min(wait, retry.resume_at - now)
        return wait

    async def _deliver(self, group: _Group, partition: TopicPartition, record: _Record) -> bool:
        """Hand ``record`` to the group's handler and commit it; False if it must come again."""
        group.busy = True
        try:
            try:
                await self._hand_over(group, record)
            except Exception as exc:
                self._retry_later(group, partition, record, exc)
                return False
            group.retries.pop(partition, None)
            await self._commit(group, partition, record)
            return True
        finally:
            group.busy = False

    async def _commit(self, group: _Group, partition: TopicPartition, record: _Record) -> None:
        try:
            await asyncio.wait_for(
                group.consumer.commit({partition: record.offset + 1}), self._request_timeout
            )
        except (KafkaError, TimeoutError) as exc:
            log.warning(
                "group %s could not commit %s[%d]@%d (%r); it will be delivered again",
                group.name,
                record.topic,
                record.partition,
                record.offset,
                exc,
            )

    async def _hand_over(self, group: _Group, record: _Record) -> None:
        problem = _unreadable(record)
        if problem is None:
            message = _to_message(record)
            token = _delivery.set(
                _Delivery(group.name, record.topic, record.partition, record.offset, message)
            )
            try:
                await group.handler(message)
            finally:
                _delivery.reset(token)
        elif record.topic == self._settings.dead_letter_topic:
            log.error(
                "group %s skips an unreadable dead letter at %s[%d]@%d: %s",
                group.name,
                record.topic,
                record.partition,
                record.offset,
                problem,
            )
        else:
            # It cannot even be given to the handler: only a dead letter can keep it.
            await self._send_dead_letter(
                topic=record.topic,
                key=record.key,
                value=record.value,
                headers=[(name, value) for name, value in record.headers if _readable(value)],
                reason=problem,
                delivery=_Delivery(group.name, record.topic, record.partition, record.offset, None),
            )

    def _retry_later(
        self, group: _Group, partition: TopicPartition, record: _Record, exc: Exception
    ) -> None:
        now = asyncio.get_running_loop().time()
        previous = group.retries.get(partition)
        delay = _FIRST_BACKOFF if previous is None else min(previous.delay * 2, _MAX_BACKOFF)
        attempts = 1 if previous is None else previous.attempts + 1
        log.warning(
            "group %s failed to handle %s[%d]@%d (attempt %d); retrying in %.1fs",
            group.name,
            record.topic,
            record.partition,
            record.offset,
            attempts,
            delay,
            exc_info=exc,
        )
        try:
            group.consumer.seek(partition, record.offset)
            group.consumer.pause(partition)
        except KafkaError:
            return  # revoked meanwhile: its next owner starts again from the committed offset
        group.retries[partition] = _Retry(delay, now + delay, attempts)

    async def _send_dead_letter(
        self,
        *,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes | None]],
        reason: str,
        delivery: _Delivery | None,
    ) -> None:
        added = {HEADER_DEAD_LETTER_REASON: reason, HEADER_ORIGINAL_TOPIC: topic}
        if delivery is not None:
            added[HEADER_DEAD_LETTER_GROUP] = delivery.group
            added[HEADER_ORIGINAL_PARTITION] = str(delivery.partition)
            added[HEADER_ORIGINAL_OFFSET] = str(delivery.offset)
        kept = [(name, value) for name, value in headers if name not in added]
        dead_letter_topic = self._settings.dead_letter_topic
        log.error("dead letter from %s to %s: %s", topic, dead_letter_topic, reason)
        await self._send(
            dead_letter_topic,
            value,
            key,
            kept + [(name, text.encode()) for name, text in added.items()],
        )


async def _started(make: Callable[[], Any]) -> Any:
    client = make()
    try:
        await client.start()
    except BaseException:
        await _close(client)
        raise
    return client


async def _abandon_unsent(producer: Any) -> None:
    """Fail the batches Kafka has not taken, so that the producer can stop.

    An idempotent aiokafka producer retries a batch until Kafka takes it and its stop() waits for
    that; the publishers of those batches were already told that publishing failed.
    """
    await producer._sender.close()
    accumulator = producer._message_accumulator
    unsent = [*itertools.chain.from_iterable(accumulator._batches.values())]
    unsent += accumulator._pending_batches
    accumulator.fail_all(KafkaUnavailableError("the bus stopped before Kafka took the message"))
    for batch in unsent:
        # Only the sender, now gone, would have read this.
        if not batch._drain_waiter.cancelled():
            batch._drain_waiter.exception()


async def _stop_consumer(consumer: Any) -> None:
    try:
        await consumer.stop()
        return
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    # aiokafka 0.14's Fetcher.close() re-raises the cancellation of a fetch that was backing off
    # from an unreachable broker (aio-libs/aiokafka#647), leaving fetches and connections open.
    for fetch in list(consumer._fetcher._pending_tasks):
        fetch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fetch
    await consumer._client.close()


async def _close(client: Any) -> None:
    if isinstance(client, AIOKafkaAdminClient):
        await client.close()
    else:
        await client.stop()


def _readable(data: bytes | None) -> bool:
    try:
        (data or b"").decode()
    except UnicodeDecodeError:
        return False
    return True


def _unreadable(record: _Record) -> str | None:
    """Why ``record`` cannot become a :class:`Message`, if it cannot."""
    if not _readable(record.key):
        return "malformed message: the key is not UTF-8"
    names = [name for name, value in record.headers if not _readable(value)]
    if names:
        return f"malformed message: header {', '.join(names)} is not UTF-8"
    return None


def _to_message(record: _Record) -> Message:
    return Message(
        topic=record.topic,
        key=(record.key or b"").decode(),
        value=record.value or b"",
        headers={name: (value or b"").decode() for name, value in record.headers},
    )


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a Kafka consumer group stopped", exc_info=task.exception())
