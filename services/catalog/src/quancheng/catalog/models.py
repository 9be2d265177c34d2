"""The catalog's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from quancheng.common.auth import Clearance
from quancheng.common.db import enum_column, utc_column
from quancheng.common.labels import LabelledEnum


class RecordKind(LabelledEnum):
    """What ingest says a record is (its ``kind``, stored as the text ingest sent)."""

    VIDEO = "video", "视频"
    AUDIO = "audio", "音频"
    PHOTO = "photo", "照片"
    SCAN = "scan", "扫描件"
    DOCUMENT = "document", "文书"


def kind_label(kind: str) -> str:
    """A record kind's label; a kind the catalog does not know is shown as it came."""
    try:
        return RecordKind(kind).label
    except ValueError:
        return kind


class ActivityKind(LabelledEnum):
    """The four kinds of administrative enforcement in scope (B-2)."""

    LICENSING = "licensing", "行政许可"
    PENALTY = "penalty", "行政处罚"
    COERCION = "coercion", "行政强制"
    INSPECTION = "inspection", "行政检查"


class ActivityType(LabelledEnum):
    """What was done on site (A-4/D-4, A-10); the recording duty depends on it."""

    DAILY_INSPECTION = "daily_inspection", "日常执法检查"
    COMPLAINT = "complaint", "投诉、举报"
    EVIDENCE_COLLECTION = "evidence_collection", "调查取证"
    ADVANCE_REGISTRATION = "advance_registration", "先行登记保存证据"
    DOCUMENT_SERVICE = "document_service", "文书送达"
    COERCIVE_MEASURE = "coercive_measure", "行政强制措施"
    SEALING_SEIZURE = "sealing_seizure", "查封扣押"
    FORCED_DEMOLITION = "forced_demolition", "强制拆除"
    CASE_VENUE = "case_venue", "办案场所"
    HEARING = "hearing", "听证"
    LODGED_SERVICE = "lodged_service", "留置送达"
    SERVICE_BY_NOTICE = "service_by_notice", "公告送达"
    ON_SITE = "on_site", "其他现场执法"
    OTHER = "other", "其他"


class Record(SQLModel, table=True):
    """One stored original or derived item (E-4/E-6), as ingest announced it. The archival
    fields (C-4) are filled in later by the section that handles the matter."""

    __tablename__ = "records"

    record_id: UUID = Field(primary_key=True)
    upload_id: str = Field(max_length=32)
    object_key: str = Field(max_length=512)
    sha256: str = Field(max_length=64)
    sm3: str | None = Field(default=None, max_length=64)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    filename: str = Field(max_length=512)
    kind: str = Field(max_length=16, index=True)
    device_id: str = Field(max_length=64, index=True)
    officer_id: str = Field(max_length=128, index=True)
    activity_id: str | None = Field(default=None, max_length=128, index=True)
    # The activity the upload named but the catalog does not know yet (the platform's id, say);
    # the record is unassigned until an activity of that id appears.
    activity_ref: str | None = Field(default=None, max_length=128, index=True)
    section: str | None = Field(default=None, max_length=32, index=True)
    captured_at: datetime | None = Field(
        default=None, sa_column=utc_column(nullable=True, index=True)
    )
    captured_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    clock_drift_seconds: float | None = None
    deadline_missed: bool = False
    party_informed: bool | None = None
    source_record_id: UUID | None = Field(default=None, index=True)
    source_range: str | None = Field(default=None, max_length=128)
    scan_ppi: int | None = None
    flag: str | None = Field(default=None, max_length=500)
    ingested_at: datetime = Field(sa_column=utc_column())
    # C-4: what every archive item states; until someone fills them in, the section, the
    # officer and the capture time stand for the first three.
    handling_section: str | None = Field(default=None, max_length=32)  # 承办科室
    producer: str | None = Field(default=None, max_length=128)  # 制作人
    production_time: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    proves: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # 证明内容
    # B-11: who may see it at all, and what in it is private.
    secrecy: Clearance = Field(
        default=Clearance.INTERNAL, sa_column=enum_column(Clearance, index=True)
    )
    privacy_flags: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, default=list)
    )
    archived_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Copied from the activity when the record is tied to it (or it changes), so that searches
    # by enterprise, kind and type, and by the words of its matter, need no join.
    enterprise_id: UUID | None = Field(default=None, index=True)
    activity_kind: ActivityKind | None = Field(
        default=None, sa_column=enum_column(ActivityKind, nullable=True, index=True)
    )
    activity_type: ActivityType | None = Field(
        default=None, sa_column=enum_column(ActivityType, nullable=True, index=True)
    )
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


# GB 32100-2015: the unified social credit code's 31 characters (no I, O, S, V, Z) and the
# weights of its first 17, whose sum decides the 18th (the check character).
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_problem(code: str) -> tuple[str, str] | None:
    """Why ``code`` is not a valid unified social credit code, in English and Chinese; None if
    it is."""
    if len(code) != 18 or any(c not in _CREDIT_CHARS for c in code):
        return (
            "must be 18 characters of 0-9 and A-Z without I, O, S, V, Z",
            "应为 18 位，由数字 0-9 和除 I、O、S、V、Z 以外的大写字母组成",
        )
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code, _CREDIT_WEIGHTS, strict=False))
    if code[17] != _CREDIT_CHARS[-total % 31]:
        return (
            "its check character (the 18th) is wrong: mistyped?",
            "校验位（第 18 位）不正确，请核对是否输错",
        )
    return None


class Enterprise(SQLModel, table=True):
    """An enterprise the bureau supervises (一企一档, E-3/E-16): everything about it hangs here."""

    __tablename__ = "enterprises"

    id: UUID = Field(primary_key=True)
    name: str = Field(max_length=200, index=True)
    credit_code: str = Field(max_length=18, unique=True)  # 统一社会信用代码
    legal_representative: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=300)
    contact: str | None = Field(default=None, max_length=64)
    industry: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=64, index=True)  # 属地
    hazardous_processes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    hazardous_equipment: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, default=list)
    )
    major_hazard_sources: list[str] = Field(sa_column=Column(JSON, nullable=False))
    risk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # risk, hidden dangers
    # E-2's other supervision information: safety evaluation, standardization, training,
    # special campaigns, accident investigation, emergency rescue.
    supervision: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict)
    )
    # The district's unified enforcement platform's own id, for its retried calls (integration).
    external_id: str | None = Field(default=None, max_length=128, unique=True)
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class ActivityStatus(LabelledEnum):
    OPEN = "open", "进行中"
    CLOSED = "closed", "已结束"
    ARCHIVED = "archived", "已归档"  # read-only, with its records (B-7)


class Activity(SQLModel, table=True):
    """One enforcement activity (A-4/B-2): what was done, where, by whom, for which enterprise."""

    __tablename__ = "activities"

    id: UUID = Field(primary_key=True)
    kind: ActivityKind = Field(sa_column=enum_column(ActivityKind, index=True))
    type: ActivityType = Field(sa_column=enum_column(ActivityType, index=True))
    matter: str = Field(max_length=200)  # 事项
    case_number: str | None = Field(default=None, max_length=64, index=True)  # 案号
    enterprise_id: UUID | None = Field(default=None, index=True)
    section: str = Field(max_length=32, index=True)
    officers: list[str] = Field(sa_column=Column(JSON, nullable=False))
    place: str | None = Field(default=None, max_length=300)
    region: str | None = Field(default=None, max_length=64, index=True)  # 属地
    started_at: datetime = Field(sa_column=utc_column(index=True))
    ended_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    status: ActivityStatus = Field(
        default=ActivityStatus.OPEN, sa_column=enum_column(ActivityStatus, index=True)
    )
    # What the activity found (B-10, E-15): enterprises with more are inspected first.
    hidden_dangers_found: int = 0  # 发现隐患
    violations_found: int = 0  # 发现违法行为
    archived_by: str | None = Field(default=None, max_length=128)
    archived_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    external_id: str | None = Field(default=None, max_length=128, unique=True)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class ActivityOfficer(SQLModel, table=True):
    """Who took part in an activity, as rows, so that "activities of officer X" is a plain query
    on either database (``Activity.officers`` keeps the list as entered)."""

    __tablename__ = "activity_officers"

    activity_id: UUID = Field(primary_key=True, foreign_key="activities.id")
    officer_id: str = Field(primary_key=True, max_length=128, index=True)


class Duty(LabelledEnum):
    """How an activity type must be recorded (A-10, D-6, B-4a)."""

    MANDATORY = "mandatory", "全过程音像记录"
    SITUATIONAL = "situational", "根据情况音像记录"
    TEXT = "text", "文字记录即可"


class FindingCode(LabelledEnum):
    """What a compliance check can find (not stored: findings are worked out when asked for)."""

    NO_RECORDING = "no_recording", "应全过程音像记录而无记录"
    NOT_COVERED = "not_covered", "音像记录未覆盖执法全过程"  # starts late or ends early
    UNEXPLAINED_GAP = "unexplained_gap", "记录中断且未说明原因"
    AFTER_THE_FACT = "after_the_fact", "执法结束后补录"  # captured after the activity ended
    PARTY_NOT_INFORMED = "party_not_informed", "未告知当事人正在记录"
    LATE_UPLOAD = "late_upload", "超过24小时上传"
    EXEMPTION_PENDING = "exemption_pending", "未记录说明待科室负责人确认"  # not acknowledged
    UNASSIGNED = "unassigned", "未关联执法活动"  # a recording tied to no activity

    @property
    def requirement(self) -> str:
        """The requirement the finding is against."""
        return _FINDING_REQUIREMENTS[self]


_FINDING_REQUIREMENTS = {
    FindingCode.NO_RECORDING: "A-10",
    FindingCode.NOT_COVERED: "A-10",
    FindingCode.UNEXPLAINED_GAP: "D-10a",
    FindingCode.AFTER_THE_FACT: "D-10b",
    FindingCode.PARTY_NOT_INFORMED: "A-9",
    FindingCode.LATE_UPLOAD: "A-11",
    FindingCode.EXEMPTION_PENDING: "A-5",
    FindingCode.UNASSIGNED: "A-3",
}


class RecordingDuty(SQLModel, table=True):
    """The bureau's own entry of the AV recording item list 音像记录事项清单 (B-4b) for one
    activity type; types without a row follow the regulation's defaults."""

    __tablename__ = "recording_duties"

    type: ActivityType = Field(sa_column=enum_column(ActivityType, primary_key=True))
    duty: Duty = Field(sa_column=enum_column(Duty))
    key_stages: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=128)
    updated_at: datetime = Field(sa_column=utc_column())


class InterruptionReason(LabelledEnum):
    """Why one device's recording stopped and started again (D-10a)."""

    DEVICE_FAULT = "device_fault", "设备故障"
    WEATHER = "weather", "天气原因"
    BATTERY = "battery", "电量不足"
    STORAGE = "storage", "存储空间不足"
    VENUE_CHANGE = "venue_change", "转换场地"
    OTHER = "other", "其他"


class Interruption(SQLModel, table=True):
    """An officer's explanation of a gap in one device's recording of an activity (D-10a)."""

    __tablename__ = "interruptions"

    id: UUID = Field(primary_key=True)
    activity_id: UUID = Field(foreign_key="activities.id", index=True)
    device_id: str = Field(max_length=64)
    stopped_at: datetime = Field(sa_column=utc_column())
    resumed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reason: InterruptionReason = Field(sa_column=enum_column(InterruptionReason))
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    # When recording could not go on at all: the written report 书面报告.
    written_report: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    filed_by: str = Field(max_length=128)
    filed_at: datetime = Field(sa_column=utc_column())


class ExemptionReason(LabelledEnum):
    """When an activity may go unrecorded (A-5, D-5)."""

    EXPLOSION_HAZARD = "explosion_hazard", "易燃易爆区域无防爆设备"
    STATE_SECRET = "state_secret", "涉及国家秘密"
    COMMERCIAL_SECRET = "commercial_secret", "涉及商业秘密"
    PERSONAL_PRIVACY = "personal_privacy", "涉及个人隐私"
    EMERGENCY = "emergency", "紧急情况"
    OTHER = "other", "其他客观原因"


class Exemption(SQLModel, table=True):
    """The work record 工作记录 an officer files when an activity was not recorded (A-5), and
    the section head's acknowledgement of it."""

    __tablename__ = "exemptions"

    id: UUID = Field(primary_key=True)
    activity_id: UUID = Field(foreign_key="activities.id", index=True)
    reason: ExemptionReason = Field(sa_column=enum_column(ExemptionReason))
    basis: str = Field(sa_column=Column(Text, nullable=False))  # 依据
    work_record: str = Field(sa_column=Column(Text, nullable=False))
    filed_by: str = Field(max_length=128)
    filed_at: datetime = Field(sa_column=utc_column())
    acknowledged_by: str | None = Field(default=None, max_length=128)
    acknowledged_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class IdempotencyKey(SQLModel, table=True):
    """A creating call made with an ``Idempotency-Key``: the same key again from the same
    caller gives the same resource instead of a second one."""

    __tablename__ = "idempotency_keys"

    caller: str = Field(primary_key=True, max_length=128)
    key: str = Field(primary_key=True, max_length=255)
    request_sha256: str = Field(max_length=64)
    resource: str = Field(max_length=32)
    resource_id: UUID
    created_at: datetime = Field(sa_column=utc_column())


class KnownSection(SQLModel, table=True):
    """The catalog's view of a registry section, kept from ``section.changed``: who heads it
    decides who acts as its head here (A-6a)."""

    __tablename__ = "known_sections"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64)
    head_officer_id: str | None = Field(default=None, max_length=128)
    custodian_officer_id: str | None = Field(default=None, max_length=128)
    updated_at: datetime = Field(sa_column=utc_column())  # when the registry told it


class KnownOfficer(SQLModel, table=True):
    """The catalog's view of a registry officer, kept from ``officer.registered`` and
    ``officer.changed``: an activity names only active officers of its own section."""

    __tablename__ = "known_officers"

    id: str = Field(primary_key=True, max_length=128)
    name: str = Field(max_length=64)
    section: str = Field(max_length=32, index=True)
    active: bool = True
    updated_at: datetime = Field(sa_column=utc_column())  # when the registry told it


class AccessEventKind(LabelledEnum):
    """What happened to a record in the access (调阅) workflow, as its history shows it (C-9)."""

    REQUESTED = "requested", "申请调阅"
    GRANTED = "granted", "准予调阅"
    REJECTED = "rejected", "驳回"
    ENDED = "ended", "调阅结束"  # completed, expired or revoked: ``how`` in the detail
    VIEWED = "viewed", "查看"  # a playback ticket issued, the record opened for viewing
    PLAYED = "played", "播放"  # a range of its bytes served
    COPIED = "copied", "复制"  # a copy of the whole record handed out
    ALTERED = "altered", "核验不符"  # its bytes no longer match its hash


class RecordAccess(SQLModel, table=True):
    """One event of the access workflow about one record, kept from the gateway's events: a
    request-level event (rejected, ended) gives a row to every record of its request. The
    ``requested`` rows are also where the catalog finds a request's records."""

    __tablename__ = "record_accesses"

    id: int | None = Field(default=None, primary_key=True)
    record_id: UUID = Field(index=True)
    request_id: UUID | None = Field(default=None, index=True)  # None: an alarm of no request
    what: AccessEventKind = Field(sa_column=enum_column(AccessEventKind))
    who: str = Field(max_length=256)
    at: datetime = Field(sa_column=utc_column())  # the event's occurred_at
    detail: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict)
    )
