"""The MinIO adapter: the ``ObjectStore`` contract over an S3 bucket with Object Lock.

Write-once and retention are enforced by MinIO, not here:

* The bucket has Object Lock, hence versioning. :meth:`MinioObjectStore.ensure_bucket` creates it
  with a default COMPLIANCE retention of ``default_retention_days`` days, or checks that an
  existing bucket has Object Lock (its default retention is left as it is). It runs lazily, once,
  before the first operation; :meth:`MinioObjectStore.ping` runs it too.
* Objects are written with ``If-None-Match: *`` (PutObject, CompleteMultipartUpload), so a key that
  exists is never given a second version.
* ``retain_until`` becomes the object's COMPLIANCE retain-until date, rounded up to whole
  milliseconds (MinIO's precision); MinIO refuses to shorten it or to delete the object before it.
  ``retain_until=None`` leaves the bucket's default retention, if any, in force.
* An object's ``version`` is its MinIO version id. ``delete_version`` removes that version: a plain
  DeleteObject would only add a delete marker.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import TypeVar
from xml.etree import ElementTree

import urllib3
from anyio import to_thread
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.datatypes import CompleteMultipartUploadResult
from minio.error import MinioException, S3Error
from minio.helpers import DictType
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.retention import Retention

from quancheng.common.settings import ObjectStoreSettings
from quancheng.common.storage.base import (
    InvalidPartError,
    InvalidRangeError,
    LegalHold,
    MultipartUploads,
    NoSuchObjectError,
    NoSuchUploadError,
    ObjectExistsError,
    ObjectInfo,
    ObjectLockedError,
    ObjectStoreError,
    PartInfo,
    RetentionLock,
    StoreUnavailableError,
    VersionedDeletion,
    check_aware,
    check_key,
    check_part_number,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

CHUNK_SIZE = 1024 * 1024

_ERRORS: dict[str, type[ObjectStoreError]] = {
    "NoSuchKey": NoSuchObjectError,
    "NoSuchVersion": NoSuchObjectError,
    "NoSuchUpload": NoSuchUploadError,
    # Keys are checked before any request, so only an upload id can be a bad resource name.
    "XMinioInvalidResourceName": NoSuchUploadError,
    "InvalidPart": InvalidPartError,
    "InvalidPartOrder": InvalidPartError,
    "EntityTooSmall": InvalidPartError,
    # The only precondition ever sent is If-None-Match: *.
    "PreconditionFailed": ObjectExistsError,
    "InvalidRange": InvalidRangeError,
}


class MinioObjectStore(MultipartUploads, RetentionLock, LegalHold, VersionedDeletion):
    """The ``ObjectStore`` contract over a MinIO bucket with Object Lock, uploading in parts.
    Does no I/O when built."""

    def __init__(self, settings: ObjectStoreSettings) -> None:
        minio = settings.minio
        self._bucket = minio.bucket
        self._region = minio.region
        self._default_retention_days = settings.default_retention_days
        # Retried only where the request can't have been carried out: a conditional write that
        # failed after MinIO committed it would otherwise come back as "already written".
        retries = urllib3.Retry(
            total=3, connect=3, read=0, status=3, backoff_factor=0.2, status_forcelist=[503]
        )
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=10, read=300), maxsize=10, retries=retries
        )
        self._client = Minio(
            minio.endpoint,
            access_key=minio.access_key or None,
            secret_key=minio.secret_key.get_secret_value(),
            secure=minio.secure,
            region=minio.region,
            http_client=self._http,
        )
        self._bucket_lock = threading.Lock()
        self._bucket_ready = False

    def close(self) -> None:
        """Close the pooled connections (the store can still be used; it reconnects)."""
        self._http.clear()

    async def ensure_bucket(self) -> None:
        """Create the bucket with Object Lock if missing; refuse one without Object Lock."""
        await to_thread.run_sync(self._ensure_bucket_once)

    async def create_multipart(self, key: str, *, retain_until: datetime | None) -> str:
        check_key(key)
        check_aware(retain_until)
        return await self._call(partial(self._create_multipart, key, retain_until))

    async def upload_part(
        self, key: str, upload_id: str, part_number: int, data: bytes
    ) -> PartInfo:
        check_key(key)
        check_part_number(part_number)
        return await self._call(partial(self._upload_part, key, upload_id, part_number, data))

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        check_key(key)
        return await self._call(partial(self._list_parts, key, upload_id))

    async def complete_multipart(
        self, key: str, upload_id: str, parts: list[PartInfo]
    ) -> ObjectInfo:
        check_key(key)
        if not parts:
            raise InvalidPartError("a multipart upload needs at least one part")
        # MinIO accepts a part listed twice; the contract does not.
        if any(a.part_number >= b.part_number for a, b in pairwise(parts)):
            raise InvalidPartError("parts must be listed in ascending part_number order")
        return await self._call(partial(self._complete_multipart, key, upload_id, parts))

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        check_key(key)
        await self._call(partial(self._abort_multipart, key, upload_id))

    async def put(self, key: str, data: bytes, *, retain_until: datetime | None) -> ObjectInfo:
        check_key(key)
        check_aware(retain_until)
        return await self._call(partial(self._put, key, data, retain_until))

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        check_key(key)
        info = await self._call(partial(self._stat, key))
        # Reading a 0-byte object from 0 is valid and yields nothing.
        if start < 0 or (end is not None and end < start) or (start > 0 and start >= info.size):
            raise InvalidRangeError(
                f"range {start}-{'' if end is None else end} is not satisfiable "
                f"for {key!r} of {info.size} bytes"
            )
        last = info.size - 1 if end is None else min(end, info.size - 1)
        if last < start:
            return
        # The version read is the one measured, even if the key is deleted and written again.
        response = await self._call(
            partial(
                self._client.get_object,
                self._bucket,
                key,
                offset=start,
                length=last - start + 1,
                version_id=info.version,
            )
        )
        try:
            remaining = last - start + 1
            while remaining > 0:
                try:
                    chunk = await to_thread.run_sync(response.read, min(CHUNK_SIZE, remaining))
                except _UNREACHABLE as exc:
                    raise _unavailable(exc) from exc
                if not chunk:
                    raise ObjectStoreError(f"{key!r} ended {remaining} bytes early")
                remaining -= len(chunk)
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def head(self, key: str) -> ObjectInfo:
        check_key(key)
        return await self._call(partial(self._stat, key))

    async def set_legal_hold(self, key: str, on: bool) -> None:
        check_key(key)
        change = (
            self._client.enable_object_legal_hold if on else self._client.disable_object_legal_hold
        )
        await self._call(partial(change, self._bucket, key))

    async def extend_retention(self, key: str, retain_until: datetime) -> None:
        check_key(key)
        check_aware(retain_until)
        await self._call(partial(self._extend_retention, key, retain_until))

    async def delete_version(self, key: str, version: str) -> None:
        check_key(key)
        await self._call(partial(self._delete_version, key, version))

    async def ping(self) -> bool:
        try:
            return await self._call(partial(self._client.bucket_exists, self._bucket))
        except (MinioException, ObjectStoreError, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("object store %s is not ready: %s", self._bucket, exc)
            return False

    # Blocking halves, run in worker threads.

    async def _call(self, func: Callable[[], T]) -> T:
        return await to_thread.run_sync(self._blocking, func)

    def _blocking(self, func: Callable[[], T]) -> T:
        try:
            self._ensure_bucket_once()
            return func()
        except S3Error as exc:
            raise _translate(exc) from exc
        except _UNREACHABLE as exc:
            raise _unavailable(exc) from exc

    def _ensure_bucket_once(self) -> None:
        with self._bucket_lock:
            if not self._bucket_ready:
                try:
                    self._ensure_bucket()
                except S3Error as exc:
                    raise _translate(exc) from exc
                self._bucket_ready = True

    def _ensure_bucket(self) -> None:
        # Asked first: S3 answers CreateBucket for one's own bucket with success in us-east-1,
        # and an existing bucket's default retention is not ours to replace.
        if not self._client.bucket_exists(self._bucket):
            try:
                self._client.make_bucket(self._bucket, location=self._region, object_lock=True)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
            else:
                default = ObjectLockConfig(COMPLIANCE, self._default_retention_days, DAYS)
                self._client.set_object_lock_config(self._bucket, default)
                return
        try:
            self._client.get_object_lock_config(self._bucket)
        except S3Error as exc:
            if exc.code != "ObjectLockConfigurationNotFoundError":
                raise
            raise ObjectStoreError(
                f"bucket {self._bucket!r} has no Object Lock, so it can't keep originals "
                "write-once; use a bucket created with Object Lock enabled"
            ) from None

    def _put(self, key: str, data: bytes, retain_until: datetime | None) -> ObjectInfo:
        headers: DictType = {
            "Content-Type": "application/octet-stream",
            "Content-MD5": _content_md5(data),
            "If-None-Match": "*",
            **_lock_headers(retain_until),
        }
        result = self._client._put_object(self._bucket, key, data, headers)
        return self._stat(key, result.version_id)

    def _create_multipart(self, key: str, retain_until: datetime | None) -> str:
        # Only a courtesy: the write-once claim is the conditional CompleteMultipartUpload.
        try:
            self._stat(key)
        except NoSuchObjectError:
            pass
        else:
            raise ObjectExistsError(f"{key!r} is already written")
        return self._client._create_multipart_upload(self._bucket, key, _lock_headers(retain_until))

    def _upload_part(self, key: str, upload_id: str, part_number: int, data: bytes) -> PartInfo:
        headers: DictType = {"Content-MD5": _content_md5(data)}
        etag = self._client._upload_part(self._bucket, key, data, headers, upload_id, part_number)
        return PartInfo(part_number=part_number, etag=etag, size=len(data))

    def _list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        parts: list[PartInfo] = []
        marker: str | None = None
        while True:
            page = self._client._list_parts(self._bucket, key, upload_id, part_number_marker=marker)
            parts.extend(
                PartInfo(part_number=p.part_number, etag=p.etag, size=p.size or 0)
                for p in page.parts
            )
            if not page.is_truncated:
                return parts
            marker = page.next_part_number_marker

    def _complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> ObjectInfo:
        # The SDK's own CompleteMultipartUpload can't send If-None-Match.
        root = ElementTree.Element("CompleteMultipartUpload")
        for part in parts:
            element = ElementTree.SubElement(root, "Part")
            ElementTree.SubElement(element, "PartNumber").text = str(part.part_number)
            ElementTree.SubElement(element, "ETag").text = f'"{part.etag}"'
        body = ElementTree.tostring(root)
        headers: DictType = {
            "Content-Type": "application/xml",
            "Content-MD5": _content_md5(body),
            "If-None-Match": "*",
        }
        response = self._client._execute(
            "POST",
            self._bucket,
            key,
            body=body,
            headers=headers,
            query_params={"uploadId": upload_id},
        )
        return self._stat(key, CompleteMultipartUploadResult(response).version_id)

    def _abort_multipart(self, key: str, upload_id: str) -> None:
        # MinIO answers success for an unknown upload id; ListParts refuses it.
        self._client._list_parts(self._bucket, key, upload_id, max_parts=1)
        self._client._abort_multipart_upload(self._bucket, key, upload_id)

    def _stat(self, key: str, version_id: str | None = None) -> ObjectInfo:
        try:
            stat = self._client.stat_object(self._bucket, key, version_id=version_id)
        except S3Error as exc:
            # A HEAD naming a malformed version id is answered with a bare 400.
            if version_id is not None and exc.code == "BadRequest":
                raise NoSuchObjectError(f"{key!r} has no version {version_id!r}") from exc
            raise _translate(exc) from exc
        headers = stat.metadata or {}
        retain_until = headers.get("x-amz-object-lock-retain-until-date")
        if (
            stat.size is None
            or stat.etag is None
            or stat.last_modified is None
            or stat.version_id is None
        ):
            raise ObjectStoreError(f"HEAD of {key!r} lacks its size, etag, date or version")
        return ObjectInfo(
            key=key,
            size=stat.size,
            etag=stat.etag,
            retain_until=None if retain_until is None else datetime.fromisoformat(retain_until),
            legal_hold=headers.get("x-amz-object-lock-legal-hold") == "ON",
            created_at=stat.last_modified,
            version=stat.version_id,
        )

    def _extend_retention(self, key: str, retain_until: datetime) -> None:
        info = self._stat(key)
        retain_until = _ceil_millis(retain_until)
        if info.retain_until is not None and retain_until < info.retain_until:
            raise ObjectLockedError(
                f"{key!r} is retained until {info.retain_until.isoformat()}; "
                f"retention can't be shortened to {retain_until.isoformat()}"
            )
        self._client.set_object_retention(
            self._bucket, key, Retention(COMPLIANCE, retain_until), version_id=info.version
        )

    def _delete_version(self, key: str, version: str) -> None:
        # The HEAD also makes a missing version an error: deleting an unknown one succeeds.
        info = self._stat(key, version)
        try:
            self._client.remove_object(self._bucket, key, version_id=version)
        except S3Error as exc:
            # MinIO refuses with InvalidRequest "…WORM protected…", S3 with AccessDenied.
            if _is_worm_refusal(exc) or exc.code == "AccessDenied":
                if info.legal_hold:
                    raise ObjectLockedError(f"{key!r} is under legal hold") from exc
                if info.retain_until is not None and info.retain_until > datetime.now(UTC):
                    raise ObjectLockedError(
                        f"{key!r} is retained until {info.retain_until.isoformat()}"
                    ) from exc
            raise


# What the SDK's HTTP client raises when MinIO is down or stops answering; urllib3's errors are
# not OSErrors, and left alone they reach the client as a 500.
_UNREACHABLE = (urllib3.exceptions.HTTPError, OSError)


def _unavailable(exc: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(f"MinIO did not answer: {exc.__class__.__name__}")


def _translate(exc: S3Error) -> ObjectStoreError:
    if _is_worm_refusal(exc):
        return ObjectLockedError(f"{exc.object_name!r} is locked: {exc.message}")
    error = _ERRORS.get(exc.code or "", ObjectStoreError)
    return error(f"{exc.code}: {exc.message} ({exc.bucket_name}/{exc.object_name})")


def _is_worm_refusal(exc: S3Error) -> bool:
    return exc.code == "InvalidRequest" and "WORM" in (exc.message or "")


def _lock_headers(retain_until: datetime | None) -> DictType:
    if retain_until is None:
        return {}
    when = _ceil_millis(retain_until).astimezone(UTC)
    return {
        "x-amz-object-lock-mode": COMPLIANCE,
        "x-amz-object-lock-retain-until-date": when.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"
        ),
    }


def _ceil_millis(when: datetime) -> datetime:
    """Round up to whole milliseconds, so that an object is never retained less than asked."""
    extra = when.microsecond % 1000
    return when + timedelta(microseconds=1000 - extra) if extra else when


def _content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
