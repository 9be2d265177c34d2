"""The event bus interface, shaped for Kafka: topic per event type, key = aggregate id, headers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from quancheng.common.events.contracts import Event, parse_event

HEADER_EVENT_ID = "event-id"
HEADER_EVENT_TYPE = "event-type"
HEADER_EVENT_VERSION = "event-version"


@dataclass(frozen=True)
class Message:
    topic: str
    key: str
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Message], Awaitable[None]]


class EventBus(Protocol):
    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        """Deliver messages of ``topics`` to ``handler`` once per consumer ``group``.

        Call before or after :meth:`start`. A handler that raises leaves the message undelivered
        for that group: it is delivered again later (at-least-once; consumers are idempotent).
        """
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, message: Message) -> None:
        """Hand a message to the bus; returns once the bus has accepted it durably."""
        ...


@runtime_checkable
class DeadLetters(Protocol):
    """A bus that keeps messages breaking their contract on a dead-letter topic (Kafka)."""

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Keep ``message`` with ``reason``; call it from the message's handler. Raises if it
        could not."""
        ...


def encode(event: Event, trace_headers: dict[str, str]) -> Message:
    headers = {
        HEADER_EVENT_ID: str(event.event_id),
        HEADER_EVENT_TYPE: event.event_type,
        HEADER_EVENT_VERSION: str(event.version),
        **trace_headers,
    }
    return Message(
        topic=event.topic(),
        key=event.aggregate_id,
        value=event.model_dump_json().encode(),
        headers=headers,
    )


def decode(message: Message) -> Event:
    """The event a message carries; ValueError if the headers or payload break the contract."""
    try:
        event_type = message.headers[HEADER_EVENT_TYPE]
        version = int(message.headers[HEADER_EVENT_VERSION])
        payload = json.loads(message.value)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"malformed message: {exc}") from exc
    if not isinstance(payload, dict):
        raise ValueError("malformed message: payload is not an object")
    return parse_event(event_type, version, payload)
