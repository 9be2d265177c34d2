"""The object-store contract, shaped after S3 + Object Lock and split as tusd splits its stores: a
small core every adapter implements, at least one upload mode, and capabilities. An adapter
declares what it supports by subclassing those protocols; users ask with ``isinstance``.

Originals are written once and never changed: a key that exists can't be written again, an object
can't be deleted before its retain-until nor while a legal hold is on it (A-13, D-18, B-12b).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


def check_key(key: str) -> None:
    """Refuse keys that are empty, absolute, or have a backslash, a NUL or an empty/./.. segment."""
    if not key:
        raise ValueError("object key is empty")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise ValueError(f"object key {key!r} is absolute or contains a backslash or NUL")
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise ValueError(f"object key {key!r} has an empty, '.' or '..' segment")


MAX_PART_NUMBER = 10_000  # as in S3


def check_part_number(part_number: int) -> None:
    if not 1 <= part_number <= MAX_PART_NUMBER:
        raise ValueError(f"part number {part_number} is outside 1..{MAX_PART_NUMBER}")


def check_aware(when: datetime | None) -> None:
    """Retention dates must name their timezone (a naive date would mean different instants)."""
    if when is not None and when.utcoffset() is None:
        raise ValueError("retain_until must be timezone-aware")


_SECTION_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def section_key(section: str, *parts: str) -> str:
    """The key of an object in a section's own storage (E-10): ``sections/<code>/<parts…>``, so
    that each section's objects sit under one prefix that policies, listings and custody follow."""
    if not _SECTION_CODE.fullmatch(section):
        raise ValueError(f"section code {section!r} must be 1-32 letters, digits, '-' or '_'")
    key = "/".join(("sections", section, *parts))
    check_key(key)
    return key


class ObjectStoreError(Exception):
    """Base of every refusal an object store gives."""


class StoreUnavailableError(ObjectStoreError):
    """The store did not answer (down, unreachable, timed out): the request may be retried once it
    is back; nothing it reported as done is undone."""


class ObjectExistsError(ObjectStoreError):
    """The key is already written; originals are write-once."""


class ObjectLockedError(ObjectStoreError):
    """The object is retained (retain-until in the future) or under legal hold."""


class NoSuchObjectError(ObjectStoreError):
    pass


class NoSuchUploadError(ObjectStoreError):
    pass


class InvalidRangeError(ObjectStoreError):
    pass


class StagingLostError(ObjectStoreError):
    """An unfinished upload's staged bytes are shorter than was acknowledged (a power failure
    took bytes the operating system had not yet written to disk)."""


class InvalidPartError(ObjectStoreError):
    """A part list that does not match the uploaded parts (missing, unknown or wrong etag)."""


@dataclass(frozen=True)
class PartInfo:
    part_number: int  # 1-based, as in S3
    etag: str
    size: int


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    retain_until: datetime | None
    legal_hold: bool
    created_at: datetime
    # What a version-exact deletion names: MinIO's version id, the local store's own token.
    version: str


@runtime_checkable
class ObjectStore(Protocol):
    """What every adapter does: write a small object once, read it (ranged), describe it."""

    async def put(self, key: str, data: bytes, *, retain_until: datetime | None) -> ObjectInfo:
        """Write a small object once. Refused with ObjectExistsError if the key exists."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes ``start`` .. ``end`` inclusive (HTTP Range semantics)."""
        ...

    async def head(self, key: str) -> ObjectInfo: ...

    async def ping(self) -> bool: ...

    def close(self) -> None:
        """Release connections (the store is not used afterwards)."""
        ...


# Upload modes: how a large object is written while its bytes arrive. Every adapter has one.


@runtime_checkable
class MultipartUploads(ObjectStore, Protocol):
    """A store that takes an object in parts and assembles them (S3)."""

    async def create_multipart(self, key: str, *, retain_until: datetime | None) -> str:
        """Start a multipart upload; returns its upload id. Refused if ``key`` exists."""
        ...

    async def upload_part(
        self, key: str, upload_id: str, part_number: int, data: bytes
    ) -> PartInfo: ...

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]: ...

    async def complete_multipart(
        self, key: str, upload_id: str, parts: list[PartInfo]
    ) -> ObjectInfo:
        """Assemble the parts, in the order given, into the write-once object."""
        ...

    async def abort_multipart(self, key: str, upload_id: str) -> None: ...


class Appender(Protocol):
    """Writes an unfinished upload's bytes in order (blocking: run it in a worker thread)."""

    def write(self, chunks: list[bytes]) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class AppendUploads(ObjectStore, Protocol):
    """A store that keeps an unfinished upload as one growing file (the local store): bytes are
    written where they belong and the file becomes the object without being copied."""

    async def begin_append(self, key: str, *, retain_until: datetime | None) -> str:
        """Start an appended upload; returns its upload id. Refused if ``key`` exists."""
        ...

    def open_append(self, key: str, upload_id: str, offset: int) -> Appender:
        """Write from ``offset`` on; bytes already beyond it (never acknowledged) are dropped.
        Blocking. Raises StagingLostError if fewer than ``offset`` bytes are staged."""
        ...

    async def complete_append(self, key: str, upload_id: str, size: int, etag: str) -> ObjectInfo:
        """Make the ``size`` staged bytes the write-once object, on disk before it is visible;
        ``etag`` is the caller's digest of them. ObjectExistsError if ``key`` is written."""
        ...

    async def abort_append(self, key: str, upload_id: str) -> None: ...


# Capabilities: what retention does with originals, for the adapters that can.


@runtime_checkable
class RetentionLock(ObjectStore, Protocol):
    """Write-once retention (COMPLIANCE): retain-until may only move later."""

    async def extend_retention(self, key: str, retain_until: datetime) -> None:
        """Move retain-until later (or set a first one); shortening it is refused."""
        ...


@runtime_checkable
class LegalHold(ObjectStore, Protocol):
    async def set_legal_hold(self, key: str, on: bool) -> None:
        """While a hold is on, the object can't be deleted, whatever its retention."""
        ...


@runtime_checkable
class VersionedDeletion(ObjectStore, Protocol):
    """Deletion of one exact version, for a destruction that has been approved: what was
    approved is what goes, never an object written at the key since."""

    async def delete_version(self, key: str, version: str) -> None:
        """Remove the ``version`` (``ObjectInfo.version``) of ``key``; NoSuchObjectError if it is
        not there, ObjectLockedError while it is retained or under legal hold."""
        ...


UPLOAD_MODES: tuple[type[ObjectStore], ...] = (MultipartUploads, AppendUploads)
