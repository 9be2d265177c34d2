"""Idempotent consumers: each handled event id is recorded in the same transaction as its effects,
so a redelivered event changes nothing. A message that breaks its contract, or that its handler
fails on delivery after delivery, is kept as a dead letter with the reason instead of blocking the
stream; later events of the same aggregate join it there, so that none is handled out of order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from opentelemetry import propagate, trace
from pydantic import ValidationError
from sqlalchemy import Column, Text
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlmodel import Field, SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.clock import utcnow
from quancheng.common.db import Database, session_scope, utc_column
from quancheng.common.events.bus import DeadLetters, EventBus, Message, decode
from quancheng.common.events.contracts import Event
from quancheng.common.storage.base import StoreUnavailableError

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

E = TypeVar("E", bound=Event)
EventHandler = Callable[[AsyncSession, E], Awaitable[None]]


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_events"

    consumer: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=36)
    event_type: str = Field(max_length=64)
    processed_at: datetime = Field(sa_column=utc_column())


class DeadLetter(SQLModel, table=True):
    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    consumer: str = Field(max_length=64)
    topic: str = Field(max_length=128)
    key: str | None = Field(default=None, max_length=128)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    headers: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=utc_column())


class ConsumerStoppedError(RuntimeError):
    pass


# Failures of what the handler stands on, not of the message: the delivery comes again, however
# often, and never counts towards a dead letter (an outage must not empty the stream into them).
_OUTAGES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    OSError,
    TimeoutError,
    StoreUnavailableError,
    ConsumerStoppedError,
)


class Consumers:
    """A service's event handlers, subscribed to the bus as one consumer group named after it."""

    def __init__(
        self,
        name: str,
        db: Database,
        *,
        ready_timeout: float = 30.0,
        max_attempts: int = 5,
    ) -> None:
        self.name = name
        self._db = db
        self._max_attempts = max_attempts
        # Failed deliveries of each event in a row, in this process (a restart tries afresh).
        self._failures: dict[str, int] = {}
        self._handlers: dict[str, EventHandler[Any]] = {}
        self._topics: set[str] = set()
        self._dead_letters: DeadLetters | None = None
        self._ready = asyncio.Event()
        self._ready_timeout = ready_timeout
        self._stopped = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def on(self, event_cls: type[E], handler: EventHandler[E]) -> None:
        self._handlers[event_cls.event_type] = cast(EventHandler[Any], handler)
        self._topics.add(event_cls.topic())

    def attach(self, bus: EventBus) -> None:
        self._dead_letters = bus if isinstance(bus, DeadLetters) else None
        if self._handlers:
            # Events of a shared topic that this service has no handler for are passed over.
            bus.subscribe(self.name, sorted(self._topics), self.handle)

    def ready(self) -> None:
        """The service's database is up: deliveries may proceed."""
        self._stopped = False
        self._ready.set()

    async def stop(self) -> None:
        """Refuse new deliveries and wait for those in hand, before the database goes away."""
        self._stopped = True
        self._ready.clear()
        await self._idle.wait()

    async def handle(self, message: Message) -> None:
        # Refused deliveries stay with the bus (the outbox or Kafka) and come again later.
        if self._stopped:
            raise ConsumerStoppedError(f"{self.name} is stopping")
        # A delivery that arrives while the service is still starting waits for it.
        await asyncio.wait_for(self._ready.wait(), timeout=self._ready_timeout)
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._handle(message)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _handle(self, message: Message) -> None:
        try:
            event = decode(message)
        except (ValidationError, ValueError) as exc:
            await self._dead_letter(message, str(exc))
            return
        handler = self._handlers.get(event.event_type)
        if handler is None:
            return
        event_id = str(event.event_id)
        context = propagate.extract(message.headers)
        with tracer.start_as_current_span(
            f"consume {event.event_type}",
            context=context,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.consumer.group.name": self.name,
                "messaging.message.id": event_id,
            },
        ):
            try:
                waiting_behind = await self._handle_in_order(event, handler, message.key)
            except _OUTAGES:
                raise
            except Exception as exc:
                failures = self._failures.get(event_id, 0) + 1
                if failures < self._max_attempts:
                    self._failures[event_id] = failures
                    raise
                self._failures.pop(event_id, None)
                reason = f"the handler failed {failures} times: {exc.__class__.__name__}: {exc}"
                await self._dead_letter(message, reason[:2000], event)
                return
            self._failures.pop(event_id, None)
            if waiting_behind is not None:
                await self._dead_letter(
                    message,
                    f"waits behind dead letter {waiting_behind} of the same aggregate "
                    f"({message.key}), so as not to be handled before it",
                    event,
                )

    async def _handle_in_order(
        self, event: Event, handler: EventHandler[Any], key: str
    ) -> int | None:
        """Run the handler unless the event was handled already or an earlier event of its
        aggregate is a dead letter; returns that dead letter's id in the second case."""
        try:
            async with session_scope(self._db) as session:
                if await session.get(ProcessedEvent, (self.name, str(event.event_id))) is not None:
                    return None
                earlier = (
                    await session.exec(
                        select(DeadLetter.id)
                        .where(DeadLetter.consumer == self.name, DeadLetter.key == key)
                        .order_by(col(DeadLetter.id))
                        .limit(1)
                    )
                ).first()
                if earlier is not None:
                    return earlier
                await handler(session, event)
                session.add(self._processed(event))
        except IntegrityError:
            # A concurrent delivery of the same event committed first; its effects stand.
            log.info("event %s already processed by %s", event.event_id, self.name)
        return None

    def _processed(self, event: Event) -> ProcessedEvent:
        return ProcessedEvent(
            consumer=self.name,
            event_id=str(event.event_id),
            event_type=event.event_type,
            processed_at=utcnow(),
        )

    async def status(self) -> dict[str, int]:
        """What /readyz and /metrics tell of this consumer: its dead letters and the events it
        keeps failing on."""
        async with session_scope(self._db) as session:
            dead_letters = (
                await session.exec(
                    select(func.count())
                    .select_from(DeadLetter)
                    .where(DeadLetter.consumer == self.name)
                )
            ).one()
        return {"dead_letters": dead_letters, "failing_events": len(self._failures)}

    async def _dead_letter(self, message: Message, reason: str, event: Event | None = None) -> None:
        log.error("dead letter for %s on %s: %s", self.name, message.topic, reason)
        # Forwarded first: if that fails the delivery fails and comes again, and the row below
        # is written only once.
        if self._dead_letters is not None:
            await self._dead_letters.dead_letter(message, reason)
        async with session_scope(self._db) as session:
            if event is not None:
                # Delivered again, it is passed over rather than made a second dead letter.
                session.add(self._processed(event))
            session.add(
                DeadLetter(
                    consumer=self.name,
                    topic=message.topic,
                    key=message.key,
                    payload=message.value.decode(errors="replace"),
                    headers=json.dumps(message.headers),
                    reason=reason,
                    received_at=utcnow(),
                )
            )
