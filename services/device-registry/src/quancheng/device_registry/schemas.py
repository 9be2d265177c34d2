from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from quancheng.device_registry.models import Device, DeviceKind, DeviceStatus


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: DeviceKind
    serial_number: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=128)
    asset_number: str | None = Field(default=None, max_length=64)
    explosion_proof: bool = False
    section: str = Field(min_length=1, max_length=32, description="owning section code")


class DeviceRead(BaseModel):
    id: UUID
    kind: DeviceKind
    kind_label: str
    serial_number: str
    model: str
    asset_number: str | None
    explosion_proof: bool
    section: str
    status: DeviceStatus
    status_label: str
    registered_by: str
    registered_at: datetime

    @classmethod
    def of(cls, device: Device) -> DeviceRead:
        return cls(
            id=device.id,
            kind=device.kind,
            kind_label=device.kind.label,
            serial_number=device.serial_number,
            model=device.model,
            asset_number=device.asset_number,
            explosion_proof=device.explosion_proof,
            section=device.section,
            status=device.status,
            status_label=device.status.label,
            registered_by=device.registered_by,
            registered_at=device.registered_at,
        )


class DevicePage(BaseModel):
    items: list[DeviceRead]
    total: int
