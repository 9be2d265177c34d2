"""The embedded bus: delivers each message to every subscribed group inside this process.

It keeps nothing itself; durability comes from the outbox, which marks a message relayed only
after every group has handled it, and from the idempotent consumers, which make a redelivery to
the groups that already succeeded harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quancheng.common.events.bus import Handler, Message


class DeliveryError(Exception):
    pass


@dataclass(frozen=True)
class _Subscription:
    group: str
    topics: frozenset[str]
    handler: Handler


class InProcessBus:
    def __init__(self) -> None:
        self._subscriptions: dict[str, _Subscription] = {}

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        if group in self._subscriptions:
            raise ValueError(f"consumer group {group!r} is already subscribed")
        self._subscriptions[group] = _Subscription(group, frozenset(topics), handler)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, message: Message) -> None:
        failures: list[str] = []
        for sub in self._subscriptions.values():
            if message.topic not in sub.topics:
                continue
            try:
                await sub.handler(message)
            except Exception as exc:
                failures.append(f"{sub.group}: {exc!r}")
        if failures:
            raise DeliveryError("; ".join(failures))
