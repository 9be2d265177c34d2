"""The transactional outbox: an event is written in the same transaction as the change it reports,
and a relay hands it to the bus after the commit. A crash between the two loses nothing: the relay
finds the row on the next start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from opentelemetry import propagate
from sqlalchemy import Column, Text, text, update
from sqlmodel import Field, SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.orm.session import Session

from quancheng.common.clock import utcnow
from quancheng.common.db import Database, session_scope, utc_column
from quancheng.common.events.bus import EventBus, Message, encode
from quancheng.common.events.contracts import Event

log = logging.getLogger(__name__)

# Only one relay per service database works at a time, so events leave in commit order.
_RELAY_LOCK_KEY = 0x5143_4F42  # "QCOB"
# Marks a session that queued events, so that only its commit wakes the relay (the relay's own
# commits must not, or it would wake itself forever).
_QUEUED = "quancheng.outbox.queued"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"

    seq: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=36, unique=True)
    event_type: str = Field(max_length=64)
    version: int
    topic: str = Field(max_length=128)
    key: str = Field(max_length=128)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    headers: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=utc_column())
    relayed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    def to_message(self) -> Message:
        return Message(
            topic=self.topic,
            key=self.key,
            value=self.payload.encode(),
            headers=json.loads(self.headers),
        )


def record(session: AsyncSession, event: Event) -> None:
    """Queue ``event`` in the session's transaction; it leaves only if the transaction commits."""
    trace_headers: dict[str, str] = {}
    propagate.inject(trace_headers)
    message = encode(event, trace_headers)
    session.info[_QUEUED] = True
    session.add(
        OutboxMessage(
            event_id=str(event.event_id),
            event_type=event.event_type,
            version=event.version,
            topic=message.topic,
            key=message.key,
            payload=message.value.decode(),
            headers=json.dumps(message.headers),
            created_at=utcnow(),
        )
    )


class OutboxRelay:
    """Moves committed outbox rows to the bus, oldest first, woken by commits and by a timer."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        interval: float = 2.0,
        batch_size: int = 100,
        max_backoff: float = 30.0,
    ) -> None:
        self._db = db
        self._bus = bus
        self._interval = interval
        self._batch_size = batch_size
        self._max_backoff = max_backoff
        self._wake = asyncio.Event()
        # run() and a direct relay_once() must not send the same rows side by side.
        self._batch_lock = asyncio.Lock()
        self._stopping = False
        db.on_commit(self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_QUEUED, False):
            self.wake()

    def wake(self) -> None:
        self._wake.set()

    async def relay_once(self) -> int:
        """Relay pending messages until none is left; returns how many left. Raises on a failure."""
        total = 0
        while True:
            sent = await self._relay_batch()
            total += sent
            if sent < self._batch_size:
                return total

    async def _relay_batch(self) -> int:
        async with self._batch_lock:
            if self._db.is_sqlite:
                return await self._relay_between_transactions()
            return await self._relay_under_advisory_lock()

    async def _relay_under_advisory_lock(self) -> int:
        # PostgreSQL: the lock keeps replicas from sending the same rows; nothing else waits on it.
        async with session_scope(self._db) as session:
            connection = await session.connection()
            locked = await connection.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _RELAY_LOCK_KEY}
            )
            if not locked.scalar_one():
                return 0
            batch = await self._pending(session)
            sent, failure = await self._publish(batch)
            await self._mark(session, sent, failure)
        return self._outcome(sent, failure)

    async def _relay_between_transactions(self) -> int:
        # SQLite: a transaction holds the whole database's write lock, and an in-process publish
        # runs another service's consumer, whose own relay may be waiting to deliver to us. So the
        # batch is read, published and marked in turn, with no transaction open while publishing.
        # A crash before the mark sends the rows again; consumers drop duplicates.
        async with session_scope(self._db) as session:
            batch = await self._pending(session)
        if not batch:
            return 0
        sent, failure = await self._publish(batch)
        async with session_scope(self._db) as session:
            await self._mark(session, sent, failure)
        return self._outcome(sent, failure)

    async def _pending(self, session: AsyncSession) -> list[tuple[int, Message]]:
        rows = (
            await session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.relayed_at).is_(None))
                .order_by(col(OutboxMessage.seq))
                .limit(self._batch_size)
            )
        ).all()
        return [(row.seq, row.to_message()) for row in rows if row.seq is not None]

    async def _publish(
        self, batch: list[tuple[int, Message]]
    ) -> tuple[list[int], tuple[int, Exception] | None]:
        """Publish in order, stopping at the first failure so that events never overtake."""
        sent: list[int] = []
        for seq, message in batch:
            try:
                await self._bus.publish(message)
            except Exception as exc:
                return sent, (seq, exc)
            sent.append(seq)
        return sent, None

    async def _mark(
        self, session: AsyncSession, sent: list[int], failure: tuple[int, Exception] | None
    ) -> None:
        if sent:
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.seq).in_(sent))
                .values(relayed_at=utcnow())
            )
        if failure is not None:
            seq, exc = failure
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.seq) == seq)
                .values(attempts=OutboxMessage.attempts + 1, last_error=repr(exc)[:2000])
            )

    @staticmethod
    def _outcome(sent: list[int], failure: tuple[int, Exception] | None) -> int:
        if failure is not None:
            raise failure[1]
        return len(sent)

    async def run(self) -> None:
        """Relay until :meth:`stop`, backing off while the bus refuses messages."""
        backoff = 0.0
        failing_since: float | None = None
        failures = 0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            try:
                await self.relay_once()
                backoff = 0.0
                if failing_since is not None:
                    log.warning(
                        "outbox relay delivers again, after %d failed attempts over %.0fs",
                        failures,
                        loop.time() - failing_since,
                    )
                    failing_since, failures = None, 0
            except Exception as exc:
                backoff = min(self._max_backoff, max(0.5, backoff * 2))
                failures += 1
                # An outage is logged when it starts and when it ends, not at every retry.
                if failing_since is None:
                    failing_since = loop.time()
                    log.error("outbox relay failed; retrying with backoff: %r", exc, exc_info=exc)
                else:
                    log.debug("outbox relay failed again (%r); retrying in %.1fs", exc, backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff or self._interval)
            if backoff and not self._stopping:
                # Woken during a backoff: still wait it out, the bus is likely still down.
                await asyncio.sleep(backoff)

    async def status(self) -> dict[str, Any]:
        """What /readyz and /metrics tell of the relay: how many events wait, since when, and why
        the oldest has not left yet (a stuck pipeline shows here, not only in the log)."""
        async with session_scope(self._db) as session:
            pending, oldest = (
                await session.exec(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        col(OutboxMessage.relayed_at).is_(None)
                    )
                )
            ).one()
            head = (
                await session.exec(
                    select(OutboxMessage.attempts, OutboxMessage.last_error)
                    .where(col(OutboxMessage.relayed_at).is_(None))
                    .order_by(col(OutboxMessage.seq))
                    .limit(1)
                )
            ).first()
        return {
            "outbox_pending": pending,
            "outbox_oldest_seconds": (
                0.0 if oldest is None else round((utcnow() - oldest).total_seconds(), 1)
            ),
            "outbox_head_attempts": 0 if head is None else head[0],
            "outbox_last_error": None if head is None else head[1],
        }

    def stop(self) -> None:
        """Finish the batch in hand, then end :meth:`run` (a cancel mid-query would lose it)."""
        self._stopping = True
        self.wake()
