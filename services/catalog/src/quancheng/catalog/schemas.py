"""What the catalog's API gives: each answer is read from the attributes of a table's row or of a
service's result (``XRead.model_validate(obj)``); a label is the enum's, computed on the way out."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, computed_field

from quancheng.catalog.inputs import (
    ActivityWrite,
    DutyWrite,
    EnterpriseWrite,
    ExemptionWrite,
    InterruptionWrite,
)
from quancheng.catalog.models import (
    AccessEventKind,
    Activity,
    ActivityStatus,
    ActivityType,
    Duty,
    Exemption,
    FindingCode,
    kind_label,
)
from quancheng.common.auth import Clearance
from quancheng.common.limits import Page
from quancheng.common.times import Instant


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RecordRead(Read):
    record_id: UUID
    filename: str
    kind: str
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
    privacy_flags: list[str]
    archived_at: Instant | None = Field(description="set: archived, read-only (B-7)")

    @computed_field
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @computed_field
    def secrecy_label(self) -> str:
        return self.secrecy.label


# Each page of a list is a class of its own, so that the OpenAPI document names it.
class RecordPage(Page[RecordRead]):
    """A page of records."""


class AccessHistoryEntry(Read):
    """One step of a record's access history (C-9): a request, its grant, rejection or end, a
    look, a copy, a check that found it altered; or a run of playback, folded into one."""

    id: int
    request_id: UUID | None = Field(description="the access request; null for an alarm")
    what: AccessEventKind
    who: str = Field(
        description="the requester, approvers, the one who rejected or ended, the viewer; "
        "system for an expiry or an alarm"
    )
    at: Instant = Field(description="when; of a playback run, when its first range was served")
    until: Instant | None = Field(description="of a playback run: when its last range was served")
    count: int = Field(description="events folded in: of a playback run, the ranges served")
    detail: dict[str, Any] = Field(
        description="what the event said: requester_kind, access, purpose, valid_until, "
        "session_id, accompanied_by, how, reason, opinion, expected and actual sha256; of a "
        "playback run, the byte spans served (ranges) and bytes_served"
    )

    @computed_field
    def what_label(self) -> str:
        return self.what.label


class AccessHistoryPage(Page[AccessHistoryEntry]):
    """A page of a record's access history, the latest first."""


class SelectedRecord(Read):
    """A record an access request names, with what the access gateway judges and serves it by."""

    record_id: UUID
    filename: str
    kind: str
    size: int
    sha256: str
    object_key: str
    section: str | None
    handling_section: str | None = Field(
        description="承办科室 (C-4) as described, or else the recording's section"
    )
    secrecy: Clearance
    privacy_flags: list[str]
    activity_id: str | None
    case_number: str | None = Field(description="its activity's 案号")
    enterprise_id: UUID | None
    captured_at: Instant | None
    captured_until: Instant | None
    archived_at: Instant | None


class RecordSelection(Read):
    """The records an access request names, captured first (undated last)."""

    items: list[SelectedRecord]
    missing: list[UUID] = Field(description="record ids named that are no record the caller sees")


class EnterpriseRead(EnterpriseWrite):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    id: UUID
    external_id: str | None
    created_at: Instant
    updated_at: Instant


class EnterprisePage(Page[EnterpriseRead]):
    """A page of enterprises."""


class ActivityRead(ActivityWrite):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    id: UUID
    status: ActivityStatus
    external_id: str | None
    created_by: str
    created_at: Instant
    updated_at: Instant
    archived_by: str | None
    archived_at: Instant | None

    @computed_field
    def kind_label(self) -> str:
        return self.kind.label

    @computed_field
    def type_label(self) -> str:
        return self.type.label

    @computed_field
    def status_label(self) -> str:
        return self.status.label


class ActivityPage(Page[ActivityRead]):
    """A page of activities."""


class DutyRead(DutyWrite):
    model_config = ConfigDict(from_attributes=True)

    type: ActivityType
    configured: bool = Field(description="false: the regulation's default")

    @computed_field
    def type_label(self) -> str:
        return self.type.label

    @computed_field
    def duty_label(self) -> str:
        return self.duty.label


class InterruptionRead(InterruptionWrite):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    activity_id: UUID
    filed_by: str
    filed_at: Instant

    @computed_field
    def reason_label(self) -> str:
        return self.reason.label


class ExemptionRead(ExemptionWrite):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    activity_id: UUID
    filed_by: str
    filed_at: Instant
    acknowledged_by: str | None
    acknowledged_at: Instant | None

    @computed_field
    def reason_label(self) -> str:
        return self.reason.label


class ExemptionListed(ExemptionRead):
    """An exemption in the list, with what its activity is."""

    matter: str
    section: str
    started_at: Instant

    @classmethod
    def of(cls, exemption: Exemption, activity: Activity) -> ExemptionListed:
        read = ExemptionRead.model_validate(exemption)  # its fields, not its computed label
        return cls(
            **dict(read),
            matter=activity.matter,
            section=activity.section,
            started_at=activity.started_at,
        )


class ExemptionPage(Page[ExemptionListed]):
    """A page of exemptions."""


class FindingRead(Read):
    code: FindingCode
    section: str | None
    activity_id: UUID | None
    record_id: UUID | None
    device_id: str | None
    officer_ids: list[str]
    start: Instant | None
    end: Instant | None
    detail: str

    @computed_field(description="中文说明")
    def label(self) -> str:
        return self.code.label

    @computed_field
    def requirement(self) -> str:
        return self.code.requirement


class ActivityCompliance(Read):
    activity_id: UUID
    duty: Duty
    compliant: bool = Field(description="judged on every recording, seen or withheld")
    findings: list[FindingRead]
    withheld_records: int = Field(description="recordings above the caller's clearance (B-11)")
    withheld_findings: int = Field(description="findings that would show them: counted, not listed")

    @computed_field
    def duty_label(self) -> str:
        return self.duty.label


class ComplianceGroup(Read):
    """One section's or officer's share: activities checked, how many had no finding."""

    key: str
    activities: int
    compliant_activities: int
    findings: dict[str, int]


class ComplianceReport(Read):
    activities: int
    compliant_activities: int
    rate: float | None = Field(description="compliant / checked; null when none was checked")
    counts: dict[str, int]
    by_section: list[ComplianceGroup]
    by_officer: list[ComplianceGroup]
    findings: list[FindingRead]
    withheld_records: int = Field(description="recordings above the caller's clearance (B-11)")
    withheld_findings: int = Field(description="findings that would show them: counted, not listed")


class Dossier(Read):
    """An activity's dossier 卷宗 (B-7): the activity, every recording tied to it, what was filed
    about it, and how it was recorded against its duty."""

    activity: ActivityRead
    records: list[RecordRead]
    interruptions: list[InterruptionRead]
    exemptions: list[ExemptionRead]
    compliance: ActivityCompliance


class ArchiveEntry(Read):
    activity_id: UUID
    matter: str
    type: ActivityType = Field(exclude=True)  # read for its label, not shown itself
    case_number: str | None
    enterprise_id: UUID | None
    section: str
    started_at: Instant
    archived_at: Instant | None
    records: int

    @computed_field
    def type_label(self) -> str:
        return self.type.label


class ArchiveGroup(Read):
    """One year's activities of one matter (C-4: the archive is arranged 年度-事项)."""

    year: int
    matter: str
    activities: list[ArchiveEntry]


class StatisticsRow(Read):
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


class Statistics(Read):
    group_by: str
    group_label: str
    rows: list[StatisticsRow]
    total: StatisticsRow


class RankedEnterprise(Read):
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


class EnterpriseFile(Read):
    """一企一档 (E-3, E-16): the enterprise, its activities newest first, and what they hold."""

    enterprise: EnterpriseRead
    activities: list[ActivityRead]
    records: int
    bytes: int
    hidden_dangers_found: int
    violations_found: int
