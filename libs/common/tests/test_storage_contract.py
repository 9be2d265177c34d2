"""The object-store contract, run against every adapter (A-13 write-once, E-11 exact bytes).

The local adapter runs on a clock the tests move. MinIO keeps its own time, so for it the clock is
the real one and moving it means waiting: tests that wait a retention out retain for seconds.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    InvalidPartError,
    InvalidRangeError,
    LocalObjectStore,
    NoSuchObjectError,
    NoSuchUploadError,
    ObjectExistsError,
    ObjectLockedError,
    ObjectStore,
    ObjectStoreError,
    PartInfo,
    section_key,
)
from quancheng.common.storage.minio import MinioObjectStore
from quancheng.common.testing.minio import MinioServer

MIB = 1024 * 1024
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
# Long enough to try a delete before it runs out, short enough to wait out against MinIO.
RETENTION = 2 * SECOND


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


@pytest.fixture(params=["local", "minio"])
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


@pytest.mark.req("A-13")
async def test_create_multipart_refuses_an_existing_key(store: ObjectStore) -> None:
    await store.put("clip.mp4", b"original", retain_until=None)

    with pytest.raises(ObjectExistsError):
        await store.create_multipart("clip.mp4", retain_until=None)


@pytest.mark.req("A-13")
@pytest.mark.req("E-11")
async def test_complete_multipart_refuses_a_key_written_meanwhile(store: ObjectStore) -> None:
    upload_id = await store.create_multipart("clip.mp4", retain_until=None)
    part = await store.upload_part("clip.mp4", upload_id, 1, b"from the upload")
    await store.put("clip.mp4", b"written first", retain_until=None)

    with pytest.raises(ObjectExistsError):
        await store.complete_multipart("clip.mp4", upload_id, [part])

    assert await read_all(store, "clip.mp4") == b"written first"


# Retention and legal hold


@pytest.mark.req("A-13")
async def test_delete_is_refused_before_retain_until_and_allowed_after(
    store: ObjectStore, clock: Clock
) -> None:
    retain_until = clock.now() + RETENTION
    await store.put("clip.mp4", b"evidence", retain_until=retain_until)

    with pytest.raises(ObjectLockedError, match="retained until"):
        await store.delete("clip.mp4")
    await clock.advance_to(retain_until - SECOND)
    with pytest.raises(ObjectLockedError, match="retained until"):
        await store.delete("clip.mp4")
    assert await read_all(store, "clip.mp4") == b"evidence"

    await clock.advance_to(retain_until + SECOND)
    await store.delete("clip.mp4")

    with pytest.raises(NoSuchObjectError):
        await store.head("clip.mp4")
    with pytest.raises(NoSuchObjectError):
        await read_all(store, "clip.mp4")


@pytest.mark.req("A-13")
async def test_legal_hold_blocks_delete_after_retention_until_lifted(
    store: ObjectStore, clock: Clock
) -> None:
    retain_until = clock.now() + RETENTION
    await store.put("clip.mp4", b"evidence", retain_until=retain_until)
    await store.set_legal_hold("clip.mp4", True)
    await clock.advance_to(retain_until + SECOND)

    with pytest.raises(ObjectLockedError, match="legal hold"):
        await store.delete("clip.mp4")
    assert (await store.head("clip.mp4")).legal_hold is True

    await store.set_legal_hold("clip.mp4", False)
    assert (await store.head("clip.mp4")).legal_hold is False
    await store.delete("clip.mp4")
    with pytest.raises(NoSuchObjectError):
        await store.head("clip.mp4")


@pytest.mark.req("A-13")
async def test_legal_hold_blocks_delete_of_an_object_without_retention(
    store: ObjectStore,
) -> None:
    await store.put("clip.mp4", b"evidence", retain_until=None)
    await store.set_legal_hold("clip.mp4", True)

    with pytest.raises(ObjectLockedError, match="legal hold"):
        await store.delete("clip.mp4")
    assert await read_all(store, "clip.mp4") == b"evidence"


@pytest.mark.req("A-13")
async def test_extend_retention_cannot_shorten(store: ObjectStore, clock: Clock) -> None:
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
        await store.delete("clip.mp4")


@pytest.mark.req("A-13")
async def test_extend_retention_sets_a_first_retain_until(store: ObjectStore, clock: Clock) -> None:
    await store.put("clip.mp4", b"evidence", retain_until=None)
    retain_until = clock.now() + DAY
    await store.extend_retention("clip.mp4", retain_until)

    assert (await store.head("clip.mp4")).retain_until == retain_until
    with pytest.raises(ObjectLockedError, match="retained until"):
        await store.delete("clip.mp4")


async def test_object_without_retention_or_hold_can_be_deleted(store: ObjectStore) -> None:
    await store.put("clip.mp4", b"scratch", retain_until=None)
    await store.delete("clip.mp4")

    with pytest.raises(NoSuchObjectError):
        await store.head("clip.mp4")


async def test_retain_until_must_be_timezone_aware(store: ObjectStore) -> None:
    naive = datetime(2031, 1, 1)  # noqa: DTZ001 — the point of the test
    with pytest.raises(ValueError, match="timezone"):
        await store.put("clip.mp4", b"x", retain_until=naive)
    with pytest.raises(ValueError, match="timezone"):
        await store.create_multipart("clip.mp4", retain_until=naive)


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

    await store.set_legal_hold("cases/7/photo.jpg", True)
    assert (await store.head("cases/7/photo.jpg")).legal_hold is True


async def test_operations_on_a_missing_object_raise(store: ObjectStore, clock: Clock) -> None:
    with pytest.raises(NoSuchObjectError):
        await store.head("missing")
    with pytest.raises(NoSuchObjectError):
        await read_all(store, "missing")
    with pytest.raises(NoSuchObjectError):
        await store.delete("missing")
    with pytest.raises(NoSuchObjectError):
        await store.set_legal_hold("missing", True)
    with pytest.raises(NoSuchObjectError):
        await store.extend_retention("missing", clock.now() + DAY)


async def test_keys_may_be_nested_and_non_ascii(store: ObjectStore) -> None:
    await store.put("案件/2030/视频 1.mp4", b"a", retain_until=None)
    await store.put("案件/2030/视频 2.mp4", b"b", retain_until=None)

    assert await read_all(store, "案件/2030/视频 1.mp4") == b"a"
    assert await read_all(store, "案件/2030/视频 2.mp4") == b"b"


@pytest.mark.parametrize("key", ["", "/etc/passwd", "..", "a/../b", "a/..", "a\\b", "a\x00b"])
async def test_invalid_keys_are_rejected(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        await store.put(key, b"x", retain_until=None)
    with pytest.raises(ValueError, match="key"):
        await store.create_multipart(key, retain_until=None)
    with pytest.raises(ValueError, match="key"):
        await store.head(key)
    with pytest.raises(ValueError, match="key"):
        await read_all(store, key)
    with pytest.raises(ValueError, match="key"):
        await store.delete(key)


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


# Multipart


@pytest.mark.req("E-11")
@pytest.mark.req("A-13")
async def test_multipart_is_assembled_byte_exact(store: ObjectStore, clock: Clock) -> None:
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
        await store.delete("cases/9/bodycam.mp4")
    with pytest.raises(NoSuchUploadError):
        await store.list_parts("cases/9/bodycam.mp4", upload_id)


@pytest.mark.req("E-11")
async def test_reuploaded_part_replaces_the_old_one(store: ObjectStore) -> None:
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
async def test_complete_rejects_a_part_list_that_does_not_match(store: ObjectStore) -> None:
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


async def test_abort_removes_the_upload(store: ObjectStore) -> None:
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


async def test_unknown_uploads_are_refused(store: ObjectStore) -> None:
    upload_id = await store.create_multipart("clip.mp4", retain_until=None)

    with pytest.raises(NoSuchUploadError):
        await store.upload_part("clip.mp4", "0" * 32, 1, b"data")
    with pytest.raises(NoSuchUploadError):
        await store.upload_part("clip.mp4", "../../objects", 1, b"data")
    with pytest.raises(NoSuchUploadError):
        await store.upload_part("other.mp4", upload_id, 1, b"data")


@pytest.mark.parametrize("part_number", [0, -1, 10_001])
async def test_part_numbers_outside_1_to_10000_are_rejected(
    store: ObjectStore, part_number: int
) -> None:
    upload_id = await store.create_multipart("clip.mp4", retain_until=None)

    with pytest.raises(ValueError, match="part number"):
        await store.upload_part("clip.mp4", upload_id, part_number, b"data")


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
            await store.delete("clip.mp4")
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
async def test_the_default_retention_applies_when_a_write_names_none(
    defaulted_store: ObjectStore, clock: Clock
) -> None:
    before = clock.now()
    await defaulted_store.put("av/clip.mp4", b"recording", retain_until=None)

    info = await defaulted_store.head("av/clip.mp4")

    assert info.retain_until is not None
    assert info.retain_until >= before + timedelta(days=3 * 366) - timedelta(seconds=5)
    with pytest.raises(ObjectLockedError, match="retained until"):
        await defaulted_store.delete("av/clip.mp4")


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


async def test_a_multipart_upload_naming_its_retain_until_is_not_held_to_the_default(
    defaulted_store: ObjectStore, clock: Clock
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
        await defaulted_store.delete("partials/p1")
    await clock.advance_to(retain_until + SECOND)
    await defaulted_store.delete("partials/p1")
    with pytest.raises(NoSuchObjectError):
        await defaulted_store.head("partials/p1")
