"""The catalog's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column
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
