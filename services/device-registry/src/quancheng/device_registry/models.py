from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from quancheng.common.db import enum_column, utc_column


class DeviceKind(StrEnum):
    """The four kinds of recording device (A-2a, D-2)."""

    BODY_CAMERA = "body_camera"
    CAMERA = "camera"
    VOICE_RECORDER = "voice_recorder"
    CAMCORDER = "camcorder"

    @property
    def label(self) -> str:
        return DEVICE_KIND_LABELS[self]


DEVICE_KIND_LABELS: dict[DeviceKind, str] = {
    DeviceKind.BODY_CAMERA: "执法记录仪",
    DeviceKind.CAMERA: "照相机",
    DeviceKind.VOICE_RECORDER: "录音笔",
    DeviceKind.CAMCORDER: "摄像机",
}


class DeviceStatus(StrEnum):
    """Where a device is in its life cycle (A-6a, D-7); the allowed moves are in
    :data:`quancheng.device_registry.lifecycle.TRANSITIONS`."""

    REGISTERED = "registered"
    IN_STOCK = "in_stock"
    ISSUED = "issued"
    RETURNED = "returned"
    IN_MAINTENANCE = "in_maintenance"
    LOST = "lost"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return DEVICE_STATUS_LABELS[self]


DEVICE_STATUS_LABELS: dict[DeviceStatus, str] = {
    DeviceStatus.REGISTERED: "已登记",
    DeviceStatus.IN_STOCK: "在库",
    DeviceStatus.ISSUED: "已发放",
    DeviceStatus.RETURNED: "已归还",
    DeviceStatus.IN_MAINTENANCE: "维修中",
    DeviceStatus.LOST: "遗失",
    DeviceStatus.RETIRED: "已报废",
}


class DeviceEventKind(StrEnum):
    """What a history row records: a status change, or a pre-use check that blocked an issue."""

    TRANSITION = "transition"
    CHECK_FAILED = "check_failed"


class Device(SQLModel, table=True):
    __tablename__ = "devices"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    kind: DeviceKind = Field(sa_column=enum_column(DeviceKind))
    serial_number: str = Field(max_length=64, unique=True)
    model: str = Field(max_length=128)
    asset_number: str | None = Field(default=None, max_length=64)
    explosion_proof: bool = False
    section: str = Field(max_length=32, index=True)
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
