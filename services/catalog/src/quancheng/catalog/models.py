"""The catalog's tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

from quancheng.common.db import enum_column, utc_column


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
    major_hazard_sources: list[str] = Field(sa_column=Column(JSON, nullable=False))
    risk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # risk, hidden dangers
    # The district's unified enforcement platform's own id, for its retried calls (integration).
    external_id: str | None = Field(default=None, max_length=128, unique=True)
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


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
