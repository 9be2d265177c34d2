from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, BigInteger, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from quancheng.common.db import enum_column, utc_column
from quancheng.common.labels import LabelledEnum


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


class UploadStatus(LabelledEnum):
    RECEIVING = "receiving", "接收中"
    FINISHING = "finishing", "保存中"  # all bytes in and checked; the original is being stored
    COMPLETE = "complete", "已保存"  # stored as an original, verified, recorded
    # all bytes came, but they failed a check (e.g. the declared sha256)
    REJECTED = "rejected", "已拒收"
    TERMINATED = "terminated", "已终止"  # the client gave it up
    EXPIRED = "expired", "已过期"  # abandoned, cleaned up by the sweeper


class Concat(StrEnum):
    """tus concatenation: the part an upload plays (a plain upload plays none)."""

    PARTIAL = "partial"  # bytes for a final upload, never an original itself
    FINAL = "final"  # assembled by ingest from its ``partials``, in order


class Upload(SQLModel, table=True):
    """One tus upload. Everything another replica needs to take the next request is here: the
    offset, the parts already in the object store, the bytes not yet a part, and the SHA-256
    state of everything received."""

    __tablename__ = "uploads"

    id: str = Field(primary_key=True, max_length=32)
    status: UploadStatus = Field(sa_column=enum_column(UploadStatus, index=True))
    length: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    offset: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    metadata_raw: str = Field(sa_column=Column(Text, nullable=False))  # Upload-Metadata as sent
    meta: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # parsed and checked
    device_id: UUID
    # Indexed for the lists of uploads (an officer's, a section's, the newest first).
    officer_id: str = Field(max_length=128, index=True)
    section: str = Field(max_length=32, index=True)
    created_by: str = Field(max_length=128, index=True)
    created_at: datetime = Field(sa_column=utc_column(index=True))
    expires_at: datetime = Field(sa_column=utc_column(index=True))
    object_key: str = Field(max_length=512)
    multipart_id: str | None = Field(default=None, max_length=256)
    parts: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    tail: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # not yet a part
    sha256_state: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str | None = Field(default=None, max_length=64)
    # With SM3 on (ingest.sm3): its running state, and the whole file's SM3 once all is in.
    sm3_state: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    sm3: str | None = Field(default=None, max_length=64)
    record_id: UUID | None = None
    rejection: str | None = Field(default=None, max_length=500)
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Scans (E-5): the file's first and last bytes, kept as they stream in, hold its header.
    scan_head: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    scan_end: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    scan_ppi: int | None = None
    flag: str | None = Field(default=None, max_length=500)  # accepted, but to be looked at
    concat: Concat | None = Field(default=None, sa_column=enum_column(Concat, nullable=True))
    partials: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Original(SQLModel, table=True):
    """A recording stored write-once (one per content and device: the same bytes uploaded
    again from the same device are answered with this record)."""

    __tablename__ = "originals"
    __table_args__ = (UniqueConstraint("device_id", "sha256", name="uq_originals_device_sha256"),)

    record_id: UUID = Field(default_factory=uuid4, primary_key=True)
    upload_id: str = Field(max_length=32, index=True)
    device_id: UUID
    sha256: str = Field(max_length=64)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    object_key: str = Field(max_length=512)
    stored_at: datetime = Field(sa_column=utc_column())
