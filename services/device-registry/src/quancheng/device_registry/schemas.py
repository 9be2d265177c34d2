from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from quancheng.device_registry.models import (
    Device,
    DeviceEvent,
    DeviceEventKind,
    DeviceKind,
    DeviceStatus,
)


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
    officer_id: str | None = Field(description="the officer holding the device while issued")

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
            officer_id=device.officer_id,
        )


class DevicePage(BaseModel):
    items: list[DeviceRead]
    total: int


class PreUseCheck(BaseModel):
    """The officer's check before going out (A-8, D-8)."""

    model_config = ConfigDict(extra="forbid")

    fault_free: bool
    battery_percent: int = Field(ge=0, le=100)
    free_storage_mb: int = Field(ge=0)
    clock_offset_seconds: float = Field(
        allow_inf_nan=False, description="device clock minus the current time"
    )


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    officer_id: str = Field(min_length=1, max_length=128)
    check: PreUseCheck
    note: str | None = Field(default=None, max_length=500)


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=500)


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    to: DeviceStatus
    note: str | None = Field(default=None, max_length=500)


class DeviceEventRead(BaseModel):
    seq: int
    kind: DeviceEventKind
    from_status: DeviceStatus | None
    from_status_label: str | None
    to_status: DeviceStatus
    to_status_label: str
    by: str
    at: datetime
    note: str | None
    officer_id: str | None
    pre_use_check: dict[str, Any] | None
    failed_checks: list[str] | None

    @classmethod
    def of(cls, event: DeviceEvent) -> DeviceEventRead:
        return cls(
            seq=event.seq,
            kind=event.kind,
            from_status=event.from_status,
            from_status_label=event.from_status.label if event.from_status else None,
            to_status=event.to_status,
            to_status_label=event.to_status.label,
            by=event.by,
            at=event.at,
            note=event.note,
            officer_id=event.officer_id,
            pre_use_check=event.pre_use_check,
            failed_checks=event.failed_checks,
        )


class DeviceHistory(BaseModel):
    device_id: UUID
    items: list[DeviceEventRead]
