"""Versioned event contracts. An event is a fact one service tells the others.

On the wire (Kafka or the in-process bus) an event travels as a :class:`~.bus.Message`: the topic
is ``quancheng.<event type>``, the key is the aggregate id (so one aggregate's events stay in
order), and the headers carry the event id, type, version and the trace context.
A change to a contract that is not backwards compatible gets a new ``version``.

Events about one kind of aggregate that a consumer must apply in order share a topic (their
``stream``): Kafka keeps order only within a partition of one topic, so a device's registration,
stocking and issue, told on three topics, could arrive in any order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from quancheng.common.clock import utcnow


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    aggregate_field: ClassVar[str]
    # The topic's name below "quancheng.": the event type unless the event shares a stream.
    stream: ClassVar[str | None] = None

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_field))

    @classmethod
    def topic(cls) -> str:
        return f"quancheng.{cls.stream or cls.event_type}"


class RecordingIngested(Event):
    event_type = "recording.ingested"
    aggregate_field = "record_id"

    record_id: UUID
    upload_id: str
    object_key: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    sm3: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    filename: str
    kind: str
    device_id: str
    officer_id: str
    activity_id: str | None = None
    section: str | None = None
    captured_at: datetime | None = None
    captured_until: datetime | None = None
    clock_drift_seconds: float | None = None
    deadline_missed: bool = False
    party_informed: bool | None = None
    source_record_id: UUID | None = None  # set for derived items (clips, extracts)
    source_range: str | None = None  # which part of the source the derived item holds
    scan_ppi: int | None = None  # a scan's resolution, as its header states it (E-5)
    flag: str | None = None  # accepted, but to be looked at (e.g. a scan below 180 PPI)


class AccessEvent(Event):
    """The access (调阅) workflow's events share one stream, so that one request's arrive in
    order: requested, granted or rejected, then completed, expired or revoked."""

    stream = "access"
    aggregate_field = "request_id"

    request_id: UUID


class AccessRequested(AccessEvent):
    """A request registered (C-5..C-8): who asks, for what, and whose approval it needs."""

    event_type = "access.requested"

    requester: str  # the account, or the outside requester's name
    requester_kind: str  # own_section, other_section, counterparty, visitor, letter
    registered_by: str
    record_ids: list[UUID]
    sections: list[str]  # the records' handling sections
    approvers_needed: list[str]  # sections whose head must approve; empty: granted at once
    access: str  # view or copy
    purpose: str


class AccessGranted(AccessEvent):
    """A grant in force: these records, this kind of access, until ``valid_until``."""

    event_type = "access.granted"

    approvers: list[str]  # empty: granted at once (the handling section's own request)
    record_ids: list[UUID]
    access: str
    valid_from: datetime
    valid_until: datetime


class AccessActivated(AccessEvent):
    """An approved grant's period began: from now it is in force (at once, or on its later
    ``valid_from``)."""

    event_type = "access.activated"

    valid_from: datetime
    valid_until: datetime


class AccessRejected(AccessEvent):
    event_type = "access.rejected"

    by: str
    section: str
    opinion: str


class AccessEnded(AccessEvent):
    """A grant's end: ``how`` is completed, expired or revoked; ``by`` is "system" for expiry."""

    event_type = "access.ended"

    how: str
    by: str
    reason: str | None = None


class AccessViewed(Event):
    """One look at a record under a grant: a playback ticket issued, a range of it served, or a
    copy of it handed out."""

    event_type = "access.viewed"
    aggregate_field = "record_id"

    request_id: UUID
    record_id: UUID
    viewer: str
    accompanied_by: str | None = None
    session_id: UUID | None = None
    range: str | None = None  # the bytes served ("0-1048575"); None when a ticket was issued
    copied: bool = False  # a copy of the whole record was handed out (A-13b)


class EvidenceExported(Event):
    event_type = "evidence.exported"
    aggregate_field = "export_id"

    export_id: UUID
    record_ids: list[UUID]
    extractor: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class DeviceRegistered(Event):
    event_type = "device.registered"
    aggregate_field = "device_id"
    stream = "device"  # one topic for a device's whole life cycle, in order

    device_id: UUID
    serial_number: str
    kind: str
    model: str
    section: str
    explosion_proof: bool = False
    registered_by: str


class DeviceIssued(Event):
    event_type = "device.issued"
    aggregate_field = "device_id"
    stream = "device"  # one topic for a device's whole life cycle, in order

    device_id: UUID
    officer_id: str
    section: str
    issued_by: str


class DeviceReturned(Event):
    event_type = "device.returned"
    aggregate_field = "device_id"
    stream = "device"  # one topic for a device's whole life cycle, in order

    device_id: UUID
    officer_id: str
    received_by: str


class DeviceStatusChanged(Event):
    """A device lifecycle transition other than issue and return (stocked, maintenance, lost,
    retired). ``officer_id`` is the officer who held the device if it left their hands."""

    event_type = "device.status_changed"
    aggregate_field = "device_id"
    stream = "device"  # one topic for a device's whole life cycle, in order

    device_id: UUID
    from_status: str
    to_status: str
    by: str
    reason: str | None = None
    officer_id: str | None = None


class StaffEvent(Event):
    """The registry's sections and officers share one stream, so that they arrive in order."""

    stream = "staff"


class SectionChanged(StaffEvent):
    """A section as it now is, after it was made or changed (its head and device custodian
    included): a consumer keeps the last one it was told."""

    event_type = "section.changed"
    aggregate_field = "code"

    code: str
    name: str
    supervisory: bool = False
    head_officer_id: str | None = None
    custodian_officer_id: str | None = None
    by: str


class OfficerState(StaffEvent):
    """An officer as they now are. ``officer_id`` is the account their tokens name."""

    aggregate_field = "officer_id"

    officer_id: str
    name: str
    section: str
    frontline: bool = False
    active: bool = True
    by: str


class OfficerRegistered(OfficerState):
    """An officer the registry now has."""

    event_type = "officer.registered"


class OfficerChanged(OfficerState):
    """An officer after a change (of section, name, duty …)."""

    event_type = "officer.changed"


class RetentionDestroyed(Event):
    event_type = "retention.destroyed"
    aggregate_field = "record_id"

    record_id: UUID
    object_key: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    destruction_list_id: UUID
    certificate_id: UUID


class FixityFailed(Event):
    event_type = "fixity.failed"
    aggregate_field = "object_key"

    object_key: str
    record_id: UUID | None = None
    expected_sha256: str
    actual_sha256: str | None  # None: the object could not be read at all
    detail: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.event_type: cls
    for cls in (
        RecordingIngested,
        AccessRequested,
        AccessGranted,
        AccessActivated,
        AccessRejected,
        AccessEnded,
        AccessViewed,
        EvidenceExported,
        DeviceRegistered,
        DeviceIssued,
        DeviceReturned,
        DeviceStatusChanged,
        SectionChanged,
        OfficerRegistered,
        OfficerChanged,
        RetentionDestroyed,
        FixityFailed,
    )
}


class UnknownEventError(ValueError):
    pass


def parse_event(event_type: str, version: int, payload: dict[str, Any]) -> Event:
    """Validate a payload against its contract; raises ValueError (incl. pydantic's) if it fails."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventError(f"unknown event type {event_type!r}")
    if version != cls.version:
        raise UnknownEventError(f"{event_type} version {version} is not supported")
    return cls.model_validate(payload)
