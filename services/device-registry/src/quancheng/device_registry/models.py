from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from quancheng.common.db import enum_column, utc_column
from quancheng.common.labels import LabelledEnum


class DeviceKind(LabelledEnum):
    """The four kinds of recording device (A-2a, D-2)."""

    BODY_CAMERA = "body_camera", "执法记录仪"
    CAMERA = "camera", "照相机"
    VOICE_RECORDER = "voice_recorder", "录音笔"
    CAMCORDER = "camcorder", "摄像机"


class DeviceStatus(LabelledEnum):
    """Where a device is in its life cycle (A-6a, D-7); the allowed moves are in
    :data:`quancheng.device_registry.lifecycle.TRANSITIONS`."""

    REGISTERED = "registered", "已登记"
    IN_STOCK = "in_stock", "在库"
    ISSUED = "issued", "已发放"
    RETURNED = "returned", "已归还"
    IN_MAINTENANCE = "in_maintenance", "维修中"
    LOST = "lost", "遗失"
    RETIRED = "retired", "已报废"


class DeviceEventKind(StrEnum):
    """What a history row records: a status change, or a pre-use check that blocked an issue."""

    TRANSITION = "transition"
    CHECK_FAILED = "check_failed"


class Section(SQLModel, table=True):
    """A section of the bureau (科室). Its head answers for its devices; its custodian keeps them
    (A-6a). A supervisory section (监管科室) is owed a camera, a voice recorder and a camcorder
    (A-7)."""

    __tablename__ = "sections"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64, unique=True)
    supervisory: bool = False
    head_officer_id: str | None = Field(default=None, max_length=128)
    custodian_officer_id: str | None = Field(default=None, max_length=128)
    updated_by: str = Field(max_length=128)
    updated_at: datetime = Field(sa_column=utc_column())


class Officer(SQLModel, table=True):
    """A member of staff. ``id`` is the account the identity provider names in its tokens
    (``sub``), so a token and an officer record meet without a lookup table."""

    __tablename__ = "officers"

    id: str = Field(primary_key=True, max_length=128)
    name: str = Field(max_length=64)
    certificate_number: str | None = Field(default=None, max_length=32, unique=True)  # 执法证号
    section: str = Field(foreign_key="sections.code", max_length=32, index=True)
    frontline: bool = False  # 一线执法人员: owed a body camera
    active: bool = True  # 在岗
    updated_by: str = Field(max_length=128)
    updated_at: datetime = Field(sa_column=utc_column())


class Device(SQLModel, table=True):
    __tablename__ = "devices"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    kind: DeviceKind = Field(sa_column=enum_column(DeviceKind))
    serial_number: str = Field(max_length=64, unique=True)
    model: str = Field(max_length=128)
    asset_number: str | None = Field(default=None, max_length=64)
    explosion_proof: bool = False
    section: str = Field(foreign_key="sections.code", max_length=32, index=True)
    status: DeviceStatus = Field(
        default=DeviceStatus.REGISTERED, sa_column=enum_column(DeviceStatus, index=True)
    )
    registered_by: str = Field(max_length=128)
    registered_at: datetime = Field(sa_column=utc_column())
    officer_id: str | None = Field(default=None, max_length=128, index=True)  # holder while issued


class DeviceEvent(SQLModel, table=True):
    """One entry of a device's history (A-6a, D-7): who moved it from which status to which, and
    the pre-use check (A-8, D-8) recorded with an issue or with a refused issue."""

    __tablename__ = "device_events"
    __table_args__ = (UniqueConstraint("device_id", "seq", name="uq_device_events_device_seq"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    device_id: UUID = Field(foreign_key="devices.id", index=True)
    seq: int  # 1, 2, ... per device, in order
    kind: DeviceEventKind = Field(sa_column=enum_column(DeviceEventKind))
    from_status: DeviceStatus | None = Field(
        default=None, sa_column=enum_column(DeviceStatus, nullable=True)
    )
    to_status: DeviceStatus = Field(sa_column=enum_column(DeviceStatus))
    by: str = Field(max_length=128)
    at: datetime = Field(sa_column=utc_column())
    note: str | None = Field(default=None, max_length=500)
    officer_id: str | None = Field(default=None, max_length=128)
    pre_use_check: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    failed_checks: list[str] | None = Field(default=None, sa_column=Column(JSON))


class ClientKind(StrEnum):
    DEVICE = "device"
    DOCKING_STATION = "docking_station"


class DockingStation(SQLModel, table=True):
    """A docking station (采集站): uploads for the officers of its section from the devices
    docked in it."""

    __tablename__ = "docking_stations"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    name: str = Field(max_length=64)
    serial_number: str = Field(max_length=64, unique=True)
    section: str = Field(foreign_key="sections.code", max_length=32, index=True)
    active: bool = True
    registered_by: str = Field(max_length=128)
    registered_at: datetime = Field(sa_column=utc_column())


class UploadClient(SQLModel, table=True):
    """Client credentials of one device or docking station (OAuth 2.0 client credentials grant):
    ``id`` is the client id; only a hash of the secret is kept, the secret is shown once."""

    __tablename__ = "upload_clients"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    kind: ClientKind = Field(sa_column=enum_column(ClientKind))
    device_id: UUID | None = Field(default=None, foreign_key="devices.id", index=True)
    station_id: UUID | None = Field(default=None, foreign_key="docking_stations.id", index=True)
    secret_sha256: str = Field(max_length=64)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=utc_column())
    revoked_by: str | None = Field(default=None, max_length=128)
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoke_reason: str | None = Field(default=None, max_length=200)


class ClockSource(LabelledEnum):
    PRE_USE_CHECK = "pre_use_check", "使用前检查"
    UPLOAD = "upload", "上传"


class ClockReading(SQLModel, table=True):
    """How far a device's clock was off, and when it was seen (A-8, D-8): at each pre-use check
    and at each upload (reported by ingest in ``recording.ingested``)."""

    __tablename__ = "clock_readings"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_clock_readings_source"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    device_id: UUID = Field(foreign_key="devices.id", index=True)
    at: datetime = Field(sa_column=utc_column())
    drift_seconds: float
    source: ClockSource = Field(sa_column=enum_column(ClockSource))
    source_id: str = Field(max_length=64)  # the history entry or the record it came with
