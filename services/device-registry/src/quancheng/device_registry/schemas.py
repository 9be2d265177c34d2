from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from quancheng.common.limits import Page
from quancheng.common.times import Instant
from quancheng.device_registry.models import (
    ClientKind,
    ClockReading,
    ClockSource,
    Device,
    DeviceEvent,
    DeviceEventKind,
    DeviceKind,
    DeviceStatus,
    DockingStation,
    Officer,
    Section,
    UploadClient,
)

SECTION_CODE = r"^[A-Za-z0-9_-]{1,32}$"
ACCOUNT_ID = r"^[^\s/]{1,128}$"


class SectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=SECTION_CODE, description="section code, e.g. JC1")
    name: str = Field(min_length=1, max_length=64, description="科室名称")
    supervisory: bool = Field(default=False, description="监管科室 (A-7)")


class SectionUpdate(BaseModel):
    """Only the fields given change; ``null`` clears the head or the custodian."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=64)
    supervisory: bool | None = None
    head_officer_id: str | None = Field(default=None, pattern=ACCOUNT_ID)
    custodian_officer_id: str | None = Field(default=None, pattern=ACCOUNT_ID)


class SectionRead(BaseModel):
    code: str
    name: str
    supervisory: bool
    head_officer_id: str | None = Field(description="科室负责人")
    custodian_officer_id: str | None = Field(description="设备专管员")
    updated_by: str
    updated_at: Instant

    @classmethod
    def of(cls, section: Section) -> SectionRead:
        return cls.model_validate(section, from_attributes=True)


class SectionList(BaseModel):
    items: list[SectionRead]


class OfficerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=ACCOUNT_ID, description="the account named in the officer's tokens")
    name: str = Field(min_length=1, max_length=64)
    certificate_number: str | None = Field(
        default=None, min_length=1, max_length=32, description="执法证号"
    )
    section: str = Field(pattern=SECTION_CODE)
    frontline: bool = Field(default=False, description="一线执法人员")
    active: bool = Field(default=True, description="在岗")


class OfficerUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=64)
    certificate_number: str | None = Field(default=None, min_length=1, max_length=32)
    section: str | None = Field(default=None, pattern=SECTION_CODE)
    frontline: bool | None = None
    active: bool | None = None


class OfficerRead(BaseModel):
    id: str
    name: str
    certificate_number: str | None
    section: str
    frontline: bool
    active: bool
    updated_by: str
    updated_at: Instant

    @classmethod
    def of(cls, officer: Officer) -> OfficerRead:
        return cls.model_validate(officer, from_attributes=True)


# Each page of a list is a class of its own, so that the OpenAPI document names it.
class OfficerPage(Page[OfficerRead]):
    """A page of officers."""


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: DeviceKind
    serial_number: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=128)
    asset_number: str | None = Field(default=None, max_length=64)
    explosion_proof: bool = False
    section: str = Field(pattern=SECTION_CODE, description="owning section code")


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
    registered_at: Instant
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


class DevicePage(Page[DeviceRead]):
    """A page of devices."""


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
    at: Instant
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


class ClockReadingRead(BaseModel):
    at: Instant
    drift_seconds: float
    source: ClockSource
    source_label: str
    beyond_threshold: bool

    @classmethod
    def of(cls, reading: ClockReading, threshold: float) -> ClockReadingRead:
        return cls(
            at=reading.at,
            drift_seconds=reading.drift_seconds,
            source=reading.source,
            source_label=reading.source.label,
            beyond_threshold=abs(reading.drift_seconds) > threshold,
        )


class ClockHistory(BaseModel):
    device_id: UUID
    threshold_seconds: float
    items: list[ClockReadingRead]


class StationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=64, description="采集站名称")
    serial_number: str = Field(min_length=1, max_length=64)
    section: str = Field(pattern=SECTION_CODE)


class StationRead(BaseModel):
    id: UUID
    name: str
    serial_number: str
    section: str
    active: bool
    registered_by: str
    registered_at: Instant

    @classmethod
    def of(cls, station: DockingStation) -> StationRead:
        return cls.model_validate(station, from_attributes=True)


class StationList(BaseModel):
    items: list[StationRead]


class UploadClientRead(BaseModel):
    client_id: UUID
    kind: ClientKind
    device_id: UUID | None
    station_id: UUID | None
    created_by: str
    created_at: Instant
    revoked: bool
    revoked_by: str | None
    revoked_at: Instant | None
    revoke_reason: str | None

    @classmethod
    def of(cls, client: UploadClient) -> UploadClientRead:
        return cls(
            client_id=client.id,
            kind=client.kind,
            device_id=client.device_id,
            station_id=client.station_id,
            created_by=client.created_by,
            created_at=client.created_at,
            revoked=client.revoked_at is not None,
            revoked_by=client.revoked_by,
            revoked_at=client.revoked_at,
            revoke_reason=client.revoke_reason,
        )


class UploadClientList(BaseModel):
    items: list[UploadClientRead]


class IssuedCredentials(UploadClientRead):
    """The client secret is shown here once and never again: only its hash is kept."""

    client_secret: str
    token_endpoint: str = "/api/v1/device-tokens"  # noqa: S105 - a path, not a secret


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=200)


class TokenResponse(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - RFC 6749 token type
    expires_in: int


class TokenStatus(BaseModel):
    active: bool
    client_id: UUID
    device_id: UUID | None
    station_id: UUID | None
    section: str


class AllocationLine(BaseModel):
    kind: DeviceKind
    kind_label: str
    required: int = Field(description="应配")
    in_service: int = Field(description="在用（不含遗失、报废）")
    shortfall: int = Field(description="缺口")


class SectionAllocation(BaseModel):
    code: str
    name: str
    supervisory: bool
    frontline_officers: int
    lines: list[AllocationLine]
    shortfall: int


class AllocationReport(BaseModel):
    """A-7 配备标准执行情况."""

    generated_at: Instant
    sections: list[SectionAllocation]
    totals: list[AllocationLine]


ImportOutcome = Literal["created", "updated", "unchanged"]


class ImportCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # What an import made or changed, found without paging: section codes, officer ids, device ids.
    created_ids: list[str] = Field(default_factory=list, description="in the order of the rows")
    updated_ids: list[str] = Field(default_factory=list, description="in the order of the rows")

    def count(self, outcome: ImportOutcome, subject: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome != "unchanged":
            getattr(self, f"{outcome}_ids").append(subject)


class ImportReport(BaseModel):
    dry_run: bool = Field(description="checked only, nothing kept")
    sections: ImportCounts | None = None
    officers: ImportCounts | None = None
    devices: ImportCounts | None = None
