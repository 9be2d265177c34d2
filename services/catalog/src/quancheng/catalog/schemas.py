"""What the catalog's API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from quancheng.catalog.models import Enterprise, Record

KIND_LABELS = {
    "video": "视频",
    "audio": "音频",
    "photo": "照片",
    "scan": "扫描件",
    "document": "文书",
}


class RecordRead(BaseModel):
    record_id: UUID
    filename: str
    kind: str
    kind_label: str
    size: int
    sha256: str
    sm3: str | None
    device_id: str
    officer_id: str
    section: str | None
    activity_id: str | None = Field(description="null: not yet linked to an activity (A-3)")
    captured_at: datetime | None
    captured_until: datetime | None
    clock_drift_seconds: float | None
    deadline_missed: bool = Field(description="uploaded after the 24-hour deadline (A-11)")
    party_informed: bool | None = Field(description="the party was told of the recording (A-9)")
    source_record_id: UUID | None = Field(description="for a derived item: its source (E-4)")
    source_range: str | None
    scan_ppi: int | None
    flag: str | None = Field(description="accepted, but to be looked at")
    ingested_at: datetime

    @classmethod
    def of(cls, record: Record) -> RecordRead:
        return cls(
            record_id=record.record_id,
            filename=record.filename,
            kind=record.kind,
            kind_label=KIND_LABELS.get(record.kind, record.kind),
            size=record.size,
            sha256=record.sha256,
            sm3=record.sm3,
            device_id=record.device_id,
            officer_id=record.officer_id,
            section=record.section,
            activity_id=record.activity_id,
            captured_at=record.captured_at,
            captured_until=record.captured_until,
            clock_drift_seconds=record.clock_drift_seconds,
            deadline_missed=record.deadline_missed,
            party_informed=record.party_informed,
            source_record_id=record.source_record_id,
            source_range=record.source_range,
            scan_ppi=record.scan_ppi,
            flag=record.flag,
            ingested_at=record.ingested_at,
        )


class RecordPage(BaseModel):
    items: list[RecordRead]
    total: int


# GB 32100-2015: the unified social credit code's 31 characters (no I, O, S, V, Z) and the
# weights of its first 17, whose sum decides the 18th (the check character).
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid unified social credit code; None if it is."""
    if len(code) != 18 or any(c not in _CREDIT_CHARS for c in code):
        return "must be 18 characters of 0-9 and A-Z without I, O, S, V, Z"
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code, _CREDIT_WEIGHTS, strict=False))
    if code[17] != _CREDIT_CHARS[-total % 31]:
        return "its check character (the 18th) is wrong: mistyped?"
    return None


class EnterpriseWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(
        description="统一社会信用代码 (GB 32100-2015), check character verified"
    )
    legal_representative: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=300)
    contact: str | None = Field(default=None, max_length=64)
    industry: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=64, description="属地")
    hazardous_processes: list[str] = Field(default_factory=list, description="危险工艺")
    major_hazard_sources: list[str] = Field(default_factory=list, description="重大危险源")
    risk: dict[str, Any] = Field(
        default_factory=dict, description="risk and hidden-danger information 风险与隐患"
    )

    @field_validator("credit_code")
    @classmethod
    def _valid_credit_code(cls, value: str) -> str:
        code = value.strip().upper()
        problem = credit_code_problem(code)
        if problem is not None:
            raise ValueError(f"not a unified social credit code: {problem}")
        return code


class EnterpriseRead(EnterpriseWrite):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    external_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, enterprise: Enterprise) -> EnterpriseRead:
        return cls.model_validate(enterprise, from_attributes=True)


class EnterprisePage(BaseModel):
    items: list[EnterpriseRead]
    total: int
