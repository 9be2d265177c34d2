from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

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
    REGISTERED = "registered"

    @property
    def label(self) -> str:
        return DEVICE_STATUS_LABELS[self]


DEVICE_STATUS_LABELS: dict[DeviceStatus, str] = {DeviceStatus.REGISTERED: "已登记"}


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
