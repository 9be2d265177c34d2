"""The object-store contract (A-13 write-once, E-11 exact bytes): the core runs against every
adapter, each upload mode and capability against exactly the adapters that declare it. What only
one adapter does (MinIO's bucket, the local store's staging file) comes at the end.

The local adapter runs on a clock the tests move. MinIO keeps its own time, so for it the clock is
the real one and moving it means waiting: tests that wait a retention out retain for seconds.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import shutil
import stat
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Protocol

import anyio
import pytest
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error
from minio.objectlockconfig import DAYS
from pydantic import SecretStr

from quancheng.common.settings import MinioSettings, ObjectStoreKind, ObjectStoreSettings
from quancheng.common.storage import (
    UPLOAD_MODES,
    AppendUploads,
    InvalidPartError,
    InvalidRangeError,
    LegalHold,
    LocalObjectStore,
    MultipartUploads,
    NoSuchObjectError,
    NoSuchUploadError,
    ObjectExistsError,
    ObjectLockedError,
    ObjectStore,
    ObjectStoreError,
    PartInfo,
    RetentionLock,
    StagingLostError,
    VersionedDeletion,
    section_key,
)
from quancheng.common.storage.minio import MinioObjectStore
from quancheng.common.testing.minio import MinioServer

MIB = 1024 * 1024
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
# Long enough to try a delete before it runs out, short enough to wait out against MinIO.
RETENTION = 2 * SECOND
KEY = "sections/JC1/cases/1/clip.mp4"

ADAPTERS: dict[str, type[ObjectStore]] = {"local": LocalObjectStore, "minio": MinioObjectStore}


def on_adapters_with(*capabilities: type) -> pytest.MarkDecorator:
    """Run the test on exactly the adapters that declare every one of ``capabilities``."""
    names = [
        name
        for name, adapter in ADAPTERS.items()
        if all(issubclass(adapter, capability) for capability in capabilities)
    ]
    return pytest.mark.parametrize("adapter", names, indirect=True)


class Clock(Protocol):
    """The time the store under test sees."""

    def now(self) -> datetime: ...

    async def advance_to(self, when: datetime) -> None: ...


@dataclass
class MovableClock:
    """The local store's time; tests move it forward."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    async def advance_to(self, when: datetime) -> None:
        self.current = max(self.current, when)


class RealClock:
    """MinIO's time, i.e. this machine's; moving it forward is waiting."""

    def now(self) -> datetime:
        # Whole milliseconds, MinIO's precision, so that retain-until dates round-trip exactly.
        now = datetime.now(UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    async def advance_to(self, when: datetime) -> None:
        await anyio.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()))


@pytest.fixture(scope="session")
def minio_client(minio_server: MinioServer) -> Iterator[Minio]:
    """The SDK, bypassing the adapter."""
    pool = urllib3.PoolManager()
    yield Minio(
        minio_server.endpoint,
        access_key=minio_server.access_key,
        secret_key=minio_server.secret_key,
        secure=False,
        http_client=pool,
    )
    pool.clear()


def new_bucket_name() -> str:
    return f"contract-{uuid.uuid4().hex}"


def minio_settings(server: MinioServer, bucket: str) -> ObjectStoreSettings:
    return ObjectStoreSettings(
        kind=ObjectStoreKind.MINIO,
        minio=MinioSettings(
            endpoint=server.endpoint,
            access_key=server.access_key,
            secret_key=SecretStr(server.secret_key),
            bucket=bucket,
        ),
    )


@pytest.fixture(params=list(ADAPTERS))
def adapter(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def clock(adapter: str) -> Clock:
    if adapter == "local":
        return MovableClock(datetime(2030, 1, 1, tzinfo=UTC))
    return RealClock()


@pytest.fixture
def store(
    adapter: str, request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> Iterator[ObjectStore]:
    if adapter == "local":
        yield LocalObjectStore(tmp_path / "store", clock=clock.now)
        return
    server: MinioServer = request.getfixturevalue("minio_server")
    client: Minio = request.getfixturevalue("minio_client")
    bucket = new_bucket_name()
    # Object Lock but no default retention, so that retain_until=None means none, as locally
    # (a bucket the adapter creates has one: see the MinIO-only tests at the end).
    client.make_bucket(bucket, object_lock=True)
    minio = MinioObjectStore(minio_settings(server, bucket))
    yield minio
    minio.close()


def md5(data: bytes) -> bytes:
    """MD5, as etags use it (not for security)."""
    return hashlib.md5(data, usedforsecurity=False).digest()


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


async def read_all(store: ObjectStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


async def delete(store: ObjectStore, key: str) -> None:
    """Delete the version of ``key`` that is there now, as an approved destruction names it."""
    assert isinstance(store, VersionedDeletion)
    await store.delete_version(key, (await store.head(key)).version)


def upload_beginnings(store: ObjectStore) -> list[Callable[..., Awaitable[str]]]:
    """How an upload begins, in each upload mode the store declares."""
    beginnings: list[Callable[..., Awaitable[str]]] = []
    if isinstance(store, MultipartUploads):
        beginnings.append(store.create_multipart)
    if isinstance(store, AppendUploads):
        beginnings.append(store.begin_append)
    return beginnings


def append(store: AppendUploads, upload_id: str, offset: int, *chunks: bytes) -> int:
    """One request's bytes at ``offset``; the offset after them."""
    appender = store.open_append(KEY, upload_id, offset)
    try:
        appender.write(list(chunks))
    finally:
        appender.close()
    return offset + sum(len(chunk) for chunk in chunks)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_every_adapter_has_an_upload_mode(adapter: str) -> None:
    assert any(issubclass(ADAPTERS[adapter], mode) for mode in UPLOAD_MODES)


# Write-once


@pytest.mark.req("A-13")
@pytest.mark.req("E-11")
async def test_put_refuses_an_existing_key_and_keeps_the_original(store: ObjectStore) -> None:
    original = b"original recording"
    await store.put("cases/1/clip.mp4", original, retain_until=None)

    with pytest.raises(ObjectExistsError):
        await store.put("cases/1/clip.mp4", b"tampered", retain_until=None)

    assert await read_all(store, "cases/1/clip.mp4") == original
    assert (await store.head("cases/1/clip.mp4")).etag == md5(original).hex()


async def test_retain_until_must_be_timezone_aware(store: ObjectStore) -> None:
    naive = datetime(2031, 1, 1)  # noqa: DTZ001 — the point of the test
    with pytest.raises(ValueError, match="timezone"):
        await store.put("clip.mp4", b"x", retain_until=naive)
    for begin in upload_beginnings(store):
        with pytest.raises(ValueError, match="timezone"):
            await begin("clip.mp4", retain_until=naive)


# Head and missing objects


async def test_head_reports_size_etag_retention_and_hold(store: ObjectStore, clock: Clock) -> None:
    data = random_bytes(1000, seed=1)
    retain_until = clock.now() + 3 * 366 * DAY
    put = await store.put("cases/7/photo.jpg", data, retain_until=retain_until)

    info = await store.head("cases/7/photo.jpg")
    assert info == put
    assert info.key == "cases/7/photo.jpg"
    assert info.size == len(data)
    assert info.etag == md5(data).hex()
    assert info.retain_until == retain_until
    assert info.legal_hold is False
    assert info.created_at.tzinfo is not None


async def test_operations_on_a_missing_object_raise(store: ObjectStore) -> None:
    with pytest.raises(NoSuchObjectError):
        await store.head("missing")
    with pytest.raises(NoSuchObjectError):
        await read_all(store, "missing")


async def test_keys_may_be_nested_and_non_ascii(store: ObjectStore) -> None:
    await store.put("案件/2030/视频 1.mp4", b"a", retain_until=None)
    await store.put("案件/2030/视频 2.mp4", b"b", retain_until=None)

    assert await read_all(store, "案件/2030/视频 1.mp4") == b"a"
    assert await read_all(store, "案件/2030/视频 2.mp4") == b"b"


@pytest.mark.parametrize("key", ["", "/etc/passwd", "..", "a/../b", "a/..", "a\\b", "a\x00b"])
async def test_invalid_keys_are_rejected(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        await store.put(key, b"x", retain_until=None)
    for begin in upload_beginnings(store):
        with pytest.raises(ValueError, match="key"):
            await begin(key, retain_until=None)
    with pytest.raises(ValueError, match="key"):
        await store.head(key)
    with pytest.raises(ValueError, match="key"):
        await read_all(store, key)
    if isinstance(store, VersionedDeletion):
        with pytest.raises(ValueError, match="key"):
            await store.delete_version(key, "1")


async def test_ping(store: ObjectStore) -> None:
    assert await store.ping() is True


# Reads


@pytest.mark.req("E-11")
async def test_ranged_reads_are_exact(store: ObjectStore) -> None:
    data = random_bytes(2 * MIB + 12345, seed=2)  # spans several read chunks
    size = len(data)
    await store.put("clip.mp4", data, retain_until=None)

    assert await read_all(store, "clip.mp4") == data
    assert await read_all(store, "clip.mp4", 0, 0) == data[:1]
    assert await read_all(store, "clip.mp4", size - 1, size - 1) == data[-1:]
    assert await read_all(store, "clip.mp4", size - 1) == data[-1:]
    assert await read_all(store, "clip.mp4", 1000, 2 * MIB + 7) == data[1000 : 2 * MIB + 8]
    assert await read_all(store, "clip.mp4", MIB, None) == data[MIB:]
    assert await read_all(store, "clip.mp4", size - 10, size + 1000) == data[-10:]


@pytest.mark.parametrize(
    ("start", "end"),
    [(5, 4), (100, None), (100, 200), (101, None), (-1, None), (-1, 10), (0, -1)],
)
async def test_unsatisfiable_ranges_raise(store: ObjectStore, start: int, end: int | None) -> None:
    await store.put("note.txt", random_bytes(100, seed=3), retain_until=None)

    with pytest.raises(InvalidRangeError):
        await read_all(store, "note.txt", start, end)


@pytest.mark.req("E-11")
async def test_empty_object(store: ObjectStore) -> None:
    info = await store.put("empty", b"", retain_until=None)

    assert info.size == 0
    assert info.etag == md5(b"").hex()
    assert await read_all(store, "empty") == b""


# Version-exact deletion


@pytest.mark.req("A-13")
@on_adapters_with(VersionedDeletion)
async def test_delete_is_refused_before_retain_until_and_allowed_after(
    store: VersionedDeletion, clock: Clock
) -> None:
    retain_until = clock.now() + RETENTION
    await store.put("clip.mp4", b"evidence", retain_until=retain_until)

    with pytest.raises(ObjectLockedError, match="retained until"):
        await delete(store, "clip.mp4")
    await clock.advance_to(retain_until - SECOND)
    with pytest.raises(ObjectLockedError, match="retained until"):
        await delete(store, "clip.mp4")
    assert await read_all(store, "clip.mp4") == b"evidence"

    await clock.advance_to(retain_until + SECOND)
    await delete(store, "clip.mp4")

    with pytest.raises(NoSuchObjectError):
        await store.head("clip.mp4")
    with pytest.raises(NoSuchObjectError):
        await read_all(store, "clip.mp4")


@on_adapters_with(VersionedDeletion)
async def test_object_without_retention_or_hold_can_be_deleted(store: VersionedDeletion) -> None:
    await store.put("clip.mp4", b"scratch", retain_until=None)
    await delete(store, "clip.mp4")

    with pytest.raises(NoSuchObjectError):
        await store.head("clip.mp4")


@pytest.mark.req("A-13")
@on_adapters_with(VersionedDeletion)
async def test_a_deletion_removes_only_the_version_it_names(store: VersionedDeletion) -> None:
    first = await store.put("clip.mp4", b"approved for destruction", retain_until=None)
    await store.delete_version("clip.mp4", first.version)
    again = await store.put("clip.mp4", b"written since", retain_until=None)

    assert again.version != first.version
    with pytest.raises(NoSuchObjectError):
        await store.delete_version("clip.mp4", first.version)
    assert await read_all(store, "clip.mp4") == b"written since"


@on_adapters_with(VersionedDeletion)
async def test_deleting_a_missing_object_raises(store: VersionedDeletion) -> None:
    with pytest.raises(NoSuchObjectError):
        await store.delete_version("missing", "1")


# Retention (write-once, extension only)


@pytest.mark.req("A-13")
@on_adapters_with(RetentionLock, VersionedDeletion)
async def test_extend_retention_cannot_shorten(store: RetentionLock, clock: Clock) -> None:
    retain_until = clock.now() + RETENTION
    await store.put("clip.mp4", b"evidence", retain_until=retain_until)

    with pytest.raises(ObjectLockedError):
        await store.extend_retention("clip.mp4", retain_until - SECOND)
    assert (await store.head("clip.mp4")).retain_until == retain_until

    later = retain_until + 365 * DAY
    await store.extend_retention("clip.mp4", later)
    assert (await store.head("clip.mp4")).retain_until == later

    await clock.advance_to(retain_until + SECOND)
    with pytest.raises(ObjectLockedError, match="retained until"):
        await delete(store, "clip.mp4")


@pytest.mark.req("A-13")
@on_adapters_with(RetentionLock, VersionedDeletion)
async def test_extend_retention_sets_a_first_retain_until(
    store: RetentionLock, clock: Clock
) -> None:
    await store.put("clip.mp4", b"evidence", retain_until=None)
    retain_until = clock.now() + DAY
    await store.extend_retention("clip.mp4", retain_until)

    assert (await store.head("clip.mp4")).retain_until == retain_until
    with pytest.raises(ObjectLockedError, match="retained until"):
        await delete(store, "clip.mp4")


@on_adapters_with(RetentionLock)
async def test_extending_the_retention_of_a_missing_object_raises(
    store: RetentionLock, clock: Clock
) -> None:
    with pytest.raises(NoSuchObjectError):
        await store.extend_retention("missing", clock.now() + DAY)


@on_adapters_with(RetentionLock)
async def test_an_extended_retain_until_must_be_timezone_aware(store: RetentionLock) -> None:
    await store.put("clip.mp4", b"evidence", retain_until=None)
    with pytest.raises(ValueError, match="timezone"):
        await store.extend_retention("clip.mp4", datetime(2031, 1, 1))  # noqa: DTZ001


# Legal hold


@pytest.mark.req("A-13")
@on_adapters_with(LegalHold, VersionedDeletion)
async def test_legal_hold_blocks_delete_after_retention_until_lifted(
    store: LegalHold, clock: Clock
) -> None:
    retain_until = clock.now() + RETENTION
    await store.put("clip.mp4", b"evidence", retain_until=retain_until)
    await store.set_legal_hold("clip.mp4", True)
    await clock.advance_to(retain_until + SECOND)

    with pytest.raises(ObjectLockedError, match="legal hold"):
        await delete(store, "clip.mp4")
    assert (await store.head("clip.mp4")).legal_hold is True

    await store.set_legal_hold("clip.mp4", False)
    assert (await store.head("clip.mp4")).legal_hold is False
    await delete(store, "clip.mp4")
    with pytest.raises(NoSuchObjectError):
        await store.head("clip.mp4")


@pytest.mark.req("A-13")
@on_adapters_with(LegalHold, VersionedDeletion)
async def test_legal_hold_blocks_delete_of_an_object_without_retention(
    store: LegalHold,
) -> None:
    await store.put("clip.mp4", b"evidence", retain_until=None)
    await store.set_legal_hold("clip.mp4", True)

    with pytest.raises(ObjectLockedError, match="legal hold"):
        await delete(store, "clip.mp4")
    assert await read_all(store, "clip.mp4") == b"evidence"


@on_adapters_with(LegalHold)
async def test_head_reports_a_legal_hold(store: LegalHold) -> None:
    await store.put("cases/7/photo.jpg", random_bytes(1000, seed=1), retain_until=None)

    await store.set_legal_hold("cases/7/photo.jpg", True)
    assert (await store.head("cases/7/photo.jpg")).legal_hold is True


@on_adapters_with(LegalHold)
async def test_holding_a_missing_object_raises(store: LegalHold) -> None:
    with pytest.raises(NoSuchObjectError):
        await store.set_legal_hold("missing", True)


# Multipart uploads


@pytest.mark.req("A-13")
@on_adapters_with(MultipartUploads)
async def test_create_multipart_refuses_an_existing_key(store: MultipartUploads) -> None:
    await store.put("clip.mp4", b"original", retain_until=None)

    with pytest.raises(ObjectExistsError):
        await store.create_multipart("clip.mp4", retain_until=None)


@pytest.mark.req("A-13")
@pytest.mark.req("E-11")
@on_adapters_with(MultipartUploads)
async def test_complete_multipart_refuses_a_key_written_meanwhile(
    store: MultipartUploads,
) -> None:
    upload_id = await store.create_multipart("clip.mp4", retain_until=None)
    part = await store.upload_part("clip.mp4", upload_id, 1, b"from the upload")
    await store.put("clip.mp4", b"written first", retain_until=None)

    with pytest.raises(ObjectExistsError):
        await store.complete_multipart("clip.mp4", upload_id, [part])

    assert await read_all(store, "clip.mp4") == b"written first"


@pytest.mark.req("E-11")
@pytest.mark.req("A-13")
@on_adapters_with(MultipartUploads, VersionedDeletion)
async def test_multipart_is_assembled_byte_exact(store: MultipartUploads, clock: Clock) -> None:
    chunks = [random_bytes(5 * MIB, seed=n) for n in (10, 11, 12)] + [random_bytes(777, seed=13)]
    original = b"".join(chunks)
    retain_until = clock.now() + 100 * DAY
    upload_id = await store.create_multipart("cases/9/bodycam.mp4", retain_until=retain_until)

    uploaded = {
        number: await store.upload_part(
            "cases/9/bodycam.mp4", upload_id, number, chunks[number - 1]
        )
        for number in (3, 1, 4, 2)
    }
    parts = [uploaded[number] for number in (1, 2, 3, 4)]
    assert await store.list_parts("cases/9/bodycam.mp4", upload_id) == parts
    assert [part.size for part in parts] == [5 * MIB, 5 * MIB, 5 * MIB, 777]
    assert [part.etag for part in parts] == [md5(c).hex() for c in chunks]

    info = await store.complete_multipart("cases/9/bodycam.mp4", upload_id, parts)

    stored = hashlib.sha256()
    async for chunk in store.read("cases/9/bodycam.mp4"):
        stored.update(chunk)
    assert stored.hexdigest() == hashlib.sha256(original).hexdigest()
    expected_etag = md5(b"".join(md5(c) for c in chunks)).hex()
    assert info.etag == f"{expected_etag}-4"
    assert info.size == len(original)
    assert info.retain_until == retain_until
    assert await store.head("cases/9/bodycam.mp4") == info
    with pytest.raises(ObjectLockedError):
        await delete(store, "cases/9/bodycam.mp4")
    with pytest.raises(NoSuchUploadError):
        await store.list_parts("cases/9/bodycam.mp4", upload_id)


@pytest.mark.req("E-11")
@on_adapters_with(MultipartUploads)
async def test_reuploaded_part_replaces_the_old_one(store: MultipartUploads) -> None:
    first, second, tail = (random_bytes(5 * MIB, seed=20), random_bytes(5 * MIB, seed=21), b"end")
    upload_id = await store.create_multipart("clip.mp4", retain_until=None)
    stale = await store.upload_part("clip.mp4", upload_id, 1, first)
    fresh = await store.upload_part("clip.mp4", upload_id, 1, second)
    last = await store.upload_part("clip.mp4", upload_id, 2, tail)

    assert await store.list_parts("clip.mp4", upload_id) == [fresh, last]
    with pytest.raises(InvalidPartError):
        await store.complete_multipart("clip.mp4", upload_id, [stale, last])

    await store.complete_multipart("clip.mp4", upload_id, [fresh, last])
    assert await read_all(store, "clip.mp4") == second + tail


@pytest.mark.req("E-11")
@on_adapters_with(MultipartUploads)
async def test_complete_rejects_a_part_list_that_does_not_match(store: MultipartUploads) -> None:
    one, two = random_bytes(5 * MIB, seed=30), b"tail"
    upload_id = await store.create_multipart("clip.mp4", retain_until=None)
    part1 = await store.upload_part("clip.mp4", upload_id, 1, one)
    part2 = await store.upload_part("clip.mp4", upload_id, 2, two)
    wrong_etag = PartInfo(part_number=2, etag=md5(b"other").hex(), size=len(two))
    missing = PartInfo(part_number=3, etag=part2.etag, size=part2.size)

    for bad in ([part1, wrong_etag], [part1, part2, missing], [part2, part1], [part1, part1], []):
        with pytest.raises(InvalidPartError):
            await store.complete_multipart("clip.mp4", upload_id, bad)
        with pytest.raises(NoSuchObjectError):
            await store.head("clip.mp4")

    await store.complete_multipart("clip.mp4", upload_id, [part1, part2])
    assert await read_all(store, "clip.mp4") == one + two


@on_adapters_with(MultipartUploads)
async def test_abort_removes_the_upload(store: MultipartUploads) -> None:
    upload_id = await store.create_multipart("clip.mp4", retain_until=None)
    part = await store.upload_part("clip.mp4", upload_id, 1, b"data")

    await store.abort_multipart("clip.mp4", upload_id)

    with pytest.raises(NoSuchUploadError):
        await store.upload_part("clip.mp4", upload_id, 2, b"more")
    with pytest.raises(NoSuchUploadError):
        await store.list_parts("clip.mp4", upload_id)
    with pytest.raises(NoSuchUploadError):
        await store.complete_multipart("clip.mp4", upload_id, [part])
    with pytest.raises(NoSuchUploadError):
        await store.abort_multipart("clip.mp4", upload_id)
    with pytest.raises(NoSuchObjectError):
        await store.head("clip.mp4")


@on_adapters_with(MultipartUploads)
async def test_unknown_uploads_are_refused(store: MultipartUploads) -> None:
    upload_id = await store.create_multipart("clip.mp4", retain_until=None)

    with pytest.raises(NoSuchUploadError):
        await store.upload_part("clip.mp4", "0" * 32, 1, b"data")
    with pytest.raises(NoSuchUploadError):
        await store.upload_part("clip.mp4", "../../objects", 1, b"data")
    with pytest.raises(NoSuchUploadError):
        await store.upload_part("other.mp4", upload_id, 1, b"data")


@pytest.mark.parametrize("part_number", [0, -1, 10_001])
@on_adapters_with(MultipartUploads)
async def test_part_numbers_outside_1_to_10000_are_rejected(
    store: MultipartUploads, part_number: int
) -> None:
    upload_id = await store.create_multipart("clip.mp4", retain_until=None)

    with pytest.raises(ValueError, match="part number"):
        await store.upload_part("clip.mp4", upload_id, part_number, b"data")


# Appended uploads


@pytest.mark.req("A-13")
@on_adapters_with(AppendUploads)
async def test_begin_append_refuses_an_existing_key(store: AppendUploads) -> None:
    await store.put(KEY, b"original", retain_until=None)

    with pytest.raises(ObjectExistsError):
        await store.begin_append(KEY, retain_until=None)


@on_adapters_with(AppendUploads)
async def test_appends_at_successive_offsets_become_a_byte_exact_object(
    store: AppendUploads,
) -> None:
    data = random_bytes(3 * 1024 * 1024 + 12345, seed=1)
    upload_id = await store.begin_append(KEY, retain_until=None)
    cuts = [0, 1, 700_000, 1_500_000, 1_500_001, len(data)]

    for start, end in pairwise(cuts):
        piece = data[start:end]
        # A request at each offset, written in several uneven batches (one chunk empty).
        appender = store.open_append(KEY, upload_id, start)
        try:
            half = len(piece) // 2
            appender.write([piece[:half], b""])
            appender.write([piece[half : half + 1000], piece[half + 1000 :]])
        finally:
            appender.close()
    # More chunks in one write than one writev takes.
    tail = random_bytes(3000, seed=2)
    append(store, upload_id, len(data), *[tail[i : i + 2] for i in range(0, len(tail), 2)])
    data += tail

    info = await store.complete_append(KEY, upload_id, len(data), sha256(data))

    assert (info.key, info.size, info.etag) == (KEY, len(data), sha256(data))
    head = await store.head(KEY)
    assert (head.size, head.etag) == (len(data), sha256(data))
    assert await read_all(store, KEY) == data
    assert await read_all(store, KEY, 1_499_990, 1_500_010) == data[1_499_990:1_500_011]


@on_adapters_with(AppendUploads)
async def test_reopening_at_zero_starts_the_file_over(store: AppendUploads) -> None:
    upload_id = await store.begin_append(KEY, retain_until=None)
    append(store, upload_id, 0, b"a first attempt that was never acknowledged")

    end = append(store, upload_id, 0, b"again")

    await store.complete_append(KEY, upload_id, end, sha256(b"again"))
    assert await read_all(store, KEY) == b"again"


@pytest.mark.parametrize("claimed", [999, 1001])
@on_adapters_with(AppendUploads)
async def test_completing_with_another_size_is_staging_lost_and_stores_nothing(
    store: AppendUploads, claimed: int
) -> None:
    data = random_bytes(1000, seed=4)
    upload_id = await store.begin_append(KEY, retain_until=None)
    append(store, upload_id, 0, data)

    with pytest.raises(StagingLostError):
        await store.complete_append(KEY, upload_id, claimed, sha256(data))

    with pytest.raises(NoSuchObjectError):
        await store.head(KEY)
    await store.abort_append(KEY, upload_id)  # the upload is still there to be dropped


@pytest.mark.req("A-13")
@on_adapters_with(AppendUploads)
async def test_complete_append_refuses_a_key_written_meanwhile(store: AppendUploads) -> None:
    upload_id = await store.begin_append(KEY, retain_until=None)
    append(store, upload_id, 0, b"from the upload")
    first = await store.put(KEY, b"written first", retain_until=None)

    with pytest.raises(ObjectExistsError):
        await store.complete_append(KEY, upload_id, 15, sha256(b"from the upload"))

    assert await read_all(store, KEY) == b"written first"
    assert await store.head(KEY) == first


@on_adapters_with(AppendUploads)
async def test_abort_append_removes_the_upload(store: AppendUploads) -> None:
    upload_id = await store.begin_append(KEY, retain_until=None)
    append(store, upload_id, 0, b"data")

    await store.abort_append(KEY, upload_id)

    with pytest.raises(NoSuchUploadError):
        store.open_append(KEY, upload_id, 4)
    with pytest.raises(NoSuchUploadError):
        await store.complete_append(KEY, upload_id, 4, sha256(b"data"))
    with pytest.raises(NoSuchUploadError):
        await store.abort_append(KEY, upload_id)
    with pytest.raises(NoSuchObjectError):
        await store.head(KEY)


# MinIO only: the bucket, and refusals that come from MinIO itself rather than from the adapter


@pytest.mark.req("A-13")
async def test_minio_creates_a_locked_bucket_with_default_compliance_retention(
    minio_server: MinioServer, minio_client: Minio
) -> None:
    settings = minio_settings(minio_server, new_bucket_name())
    bucket = settings.minio.bucket
    store = MinioObjectStore(settings)
    try:
        assert not minio_client.bucket_exists(bucket)

        assert await store.ping() is True

        config = minio_client.get_object_lock_config(bucket)
        assert (config.mode, config.duration, config.duration_unit) == (
            COMPLIANCE,
            settings.default_retention_days,
            DAYS,
        )
        before = datetime.now(UTC)
        await store.put("clip.mp4", b"evidence", retain_until=None)
        retain_until = (await store.head("clip.mp4")).retain_until
        retention = timedelta(days=settings.default_retention_days)
        assert retain_until is not None
        assert before + retention - SECOND <= retain_until <= datetime.now(UTC) + retention
        with pytest.raises(ObjectLockedError, match="retained until"):
            await delete(store, "clip.mp4")
    finally:
        store.close()


@pytest.mark.req("A-13")
async def test_minio_refuses_a_bucket_without_object_lock(
    minio_server: MinioServer, minio_client: Minio
) -> None:
    settings = minio_settings(minio_server, new_bucket_name())
    minio_client.make_bucket(settings.minio.bucket)
    store = MinioObjectStore(settings)
    try:
        with pytest.raises(ObjectStoreError, match="no Object Lock"):
            await store.ensure_bucket()
        assert await store.ping() is False
        with pytest.raises(ObjectStoreError, match="no Object Lock"):
            await store.put("clip.mp4", b"evidence", retain_until=None)
    finally:
        store.close()


@pytest.mark.req("A-13")
async def test_minio_itself_refuses_to_delete_or_overwrite_a_retained_version(
    minio_server: MinioServer, minio_client: Minio
) -> None:
    settings = minio_settings(minio_server, new_bucket_name())
    bucket = settings.minio.bucket
    store = MinioObjectStore(settings)
    try:
        await store.put("clip.mp4", b"evidence", retain_until=datetime.now(UTC) + DAY)
    finally:
        store.close()
    version_id = minio_client.stat_object(bucket, "clip.mp4").version_id
    assert version_id is not None

    with pytest.raises(S3Error) as deleting:
        minio_client.remove_object(bucket, "clip.mp4", version_id=version_id)
    tampered = b"tampered"
    checksum = base64.b64encode(md5(tampered)).decode()
    with pytest.raises(S3Error) as overwriting:
        minio_client._put_object(
            bucket,
            "clip.mp4",
            tampered,
            {"Content-MD5": checksum},
            query_params={"versionId": version_id},
        )
    for refusal in (deleting.value, overwriting.value):
        assert refusal.code == "InvalidRequest"
        assert refusal.message == "Object is WORM protected and cannot be overwritten"

    # A plain PUT (the adapter sends If-None-Match: *) only stacks a version on top of the original.
    minio_client.put_object(bucket, "clip.mp4", io.BytesIO(tampered), len(tampered))
    response = minio_client.get_object(bucket, "clip.mp4", version_id=version_id)
    try:
        assert response.read() == b"evidence"
    finally:
        response.close()
        response.release_conn()


@pytest.fixture
def defaulted_store(
    adapter: str, request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> Iterator[ObjectStore]:
    """A store whose default retention (3 years and a day) applies when a write names none."""
    days = 3 * 366
    if adapter == "local":
        yield LocalObjectStore(
            tmp_path / "store", default_retention=timedelta(days=days), clock=clock.now
        )
        return
    server: MinioServer = request.getfixturevalue("minio_server")
    settings = minio_settings(server, new_bucket_name())
    minio = MinioObjectStore(settings.model_copy(update={"default_retention_days": days}))
    yield minio
    minio.close()


@pytest.mark.req("B-8")
@pytest.mark.req("A-13")
@on_adapters_with(VersionedDeletion)
async def test_the_default_retention_applies_when_a_write_names_none(
    defaulted_store: ObjectStore, clock: Clock
) -> None:
    before = clock.now()
    await defaulted_store.put("av/clip.mp4", b"recording", retain_until=None)

    info = await defaulted_store.head("av/clip.mp4")

    assert info.retain_until is not None
    assert info.retain_until >= before + timedelta(days=3 * 366) - timedelta(seconds=5)
    with pytest.raises(ObjectLockedError, match="retained until"):
        await delete(defaulted_store, "av/clip.mp4")


@pytest.mark.req("E-10")
async def test_each_section_keeps_its_objects_under_its_own_prefix(store: ObjectStore) -> None:
    ours, theirs = section_key("JC1", "2026", "clip.mp4"), section_key("JD2", "2026", "clip.mp4")
    await store.put(ours, b"section JC1", retain_until=None)
    await store.put(theirs, b"section JD2", retain_until=None)

    assert ours == "sections/JC1/2026/clip.mp4"
    assert await read_all(store, ours) == b"section JC1"
    assert await read_all(store, theirs) == b"section JD2"


@pytest.mark.parametrize("section", ["", "../JC1", "JC1/x", "科室", "a" * 33])
def test_a_section_code_that_would_leave_its_prefix_is_refused(section: str) -> None:
    with pytest.raises(ValueError, match="section code"):
        section_key(section, "clip.mp4")


@on_adapters_with(MultipartUploads, VersionedDeletion)
async def test_a_multipart_upload_naming_its_retain_until_is_not_held_to_the_default(
    defaulted_store: MultipartUploads, clock: Clock
) -> None:
    # How ingest stores the partial uploads of tus concatenation: kept only briefly.
    retain_until = clock.now() + RETENTION
    upload_id = await defaulted_store.create_multipart("partials/p1", retain_until=retain_until)
    part = await defaulted_store.upload_part("partials/p1", upload_id, 1, b"a partial upload")
    await defaulted_store.complete_multipart("partials/p1", upload_id, [part])

    info = await defaulted_store.head("partials/p1")
    assert info.retain_until is not None
    assert abs(info.retain_until - retain_until) < SECOND
    with pytest.raises(ObjectLockedError, match="retained until"):
        await delete(defaulted_store, "partials/p1")
    await clock.advance_to(retain_until + SECOND)
    await delete(defaulted_store, "partials/p1")
    with pytest.raises(NoSuchObjectError):
        await defaulted_store.head("partials/p1")


@on_adapters_with(AppendUploads, VersionedDeletion)
async def test_an_appended_upload_naming_its_retain_until_is_not_held_to_the_default(
    defaulted_store: AppendUploads, clock: Clock
) -> None:
    retain_until = clock.now() + RETENTION
    upload_id = await defaulted_store.begin_append(KEY, retain_until=retain_until)
    append(defaulted_store, upload_id, 0, b"a partial upload")
    await defaulted_store.complete_append(KEY, upload_id, 16, sha256(b"a partial upload"))

    info = await defaulted_store.head(KEY)
    assert info.retain_until is not None
    assert abs(info.retain_until - retain_until) < SECOND
    await clock.advance_to(retain_until + SECOND)
    await delete(defaulted_store, KEY)


# The local store only: its appended upload's staging file, which becomes the write-once original
# without being copied, and which notices bytes a power failure took.

only_local = pytest.mark.parametrize("adapter", ["local"], indirect=True)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The local store's directory."""
    return tmp_path / "store"


def staging_data(root: Path, upload_id: str) -> Path:
    return root / "multipart" / upload_id / "data"


@only_local
def test_the_local_store_is_appendable(store: LocalObjectStore) -> None:
    assert isinstance(store, AppendUploads)


@only_local
async def test_bytes_beyond_the_offset_are_dropped_when_reopened_there(
    store: LocalObjectStore, root: Path
) -> None:
    upload_id = await store.begin_append(KEY, retain_until=None)
    acknowledged = append(store, upload_id, 0, b"acknowledged;")
    # A request that died before its bytes were acknowledged left them in the staging file.
    append(store, upload_id, acknowledged, b"never acknowledged, longer than what replaces it")

    end = append(store, upload_id, acknowledged, b"resent")

    assert staging_data(root, upload_id).read_bytes() == b"acknowledged;resent"
    info = await store.complete_append(KEY, upload_id, end, sha256(b"acknowledged;resent"))
    assert info.size == len(b"acknowledged;resent")
    assert await read_all(store, KEY) == b"acknowledged;resent"


@only_local
async def test_reopening_beyond_the_staged_bytes_is_staging_lost(
    store: LocalObjectStore, root: Path
) -> None:
    upload_id = await store.begin_append(KEY, retain_until=None)
    with pytest.raises(StagingLostError):
        store.open_append(KEY, upload_id, 10)  # nothing was ever staged
    acknowledged = append(store, upload_id, 0, random_bytes(1000, seed=3))

    with pytest.raises(StagingLostError):
        store.open_append(KEY, upload_id, acknowledged + 1)
    # A power failure took the last bytes the operating system had not written to disk.
    os.truncate(staging_data(root, upload_id), 600)
    with pytest.raises(StagingLostError):
        store.open_append(KEY, upload_id, acknowledged)
    # ... or the whole file, whose creation had not reached the disk either.
    staging_data(root, upload_id).unlink()
    with pytest.raises(StagingLostError):
        store.open_append(KEY, upload_id, acknowledged)


@only_local
async def test_completing_when_the_staged_file_is_gone_is_staging_lost(
    store: LocalObjectStore, root: Path
) -> None:
    upload_id = await store.begin_append(KEY, retain_until=None)
    append(store, upload_id, 0, b"acknowledged, then lost in a power failure")
    staging_data(root, upload_id).unlink()

    with pytest.raises(StagingLostError):
        await store.complete_append(KEY, upload_id, 42, sha256(b"whatever"))

    with pytest.raises(NoSuchObjectError):
        await store.head(KEY)


@pytest.mark.req("A-13")
@only_local
async def test_a_completed_append_is_a_read_only_original_that_cannot_be_completed_again(
    store: LocalObjectStore, root: Path
) -> None:
    data = random_bytes(5000, seed=5)
    upload_id = await store.begin_append(KEY, retain_until=None)
    append(store, upload_id, 0, data)
    staged_inode = staging_data(root, upload_id).stat().st_ino

    await store.complete_append(KEY, upload_id, len(data), sha256(data))

    original = root / "objects" / KEY
    assert stat.S_IMODE(original.stat().st_mode) == 0o444
    assert original.stat().st_ino == staged_inode  # linked into place, not copied
    assert original.stat().st_nlink == 1  # and the staging name is gone
    assert not (root / "multipart" / upload_id).exists()
    with pytest.raises(NoSuchUploadError):
        await store.complete_append(KEY, upload_id, len(data), sha256(data))
    with pytest.raises(NoSuchUploadError):
        store.open_append(KEY, upload_id, len(data))
    with pytest.raises(ObjectExistsError):
        await store.put(KEY, b"tampered", retain_until=None)
    with pytest.raises(ObjectExistsError):
        await store.create_multipart(KEY, retain_until=None)
    with pytest.raises(ObjectExistsError):
        await store.begin_append(KEY, retain_until=None)
    assert await read_all(store, KEY) == data
    assert (await store.head(KEY)).etag == sha256(data)


@only_local
async def test_complete_append_finishes_a_call_that_died_after_linking(
    store: LocalObjectStore, root: Path
) -> None:
    data = random_bytes(4000, seed=6)
    upload_id = await store.begin_append(KEY, retain_until=None)
    append(store, upload_id, 0, data)
    # What an earlier complete_append did before it died: read-only, the key's directories,
    # then the link.
    staged = staging_data(root, upload_id)
    staged.chmod(0o444)
    (root / "objects" / KEY).parent.mkdir(parents=True)
    (root / "meta" / KEY).parent.mkdir(parents=True)
    os.link(staged, root / "objects" / KEY)
    with pytest.raises(NoSuchObjectError):  # no sidecar yet: not an object
        await store.head(KEY)

    info = await store.complete_append(KEY, upload_id, len(data), sha256(data))

    assert (info.size, info.etag) == (len(data), sha256(data))
    assert await store.head(KEY) == info
    assert await read_all(store, KEY) == data
    assert not (root / "multipart" / upload_id).exists()


@only_local
async def test_complete_append_finishes_a_call_that_died_before_removing_staging(
    store: LocalObjectStore, root: Path, tmp_path: Path
) -> None:
    data = random_bytes(4000, seed=7)
    upload_id = await store.begin_append(KEY, retain_until=None)
    append(store, upload_id, 0, data)
    saved = tmp_path / "saved"
    shutil.copytree(root / "multipart" / upload_id, saved, copy_function=os.link)
    first = await store.complete_append(KEY, upload_id, len(data), sha256(data))
    # Put the staging directory back, as if the call had died before removing it.
    shutil.copytree(saved, root / "multipart" / upload_id, copy_function=os.link)

    again = await store.complete_append(KEY, upload_id, len(data), sha256(data))

    assert again == first  # the original as recorded, not described anew
    assert await read_all(store, KEY) == data
    assert not (root / "multipart" / upload_id).exists()
    assert json.loads((root / "meta" / f"{KEY}.json").read_bytes())["size"] == len(data)


@pytest.mark.parametrize("opened", [False, True], ids=["never-opened", "opened-empty"])
@only_local
async def test_an_empty_upload_becomes_an_empty_read_only_object(
    store: LocalObjectStore, root: Path, opened: bool
) -> None:
    upload_id = await store.begin_append(KEY, retain_until=None)
    if opened:
        append(store, upload_id, 0)

    info = await store.complete_append(KEY, upload_id, 0, sha256(b""))

    assert (info.size, info.etag) == (0, sha256(b""))
    assert (await store.head(KEY)).size == 0
    assert await read_all(store, KEY) == b""
    assert stat.S_IMODE((root / "objects" / KEY).stat().st_mode) == 0o444
    assert not (root / "multipart" / upload_id).exists()
