"""The catalog's tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from quancheng.common.auth import Clearance
from quancheng.common.db import enum_column, utc_column


class ActivityKind(StrEnum):
    """The four kinds of administrative enforcement in scope (B-2)."""

    LICENSING = "licensing"  # 行政许可
    PENALTY = "penalty"  # 行政处罚
    COERCION = "coercion"  # 行政强制
    INSPECTION = "inspection"  # 行政检查


class ActivityType(StrEnum):
    """What was done on site (A-4/D-4, A-10); the recording duty depends on it."""

    DAILY_INSPECTION = "daily_inspection"
    COMPLAINT = "complaint"
    EVIDENCE_COLLECTION = "evidence_collection"
    ADVANCE_REGISTRATION = "advance_registration"
    DOCUMENT_SERVICE = "document_service"
    COERCIVE_MEASURE = "coercive_measure"
    SEALING_SEIZURE = "sealing_seizure"
    FORCED_DEMOLITION = "forced_demolition"
    CASE_VENUE = "case_venue"
    HEARING = "hearing"
    LODGED_SERVICE = "lodged_service"
    SERVICE_BY_NOTICE = "service_by_notice"
    ON_SITE = "on_site"
    OTHER = "other"


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


class ActivityStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"  # read-only, with its records (B-7)


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


class Duty(StrEnum):
    """How an activity type must be recorded (A-10, D-6, B-4a)."""

    MANDATORY = "mandatory"  # 全过程音像记录
    SITUATIONAL = "situational"  # 根据实际情况进行音像记录
    TEXT = "text"  # 文字记录即可


class FindingCode(StrEnum):
    """What a compliance check can find (not stored: findings are worked out when asked for)."""

    NO_RECORDING = "no_recording"  # a mandatory activity without recordings
    NOT_COVERED = "not_covered"  # its recordings start late or end early
    UNEXPLAINED_GAP = "unexplained_gap"  # D-10a
    AFTER_THE_FACT = "after_the_fact"  # D-10b: captured after the activity ended
    PARTY_NOT_INFORMED = "party_not_informed"
    LATE_UPLOAD = "late_upload"  # past the 24-hour deadline
    EXEMPTION_PENDING = "exemption_pending"  # filed, not yet acknowledged
    UNASSIGNED = "unassigned"  # a recording tied to no activity


class RecordingDuty(SQLModel, table=True):
    """The bureau's own entry of the AV recording item list 音像记录事项清单 (B-4b) for one
    activity type; types without a row follow the regulation's defaults."""

    __tablename__ = "recording_duties"

    type: ActivityType = Field(sa_column=enum_column(ActivityType, primary_key=True))
    duty: Duty = Field(sa_column=enum_column(Duty))
    key_stages: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=128)
    updated_at: datetime = Field(sa_column=utc_column())


class InterruptionReason(StrEnum):
    """Why one device's recording stopped and started again (D-10a)."""

    DEVICE_FAULT = "device_fault"
    WEATHER = "weather"
    BATTERY = "battery"
    STORAGE = "storage"
    VENUE_CHANGE = "venue_change"
    OTHER = "other"


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


class ExemptionReason(StrEnum):
    """When an activity may go unrecorded (A-5, D-5)."""

    EXPLOSION_HAZARD = "explosion_hazard"  # 防爆区域无防爆设备
    STATE_SECRET = "state_secret"  # noqa: S105 (a reason, not a password)
    COMMERCIAL_SECRET = "commercial_secret"  # noqa: S105
    PERSONAL_PRIVACY = "personal_privacy"
    EMERGENCY = "emergency"
    OTHER = "other"


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
