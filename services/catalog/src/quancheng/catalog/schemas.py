"""What the catalog's API takes and gives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from quancheng.catalog.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    ActivityType,
    Duty,
    Enterprise,
    Exemption,
    ExemptionReason,
    FindingCode,
    Interruption,
    InterruptionReason,
    Record,
)
from quancheng.common.auth import Clearance
from quancheng.common.limits import Page
from quancheng.common.times import Instant, Moment

if TYPE_CHECKING:
    from quancheng.catalog.service.checks import Finding

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
    captured_at: Instant | None
    captured_until: Instant | None
    clock_drift_seconds: float | None
    deadline_missed: bool = Field(description="uploaded after the 24-hour deadline (A-11)")
    party_informed: bool | None = Field(description="the party was told of the recording (A-9)")
    source_record_id: UUID | None = Field(description="for a derived item: its source (E-4)")
    source_range: str | None
    scan_ppi: int | None
    flag: str | None = Field(description="accepted, but to be looked at")
    ingested_at: Instant
    handling_section: str | None = Field(description="承办科室 (C-4)")
    producer: str | None = Field(description="制作人 (C-4)")
    production_time: Instant | None = Field(description="制作时间 (C-4)")
    proves: str | None = Field(description="证明内容 (C-4)")
    secrecy: Clearance
    secrecy_label: str
    privacy_flags: list[str]
    archived_at: Instant | None = Field(description="set: archived, read-only (B-7)")

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
            handling_section=record.handling_section,
            producer=record.producer,
            production_time=record.production_time,
            proves=record.proves,
            secrecy=record.secrecy,
            secrecy_label=record.secrecy.label,
            privacy_flags=record.privacy_flags,
            archived_at=record.archived_at,
        )


class ArchivalWrite(BaseModel):
    """What an archive item states (C-4) and how secret it is (B-11); a field left out keeps
    the value it had."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    handling_section: str | None = Field(default=None, max_length=32, description="承办科室")
    producer: str | None = Field(default=None, max_length=128, description="制作人")
    production_time: Moment | None = Field(default=None, description="制作时间")
    proves: str | None = Field(default=None, max_length=4000, description="证明内容")
    secrecy: Clearance | None = Field(default=None, description="密级; left out or null: unchanged")
    privacy_flags: list[str] = Field(
        default_factory=list, max_length=20, description="e.g. 人脸, 未成年人, 商业秘密"
    )


# Each page of a list is a class of its own, so that the OpenAPI document names it.
class RecordPage(Page[RecordRead]):
    """A page of records."""


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
    hazardous_equipment: list[str] = Field(default_factory=list, description="危险设备")
    major_hazard_sources: list[str] = Field(default_factory=list, description="重大危险源")
    risk: dict[str, Any] = Field(
        default_factory=dict, description="risk and hidden-danger information 风险与隐患"
    )
    supervision: dict[str, Any] = Field(
        default_factory=dict,
        description="other supervision information 其他监管信息: 安全评价, 标准化, 培训, "
        "专项整治, 事故调查, 应急救援",
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
    created_at: Instant
    updated_at: Instant

    @classmethod
    def of(cls, enterprise: Enterprise) -> EnterpriseRead:
        return cls.model_validate(enterprise, from_attributes=True)


class EnterprisePage(Page[EnterpriseRead]):
    """A page of enterprises."""


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
    started_at: Moment
    ended_at: Moment | None = None
    hidden_dangers_found: int = Field(default=0, ge=0, le=10000, description="发现隐患数")
    violations_found: int = Field(default=0, ge=0, le=10000, description="发现违法行为数")

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
    created_at: Instant
    updated_at: Instant
    archived_by: str | None
    archived_at: Instant | None

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
            archived_by=activity.archived_by,
            archived_at=activity.archived_at,
        )


class ActivityPage(Page[ActivityRead]):
    """A page of activities."""


class ActivityEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ended_at: Moment | None = Field(default=None, description="default: now")


class RecordAssignment(BaseModel):
    """The section head's review of an unassigned recording (A-3, D-11)."""

    model_config = ConfigDict(extra="forbid")

    activity_id: UUID | None = Field(description="null: unlink")


DUTY_LABELS = {
    Duty.MANDATORY: "全过程音像记录",
    Duty.SITUATIONAL: "根据情况音像记录",
    Duty.TEXT: "文字记录即可",
}


class KeyStage(BaseModel):
    """A key stage 关键环节 of an activity and how it is recorded (B-4b)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stage: str = Field(min_length=1, max_length=64, description="e.g. 出示证件, 告知, 送达")
    how: str = Field(min_length=1, max_length=200, description="e.g. 全程音像记录")


class DutyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duty: Duty
    key_stages: list[KeyStage] = Field(default_factory=list, max_length=50)


class DutyRead(DutyWrite):
    type: ActivityType
    type_label: str
    duty_label: str
    configured: bool = Field(description="false: the regulation's default")


class InterruptionWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    device_id: str = Field(min_length=1, max_length=64)
    stopped_at: Moment
    resumed_at: Moment | None = Field(default=None, description="null: it never resumed")
    reason: InterruptionReason
    explanation: str = Field(min_length=1, max_length=4000)
    written_report: str | None = Field(
        default=None, max_length=20000, description="书面报告, when recording could not go on"
    )

    @model_validator(mode="after")
    def _resumes_after_it_stops(self) -> InterruptionWrite:
        if self.resumed_at is not None and self.resumed_at < self.stopped_at:
            raise ValueError("resumed_at is before stopped_at")
        return self


INTERRUPTION_LABELS = {
    InterruptionReason.DEVICE_FAULT: "设备故障",
    InterruptionReason.WEATHER: "天气原因",
    InterruptionReason.BATTERY: "电量不足",
    InterruptionReason.STORAGE: "存储空间不足",
    InterruptionReason.VENUE_CHANGE: "转换场地",
    InterruptionReason.OTHER: "其他",
}


class InterruptionRead(InterruptionWrite):
    id: UUID
    activity_id: UUID
    reason_label: str
    filed_by: str
    filed_at: Instant

    @classmethod
    def of(cls, row: Interruption) -> InterruptionRead:
        return cls(
            **InterruptionWrite.model_validate(row, from_attributes=True).model_dump(),
            id=row.id,
            activity_id=row.activity_id,
            reason_label=INTERRUPTION_LABELS[row.reason],
            filed_by=row.filed_by,
            filed_at=row.filed_at,
        )


EXEMPTION_LABELS = {
    ExemptionReason.EXPLOSION_HAZARD: "易燃易爆区域无防爆设备",
    ExemptionReason.STATE_SECRET: "涉及国家秘密",
    ExemptionReason.COMMERCIAL_SECRET: "涉及商业秘密",
    ExemptionReason.PERSONAL_PRIVACY: "涉及个人隐私",
    ExemptionReason.EMERGENCY: "紧急情况",
    ExemptionReason.OTHER: "其他客观原因",
}


class ExemptionWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: ExemptionReason
    basis: str = Field(min_length=1, max_length=2000, description="依据")
    work_record: str = Field(min_length=1, max_length=20000, description="工作记录")


class ExemptionRead(ExemptionWrite):
    id: UUID
    activity_id: UUID
    reason_label: str
    filed_by: str
    filed_at: Instant
    acknowledged_by: str | None
    acknowledged_at: Instant | None

    @classmethod
    def of(cls, row: Exemption) -> ExemptionRead:
        return cls(
            **ExemptionWrite.model_validate(row, from_attributes=True).model_dump(),
            id=row.id,
            activity_id=row.activity_id,
            reason_label=EXEMPTION_LABELS[row.reason],
            filed_by=row.filed_by,
            filed_at=row.filed_at,
            acknowledged_by=row.acknowledged_by,
            acknowledged_at=row.acknowledged_at,
        )


FINDING_LABELS = {
    FindingCode.NO_RECORDING: "应全过程音像记录而无记录",
    FindingCode.NOT_COVERED: "音像记录未覆盖执法全过程",
    FindingCode.UNEXPLAINED_GAP: "记录中断且未说明原因",
    FindingCode.AFTER_THE_FACT: "执法结束后补录",
    FindingCode.PARTY_NOT_INFORMED: "未告知当事人正在记录",
    FindingCode.LATE_UPLOAD: "超过24小时上传",
    FindingCode.EXEMPTION_PENDING: "未记录说明待科室负责人确认",
    FindingCode.UNASSIGNED: "未关联执法活动",
}
FINDING_REQUIREMENTS = {
    FindingCode.NO_RECORDING: "A-10",
    FindingCode.NOT_COVERED: "A-10",
    FindingCode.UNEXPLAINED_GAP: "D-10a",
    FindingCode.AFTER_THE_FACT: "D-10b",
    FindingCode.PARTY_NOT_INFORMED: "A-9",
    FindingCode.LATE_UPLOAD: "A-11",
    FindingCode.EXEMPTION_PENDING: "A-5",
    FindingCode.UNASSIGNED: "A-3",
}


class FindingRead(BaseModel):
    code: FindingCode
    label: str = Field(description="中文说明")
    requirement: str
    section: str | None
    activity_id: UUID | None
    record_id: UUID | None
    device_id: str | None
    officer_ids: list[str]
    start: Instant | None
    end: Instant | None
    detail: str

    @classmethod
    def of(cls, finding: Finding) -> FindingRead:
        return cls(
            code=finding.code,
            label=FINDING_LABELS[finding.code],
            requirement=FINDING_REQUIREMENTS[finding.code],
            **{f: getattr(finding, f) for f in _FINDING_FIELDS},
        )


_FINDING_FIELDS = (
    "section",
    "activity_id",
    "record_id",
    "device_id",
    "officer_ids",
    "start",
    "end",
    "detail",
)


class ActivityCompliance(BaseModel):
    activity_id: UUID
    duty: Duty
    duty_label: str
    compliant: bool = Field(description="judged on every recording, seen or withheld")
    findings: list[FindingRead]
    withheld_records: int = Field(description="recordings above the caller's clearance (B-11)")
    withheld_findings: int = Field(description="findings that would show them: counted, not listed")


class ComplianceGroup(BaseModel):
    """One section's or officer's share: activities checked, how many had no finding."""

    key: str
    activities: int
    compliant_activities: int
    findings: dict[str, int]


class ComplianceReport(BaseModel):
    activities: int
    compliant_activities: int
    rate: float | None = Field(description="compliant / checked; null when none was checked")
    counts: dict[str, int]
    by_section: list[ComplianceGroup]
    by_officer: list[ComplianceGroup]
    findings: list[FindingRead]
    withheld_records: int = Field(description="recordings above the caller's clearance (B-11)")
    withheld_findings: int = Field(description="findings that would show them: counted, not listed")


class Dossier(BaseModel):
    """An activity's dossier 卷宗 (B-7): the activity, every recording tied to it, what was filed
    about it, and how it was recorded against its duty."""

    activity: ActivityRead
    records: list[RecordRead]
    interruptions: list[InterruptionRead]
    exemptions: list[ExemptionRead]
    compliance: ActivityCompliance


class ArchiveEntry(BaseModel):
    activity_id: UUID
    matter: str
    type_label: str
    case_number: str | None
    enterprise_id: UUID | None
    section: str
    started_at: Instant
    archived_at: Instant | None
    records: int


class ArchiveGroup(BaseModel):
    """One year's activities of one matter (C-4: the archive is arranged 年度-事项)."""

    year: int
    matter: str
    activities: list[ArchiveEntry]


class StatisticsRow(BaseModel):
    """One group's figures for the period (E-13, E-14, B-1)."""

    key: str
    label: str
    activities: int
    activity_hours: float = Field(description="time spent on ended activities")
    records: int
    recorded_hours: float = Field(description="audio and video captured")
    bytes: int
    compliant_activities: int
    compliance_rate: float | None
    hidden_dangers_found: int
    violations_found: int


class Statistics(BaseModel):
    group_by: str
    group_label: str
    rows: list[StatisticsRow]
    total: StatisticsRow


class RankedEnterprise(BaseModel):
    """An enterprise's place in the differentiated-inspection order (E-15)."""

    rank: int
    enterprise_id: UUID
    name: str
    region: str | None
    industry: str | None
    inspections: int = Field(description="inspections of the period")
    violations_found: int
    hidden_dangers_found: int
    major_hazard_sources: int
    last_inspected_at: Instant | None
    priority: str = Field(description="重点 / 一般")


class EnterpriseFile(BaseModel):
    """一企一档 (E-3, E-16): the enterprise, its activities newest first, and what they hold."""

    enterprise: EnterpriseRead
    activities: list[ActivityRead]
    records: int
    bytes: int
    hidden_dangers_found: int
    violations_found: int
