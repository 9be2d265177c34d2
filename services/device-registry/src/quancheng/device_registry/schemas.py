"""What the registry's API gives: each answer is read from the attributes of a table's row or of a
service's result (``XRead.model_validate(obj)``); a label is the enum's, computed on the way out."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, computed_field

from quancheng.common.limits import Page
from quancheng.common.times import Instant
from quancheng.device_registry.lifecycle import MAX_CLOCK_OFFSET_SECONDS
from quancheng.device_registry.models import (
    ClientKind,
    ClockSource,
    DeviceEventKind,
    DeviceKind,
    DeviceStatus,
)


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SectionRead(Read):
    code: str
    name: str
    supervisory: bool
    head_officer_id: str | None = Field(description="科室负责人")
    custodian_officer_id: str | None = Field(description="设备专管员")
    updated_by: str
    updated_at: Instant


class SectionList(BaseModel):
    items: list[SectionRead]


class OfficerRead(Read):
    id: str
    name: str
    certificate_number: str | None
    section: str
    frontline: bool
    active: bool
    updated_by: str
    updated_at: Instant


# Each page of a list is a class of its own, so that the OpenAPI document names it.
class OfficerPage(Page[OfficerRead]):
    """A page of officers."""


class DeviceRead(Read):
    id: UUID
    kind: DeviceKind
    serial_number: str
    model: str
    asset_number: str | None
    explosion_proof: bool
    section: str
    status: DeviceStatus
    registered_by: str
    registered_at: Instant
    officer_id: str | None = Field(description="the officer holding the device while issued")

    @computed_field
    def kind_label(self) -> str:
        return self.kind.label

    @computed_field
    def status_label(self) -> str:
        return self.status.label


class DevicePage(Page[DeviceRead]):
    """A page of devices."""


class DeviceEventRead(Read):
    seq: int
    kind: DeviceEventKind
    from_status: DeviceStatus | None
    to_status: DeviceStatus
    by: str
    at: Instant
    note: str | None
    officer_id: str | None
    pre_use_check: dict[str, Any] | None
    failed_checks: list[str] | None

    @computed_field
    def from_status_label(self) -> str | None:
        return None if self.from_status is None else self.from_status.label

    @computed_field
    def to_status_label(self) -> str:
        return self.to_status.label


class DeviceHistory(BaseModel):
    device_id: UUID
    items: list[DeviceEventRead]


class ClockReadingRead(Read):
    at: Instant
    drift_seconds: float
    source: ClockSource

    @computed_field
    def source_label(self) -> str:
        return self.source.label

    @computed_field
    def beyond_threshold(self) -> bool:
        return abs(self.drift_seconds) > MAX_CLOCK_OFFSET_SECONDS


class ClockHistory(BaseModel):
    device_id: UUID
    threshold_seconds: float
    items: list[ClockReadingRead]


class StationRead(Read):
    id: UUID
    name: str
    serial_number: str
    section: str
    active: bool
    registered_by: str
    registered_at: Instant


class StationList(BaseModel):
    items: list[StationRead]


class UploadClientRead(Read):
    model_config = ConfigDict(validate_by_name=True)

    client_id: UUID = Field(validation_alias="id")  # the row's id is the OAuth client id
    kind: ClientKind
    device_id: UUID | None
    station_id: UUID | None
    created_by: str
    created_at: Instant
    revoked_by: str | None
    revoked_at: Instant | None
    revoke_reason: str | None

    @computed_field
    def revoked(self) -> bool:
        return self.revoked_at is not None


class UploadClientList(BaseModel):
    items: list[UploadClientRead]


class IssuedCredentials(UploadClientRead):
    """The client secret is shown here once and never again: only its hash is kept."""

    client_secret: str
    token_endpoint: str = "/api/v1/device-tokens"  # noqa: S105 - a path, not a secret


class TokenResponse(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - RFC 6749 token type
    expires_in: int


class TokenStatus(Read):
    active: bool
    client_id: UUID
    device_id: UUID | None
    station_id: UUID | None
    section: str


class AllocationLine(Read):
    kind: DeviceKind
    required: int = Field(description="应配")
    in_service: int = Field(description="在用（不含遗失、报废）")
    shortfall: int = Field(description="缺口")

    @computed_field
    def kind_label(self) -> str:
        return self.kind.label


class SectionAllocation(Read):
    code: str
    name: str
    supervisory: bool
    frontline_officers: int
    lines: list[AllocationLine]
    shortfall: int


class AllocationReport(Read):
    """A-7 配备标准执行情况."""

    generated_at: Instant
    sections: list[SectionAllocation]
    totals: list[AllocationLine]


class ImportCounts(Read):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # What an import made or changed, found without paging: section codes, officer ids, device ids.
    created_ids: list[str] = Field(default_factory=list, description="in the order of the rows")
    updated_ids: list[str] = Field(default_factory=list, description="in the order of the rows")


class ImportReport(Read):
    dry_run: bool = Field(description="checked only, nothing kept")
    sections: ImportCounts | None = None
    officers: ImportCounts | None = None
    devices: ImportCounts | None = None
