"""What the catalog's API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from quancheng.catalog.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    ActivityType,
    Enterprise,
    Record,
)

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
    activity_ref: str | None = Field(description="the activity the upload named, not known yet")
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
            activity_ref=record.activity_ref,
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


ACTIVITY_KIND_LABELS = {
    ActivityKind.LICENSING: "行政许可",
    ActivityKind.PENALTY: "行政处罚",
    ActivityKind.COERCION: "行政强制",
    ActivityKind.INSPECTION: "行政检查",
}
ACTIVITY_TYPE_LABELS = {
    ActivityType.DAILY_INSPECTION: "日常执法检查",
    ActivityType.COMPLAINT: "投诉、举报",
    ActivityType.EVIDENCE_COLLECTION: "调查取证",
    ActivityType.ADVANCE_REGISTRATION: "先行登记保存证据",
    ActivityType.DOCUMENT_SERVICE: "文书送达",
    ActivityType.COERCIVE_MEASURE: "行政强制措施",
    ActivityType.SEALING_SEIZURE: "查封扣押",
    ActivityType.FORCED_DEMOLITION: "强制拆除",
    ActivityType.CASE_VENUE: "办案场所",
    ActivityType.HEARING: "听证",
    ActivityType.LODGED_SERVICE: "留置送达",
    ActivityType.SERVICE_BY_NOTICE: "公告送达",
    ActivityType.ON_SITE: "其他现场执法",
    ActivityType.OTHER: "其他",
}
ACTIVITY_STATUS_LABELS = {
    ActivityStatus.OPEN: "进行中",
    ActivityStatus.CLOSED: "已结束",
    ActivityStatus.ARCHIVED: "已归档",
}


class ActivityWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ActivityKind = Field(description="行政许可/处罚/强制/检查 (B-2)")
    type: ActivityType = Field(description="what was done (A-4); decides the recording duty")
    matter: str = Field(min_length=1, max_length=200, description="事项")
    case_number: str | None = Field(default=None, max_length=64, description="案号")
    enterprise_id: UUID | None = None
    section: str = Field(min_length=1, max_length=32, description="承办科室")
    officers: list[str] = Field(min_length=1, max_length=20, description="执法人员 account ids")
    place: str | None = Field(default=None, max_length=300)
    region: str | None = Field(default=None, max_length=64, description="属地")
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> ActivityWrite:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


class ActivityRead(ActivityWrite):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    kind_label: str
    type_label: str
    status: ActivityStatus
    status_label: str
    external_id: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, activity: Activity) -> ActivityRead:
        return cls(
            **ActivityWrite.model_validate(activity, from_attributes=True).model_dump(),
            id=activity.id,
            kind_label=ACTIVITY_KIND_LABELS[activity.kind],
            type_label=ACTIVITY_TYPE_LABELS[activity.type],
            status=activity.status,
            status_label=ACTIVITY_STATUS_LABELS[activity.status],
            external_id=activity.external_id,
            created_by=activity.created_by,
            created_at=activity.created_at,
            updated_at=activity.updated_at,
        )


class ActivityPage(BaseModel):
    items: list[ActivityRead]
    total: int


class ActivityEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ended_at: AwareDatetime | None = Field(default=None, description="default: now")


class RecordAssignment(BaseModel):
    """The section head's review of an unassigned recording (A-3, D-11)."""

    model_config = ConfigDict(extra="forbid")

    activity_id: UUID | None = Field(description="null: unlink")
