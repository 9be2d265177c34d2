"""The catalog's tables."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from quancheng.common.db import utc_column


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
