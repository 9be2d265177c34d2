from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import Field, SQLModel

from quancheng.common.db import utc_column


class KnownDevice(SQLModel, table=True):
    """Ingest's own view of the registry's devices, kept from device events: who holds which
    device decides whose uploads a device may carry."""

    __tablename__ = "known_devices"

    device_id: UUID = Field(primary_key=True)
    serial_number: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    section: str = Field(max_length=32)
    officer_id: str | None = Field(default=None, max_length=128)
    updated_at: datetime = Field(sa_column=utc_column())
