"""What the registry's API takes: the request bodies, validated at the route (and the
spreadsheet import's rows, validated as the same bodies); the services act on them as they are."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from quancheng.device_registry.models import DeviceKind, DeviceStatus

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


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: DeviceKind
    serial_number: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=128)
    asset_number: str | None = Field(default=None, max_length=64)
    explosion_proof: bool = False
    section: str = Field(pattern=SECTION_CODE, description="owning section code")


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


class StationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=64, description="采集站名称")
    serial_number: str = Field(min_length=1, max_length=64)
    section: str = Field(pattern=SECTION_CODE)


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=200)
