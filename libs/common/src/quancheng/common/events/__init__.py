"""Events: contracts, the bus interface and its adapters, the outbox and idempotent consumers."""

from quancheng.common.events.bus import DeadLetters, EventBus, Handler, Message, decode, encode
from quancheng.common.events.consumer import Consumers, DeadLetter, ProcessedEvent
from quancheng.common.events.contracts import (
    EVENT_TYPES,
    AccessGranted,
    AccessRequested,
    AccessViewed,
    DeviceIssued,
    DeviceRegistered,
    DeviceReturned,
    DeviceStatusChanged,
    Event,
    EvidenceExported,
    FixityFailed,
    OfficerChanged,
    OfficerRegistered,
    RecordingIngested,
    RetentionDestroyed,
    SectionChanged,
)
from quancheng.common.events.inprocess import InProcessBus
from quancheng.common.events.outbox import OutboxMessage, OutboxRelay, record

__all__ = [
    "EVENT_TYPES",
    "AccessGranted",
    "AccessRequested",
    "AccessViewed",
    "Consumers",
    "DeadLetter",
    "DeadLetters",
    "DeviceIssued",
    "DeviceRegistered",
    "DeviceReturned",
    "DeviceStatusChanged",
    "Event",
    "EventBus",
    "EvidenceExported",
    "FixityFailed",
    "Handler",
    "InProcessBus",
    "Message",
    "OfficerChanged",
    "OfficerRegistered",
    "OutboxMessage",
    "OutboxRelay",
    "ProcessedEvent",
    "RecordingIngested",
    "RetentionDestroyed",
    "SectionChanged",
    "decode",
    "encode",
    "record",
]
