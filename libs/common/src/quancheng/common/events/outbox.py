"""The transactional outbox: an event is written in the same transaction as the change it reports,
and a relay hands it to the bus after the commit. A crash between the two loses nothing: the relay
finds the row on the next start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime

from opentelemetry import propagate
from sqlalchemy import Column, Text, text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.orm.session import Session

from quancheng.common.db import Database, session_scope, utc_column
from quancheng.common.events.bus import EventBus, Message, encode
from quancheng.common.events.contracts import Event, utcnow

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
        sent = 0
        failure: Exception | None = None
        async with session_scope(self._db) as session:
            if not await self._take_lock(session):
                return 0
            rows = (
                await session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.relayed_at).is_(None))
                    .order_by(col(OutboxMessage.seq))
                    .limit(self._batch_size)
                )
            ).all()
            for row in rows:
                try:
                    await self._bus.publish(row.to_message())
                except Exception as exc:
                    row.attempts += 1
                    row.last_error = repr(exc)[:2000]
                    session.add(row)
                    failure = exc
                    break
                row.relayed_at = utcnow()
                session.add(row)
                sent += 1
        if failure is not None:
            raise failure
        return sent

    async def _take_lock(self, session: AsyncSession) -> bool:
        if self._db.is_sqlite:
            return True  # BEGIN IMMEDIATE already serializes writers
        connection = await session.connection()
        result = await connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _RELAY_LOCK_KEY}
        )
        return bool(result.scalar_one())

    async def run(self) -> None:
        """Relay until :meth:`stop`, backing off while the bus refuses messages."""
        backoff = 0.0
        while not self._stopping:
            self._wake.clear()
            try:
                await self.relay_once()
                backoff = 0.0
            except Exception:
                backoff = min(self._max_backoff, max(0.5, backoff * 2))
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff or self._interval)
            if backoff and not self._stopping:
                # Woken during a backoff: still wait it out, the bus is likely still down.
                await asyncio.sleep(backoff)

    def stop(self) -> None:
        """Finish the batch in hand, then end :meth:`run` (a cancel mid-query would lose it)."""
        self._stopping = True
        self.wake()
