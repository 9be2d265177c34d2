"""What the catalog's API takes and gives."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from quancheng.catalog.models import Record

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
