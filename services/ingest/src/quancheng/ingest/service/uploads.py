"""Uploads: created, fed with bytes request by request, finished into a write-once original.

Every step is short and idempotent, and the whole state of an upload lives in its database row
and the object store, so that any replica can take any request and a crash at any moment loses
nothing:

* Bytes stream into the object store as multipart parts while they arrive; the SHA-256 of the
  whole file runs alongside (its state saved with the row), so no file is ever read back.
  Bytes that do not yet make a part wait in the row (``tail``), never in a process.
* A request's progress (offset, parts, tail, hash state) is committed only after its bytes are
  stored; a request that dies half-way leaves the row as it was and the client resumes from it.
* The last bytes move the upload to FINISHING in one commit, and the request is answered:
  completing the object (on disk, write-once) and recording the original follow in the
  background, and are redone by whoever next touches the upload (a HEAD, the receipt, the
  sweeper) if a crash came in between. Only the receipt says when the device may wipe its copy.
* No database transaction is open while bytes stream (SQLite would hold its write lock).
  Requests for one upload are serialized with a lock that works across replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn
from uuid import uuid4

from anyio import to_thread

from quancheng.common import audit
from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow
from quancheng.common.db import Database, session_scope
from quancheng.common.errors import ApiError
from quancheng.common.events import RecordingIngested, record
from quancheng.common.hashing import ResumableSha256, resumable_sm3
from quancheng.common.locks import LockHeldError, Locks
from quancheng.common.settings import IngestSettings
from quancheng.common.storage import (
    AppendableStore,
    Appender,
    NoSuchObjectError,
    NoSuchUploadError,
    ObjectExistsError,
    ObjectInfo,
    ObjectLockedError,
    ObjectStore,
    PartInfo,
    StagingLostError,
    StoreUnavailableError,
    section_key,
)
from quancheng.ingest import scans, tus
from quancheng.ingest.models import Original, Upload, UploadStatus
from quancheng.ingest.repository import OriginalRepository, UploadRepository
from quancheng.ingest.service import permission

MIB = 1024 * 1024
log = logging.getLogger(__name__)


class ClientGoneError(Exception):
    """The client stopped sending before the body's end (the route's stream raises it)."""


@dataclass(frozen=True)
class Uploads:
    """What the upload rules need from the running service."""

    db: Database
    store: ObjectStore
    locks: Locks
    settings: IngestSettings
    background: dict[str, asyncio.Task[None]] = field(default_factory=dict, compare=False)

    def finish_soon(self, upload_id: str) -> None:
        """Store the upload's original in the background."""
        self._soon(f"finish-{upload_id}", _finish_when_free(self, upload_id))

    def assemble_soon(self, upload_id: str) -> None:
        """Assemble a final upload from its partials in the background (tus concatenation)."""
        self._soon(f"assemble-{upload_id}", _assemble(self, upload_id))

    def _soon(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        if name in self.background:
            work.close()  # already under way here
            return
        task = asyncio.create_task(work, name=name)
        self.background[name] = task
        task.add_done_callback(lambda _: self.background.pop(name, None))

    async def stop(self, grace_seconds: float = 30) -> None:
        """Let background work end; what is still running after the grace is cancelled (its
        state is committed step by step, and whoever next touches the upload goes on)."""
        deadline = time.monotonic() + grace_seconds
        while self.background:  # work may start more work (assembling, then finishing)
            tasks = set(self.background.values())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                return
            await asyncio.wait(tasks, timeout=remaining)

    @property
    def max_size(self) -> int:
        return self.settings.max_upload_gib * 1024 * MIB

    @property
    def expiry(self) -> timedelta:
        return timedelta(hours=self.settings.upload_expiry_hours)


def _not_found(upload_id: str) -> ApiError:
    return tus.tus_error(404, "upload_not_found", f"no upload {upload_id}", "未找到该上传")


@asynccontextmanager
async def _holding(uploads: Uploads, name: str) -> AsyncIterator[None]:
    """Hold a lock for the block; 423 at once if another request holds it."""
    try:
        async with uploads.locks.hold(name):
            yield
    except LockHeldError:
        raise _locked() from None


def _locked() -> ApiError:
    error = tus.tus_error(
        423,
        "upload_locked",
        "another request for this upload is in progress; retry shortly",
        "该上传正在处理另一请求，请稍后重试",
    )
    error.headers = {**(error.headers or {}), "Retry-After": "1"}
    return error


async def create(
    uploads: Uploads,
    principal: Principal,
    *,
    length: int | None,
    defer_length: bool,
    metadata_raw: str,
    partial: bool = False,
) -> Upload:
    """A new upload (tus creation): checked, authorized, and its storage begun. A partial one
    (tus concatenation) carries the same metadata as the final upload it is for."""
    meta, section = await _authorized(uploads, principal, metadata_raw)
    if length is None and not defer_length:
        raise tus.tus_error(
            400,
            "length_required",
            "give Upload-Length, or Upload-Defer-Length: 1",
            "请提供 Upload-Length，或 Upload-Defer-Length: 1",
        )
    if length is not None:
        _check_size(uploads, length)
    return await _begin(
        uploads, principal, meta, metadata_raw, section, length, "partial" if partial else None
    )


async def create_final(
    uploads: Uploads, principal: Principal, *, partial_ids: list[str], metadata_raw: str
) -> Upload:
    """A final upload (tus concatenation): the caller's partial uploads, all of whose bytes are
    in, joined in the order given. Ingest assembles it in the background."""
    meta, section = await _authorized(uploads, principal, metadata_raw)
    async with session_scope(uploads.db) as session:
        repository = UploadRepository(session)
        partials = [await repository.get(partial_id) for partial_id in partial_ids]
    length = 0
    for partial_id, partial in zip(partial_ids, partials, strict=True):
        if (
            partial is None
            or partial.created_by != principal.subject
            or partial.concat != "partial"
        ):
            raise _bad_concat(
                f"/files/{partial_id} is not a partial upload of yours", "不是您的部分上传"
            )
        if partial.status not in (UploadStatus.FINISHING, UploadStatus.COMPLETE):
            raise _bad_concat(
                f"/files/{partial_id} does not have all its bytes yet", "尚未上传完毕"
            )
        if partial.device_id != meta.device_id:
            raise _bad_concat(f"/files/{partial_id} is from another device", "来自另一台设备")
        length += partial.length or 0
    _check_size(uploads, length)
    upload = await _begin(uploads, principal, meta, metadata_raw, section, length, "final")
    upload.partials = partial_ids
    async with session_scope(uploads.db) as session:
        await UploadRepository(session).add(upload)
    uploads.assemble_soon(upload.id)
    return upload


def _bad_concat(message: str, message_zh: str) -> ApiError:
    return tus.tus_error(400, "invalid_concatenation", message, f"所列部分上传{message_zh}")


async def _authorized(
    uploads: Uploads, principal: Principal, metadata_raw: str
) -> tuple[tus.UploadMetadata, str]:
    """The checked metadata, and the section of the device, if the caller may upload for it."""
    meta = tus.UploadMetadata.parse(metadata_raw)
    async with session_scope(uploads.db) as session:
        device = await permission.authorize_upload(
            session, principal, meta.device_id, meta.officer_id
        )
        if meta.source_record_id is not None and (
            await OriginalRepository(session).get(meta.source_record_id) is None
        ):
            raise tus.bad_metadata(
                "source_record_id", "is not a stored original", "不是已保存的原始记录"
            )
    return meta, device.section


async def _begin(
    uploads: Uploads,
    principal: Principal,
    meta: tus.UploadMetadata,
    metadata_raw: str,
    section: str,
    length: int | None,
    concat: str | None,
) -> Upload:
    now = utcnow()
    upload_id = uuid4().hex
    if concat == "partial":
        # Never an original: its object is deleted once it has served (its short retention
        # lets the store delete it then).
        key = section_key(section, "partials", upload_id)
        retain_until: datetime | None = now + uploads.expiry
    else:
        key = section_key(section, "originals", f"{now:%Y}", f"{now:%m}", upload_id)
        retain_until = None  # the store's default: the retention of originals
    upload = Upload(
        id=upload_id,
        status=UploadStatus.RECEIVING,
        length=length,
        metadata_raw=metadata_raw,
        meta=meta.model_dump(mode="json"),
        device_id=meta.device_id,
        officer_id=meta.officer_id,
        section=section,
        created_by=principal.subject,
        created_at=now,
        expires_at=now + uploads.expiry,
        object_key=key,
        multipart_id=await uploads.store.create_multipart(key, retain_until=retain_until),
        parts=[],
        tail=b"",
        sha256_state=ResumableSha256().state(),
        sm3_state=resumable_sm3().state() if uploads.settings.sm3 else None,
        concat=concat,
    )
    await _save_with_audit(
        uploads,
        upload,
        actor=principal.subject,
        action="upload.create",
        detail={
            "filename": meta.filename,
            "length": length,
            "device_id": str(meta.device_id),
            "concat": concat,
        },
    )
    return upload


def _check_size(uploads: Uploads, length: int) -> None:
    if length > uploads.max_size:
        raise tus.tus_error(
            413,
            "upload_too_large",
            f"an upload may be at most {uploads.settings.max_upload_gib} GiB",
            f"单个上传不能超过 {uploads.settings.max_upload_gib} GiB",
        )


async def _load(uploads: Uploads, principal: Principal, upload_id: str) -> Upload:
    """The upload, if the caller started it (uploads are not shared between callers)."""
    async with session_scope(uploads.db) as session:
        upload = await UploadRepository(session).get(upload_id)
    if upload is None or upload.created_by != principal.subject:
        raise _not_found(upload_id)
    return upload


def _gone(upload: Upload) -> ApiError:
    reasons = {
        UploadStatus.TERMINATED: ("the upload was terminated", "该上传已被终止"),
        UploadStatus.EXPIRED: ("the upload expired unfinished", "该上传未完成且已过期"),
        UploadStatus.REJECTED: (
            f"the upload was rejected: {upload.rejection}",
            f"该上传已被拒收：{upload.rejection}",
        ),
    }
    message, message_zh = reasons.get(upload.status, ("the upload is over", "该上传已结束"))
    return tus.tus_error(410, f"upload_{upload.status.value}", message, message_zh)


async def current(uploads: Uploads, principal: Principal, upload_id: str) -> Upload:
    """The upload as HEAD reports it; one that was left finishing is finished first."""
    upload = await _load(uploads, principal, upload_id)
    if upload.status in (UploadStatus.TERMINATED, UploadStatus.EXPIRED, UploadStatus.REJECTED):
        raise _gone(upload)
    if upload.status is UploadStatus.FINISHING:
        upload = await _try_finish(uploads, upload_id) or upload
    elif upload.concat == "final":
        uploads.assemble_soon(upload_id)  # on its way already, unless a crash stopped it
    return upload


class _Hashes:
    """The whole file's SHA-256, and its SM3 if the upload began with SM3 on, resumed from the
    upload's row. Each runs on a thread of its own (both release the GIL)."""

    def __init__(self, upload: Upload) -> None:
        self.sha256 = ResumableSha256(upload.sha256_state)
        self.sm3 = None if upload.sm3_state is None else resumable_sm3(upload.sm3_state)

    async def update(self, chunks: list[bytes]) -> None:
        updates: list[Callable[[bytes], None]] = [self.sha256.update]
        if self.sm3 is not None:
            updates.append(self.sm3.update)
        await asyncio.gather(*(to_thread.run_sync(_each, update, chunks) for update in updates))

    def save(self, upload: Upload) -> None:
        upload.sha256_state = self.sha256.state()
        if self.sm3 is not None:
            upload.sm3_state = self.sm3.state()


def _each(update: Callable[[bytes], None], chunks: list[bytes]) -> None:
    for chunk in chunks:
        update(chunk)


class _PartWriter:
    """For stores that take multipart parts (S3): turns a request's bytes into parts; what is too
    short for a part stays as the tail.

    A part is hashed and stored in the background while the next bytes arrive (one part in
    flight at most, so memory stays at about two parts). The running SHA-256 covers exactly the
    bytes already in parts; the tail is hashed when it becomes part of one.
    """

    def __init__(self, uploads: Uploads, upload: Upload) -> None:
        self._store = uploads.store
        self._upload = upload
        self._min = uploads.settings.min_part_mib * MIB
        self._max = max(uploads.settings.max_part_mib * MIB, self._min)
        self.buffer = bytearray(upload.tail)
        self.parts: list[dict[str, Any]] = list(upload.parts)
        self.hashes = _Hashes(upload)
        self.received = 0
        self._next_part = len(self.parts) + 1
        self._in_flight: asyncio.Task[None] | None = None

    async def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        self.received += len(chunk)
        while len(self.buffer) >= self._max:
            await self._part(self._max)

    async def settle(self, *, last: bool) -> None:
        """Store what the request brought: all of it if it ends the upload; else every full part,
        the rest waiting as the tail."""
        if self.buffer and (last or len(self.buffer) >= self._min):
            await self._part(len(self.buffer))
        await self.drain()

    async def drain(self) -> None:
        """Wait for the part in flight (its failure is raised here)."""
        task, self._in_flight = self._in_flight, None
        if task is not None:
            await task

    async def abandon(self) -> None:
        """Stop the part in flight, if any: the request's bytes are not kept."""
        task, self._in_flight = self._in_flight, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _part(self, size: int) -> None:
        with memoryview(self.buffer) as view:
            data = bytes(view[:size])
        del self.buffer[:size]
        multipart_id = self._upload.multipart_id
        if multipart_id is None:
            raise NoSuchUploadError(self._upload.id)
        await self.drain()
        number, self._next_part = self._next_part, self._next_part + 1
        self._in_flight = asyncio.create_task(self._store_part(multipart_id, number, data))

    async def _store_part(self, multipart_id: str, number: int, data: bytes) -> None:
        # Hashing and storing run on threads of their own at once.
        hashing = asyncio.create_task(self.hashes.update([data]))
        try:
            info = await self._store.upload_part(
                self._upload.object_key, multipart_id, number, data
            )
        finally:
            await hashing
        self.parts.append({"n": info.part_number, "etag": info.etag, "size": info.size})


class _AppendWriter:
    """For stores that grow one file per upload (the local store): a request's bytes go to the
    file as they arrive, in batches; each batch is hashed and written on two worker threads at
    once while the event loop receives the next (one batch in flight, so memory stays at two
    batches)."""

    BATCH = 2 * MIB

    def __init__(self, store: AppendableStore, upload: Upload) -> None:
        self._store = store
        self._upload = upload
        self.hashes = _Hashes(upload)
        self.received = 0
        self.parts: list[dict[str, Any]] = []
        self.buffer = b""  # nothing ever waits: every byte is in the file
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._appender: Appender | None = None
        self._in_flight: asyncio.Task[None] | None = None

    async def feed(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batch_size += len(chunk)
        self.received += len(chunk)
        if self._batch_size >= self.BATCH:
            await self._send()

    async def settle(self, *, last: bool) -> None:
        if self._batch:
            await self._send()
        await self.drain()
        self._close()

    async def drain(self) -> None:
        task, self._in_flight = self._in_flight, None
        if task is not None:
            await task

    async def abandon(self) -> None:
        """Let the batch in flight end (a thread can't be stopped); the bytes are not counted,
        and the next request writes over them."""
        with contextlib.suppress(Exception):
            await self.drain()
        self._close()

    async def _send(self) -> None:
        batch, self._batch, self._batch_size = self._batch, [], 0
        await self.drain()
        self._in_flight = asyncio.create_task(self._hash_and_write(batch))

    async def _hash_and_write(self, batch: list[bytes]) -> None:
        if self._appender is None:
            upload = self._upload
            if upload.multipart_id is None:
                raise NoSuchUploadError(upload.id)
            self._appender = await to_thread.run_sync(
                self._store.open_append, upload.object_key, upload.multipart_id, upload.offset
            )
        # Hashing and writing release the GIL, so they run side by side.
        hashing = asyncio.create_task(self.hashes.update(batch))
        try:
            await to_thread.run_sync(self._appender.write, batch)
        finally:
            await hashing

    def _close(self) -> None:
        appender, self._appender = self._appender, None
        if appender is not None:
            appender.close()


def _writer(uploads: Uploads, upload: Upload) -> _PartWriter | _AppendWriter:
    if isinstance(uploads.store, AppendableStore):
        return _AppendWriter(uploads.store, upload)
    return _PartWriter(uploads, upload)


async def receive(
    uploads: Uploads,
    principal: Principal,
    upload_id: str,
    *,
    offset: int,
    length: int | None,
    checksum: tuple[str, bytes] | None,
    body: AsyncIterator[bytes],
) -> Upload:
    """A PATCH (or the body of a creation-with-upload): bytes at ``offset``."""
    async with _holding(uploads, f"upload:{upload_id}"):
        upload = await _load(uploads, principal, upload_id)
        _check_patch(uploads, upload, offset, length)
        limit = upload.length if upload.length is not None else uploads.max_size
        writer = _writer(uploads, upload)
        try:
            return await _take_body(uploads, upload, writer, limit, checksum, body)
        finally:
            await writer.abandon()  # only left in flight when the request failed


def _check_patch(uploads: Uploads, upload: Upload, offset: int, length: int | None) -> None:
    """Whether bytes at ``offset`` may go to ``upload`` now; a length sent late is taken."""
    if upload.concat == "final":
        raise tus.tus_error(
            403,
            "final_upload",
            "a final upload is assembled from its partial uploads; send bytes to those",
            "合并上传由各部分上传拼接而成，请向部分上传发送数据",
        )
    if upload.status is not UploadStatus.RECEIVING:
        if upload.status in (UploadStatus.FINISHING, UploadStatus.COMPLETE):
            raise tus.tus_error(
                409,
                "upload_finished",
                "the upload already has all its bytes",
                "该上传已接收完毕",
            )
        raise _gone(upload)
    if offset != upload.offset:
        error = tus.tus_error(
            409,
            "offset_mismatch",
            f"Upload-Offset is {offset}, the upload is at {upload.offset}",
            f"Upload-Offset 为 {offset}，而服务器已接收到 {upload.offset}",
        )
        error.headers = {**(error.headers or {}), "Upload-Offset": str(upload.offset)}
        raise error
    if length is not None:
        if upload.length is not None and length != upload.length:
            raise tus.tus_error(
                400,
                "length_fixed",
                f"the upload's length is already {upload.length}",
                f"上传长度已确定为 {upload.length}",
            )
        if length < upload.offset:
            raise tus.tus_error(
                400,
                "length_too_small",
                "Upload-Length is below the offset",
                "上传长度小于已接收量",
            )
        _check_size(uploads, length)
        upload.length = length


async def _take_body(
    uploads: Uploads,
    upload: Upload,
    writer: _PartWriter | _AppendWriter,
    limit: int,
    checksum: tuple[str, bytes] | None,
    body: AsyncIterator[bytes],
) -> Upload:
    scan = None
    if upload.meta["kind"] == "scan":
        scan = scans.HeaderBytes(upload.scan_head or b"", upload.scan_end or b"")
    try:
        new_offset = await _store_body(upload, writer, limit, checksum, body, scan)
    except NoSuchUploadError:
        raise _gone(upload) from None
    except StagingLostError:
        await _lose(uploads, upload)
    except (OSError, StoreUnavailableError) as exc:
        # A full disk, or a store that is down: nothing of this request is counted.
        full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        error = tus.tus_error(
            507 if full else 503,
            "storage_unavailable",
            f"the bytes could not be stored ({reason}); retry later",
            "存储空间已满，数据未保存，请稍后重试"
            if full
            else "存储暂不可用，数据未保存，请稍后重试",
        )
        error.headers = {**(error.headers or {}), "Retry-After": "60"}
        raise error from None
    if new_offset is None:
        return upload
    last = upload.length is not None and new_offset == upload.length
    upload.offset = new_offset
    upload.parts = writer.parts
    upload.tail = bytes(writer.buffer)
    writer.hashes.save(upload)
    upload.expires_at = utcnow() + uploads.expiry
    if scan is not None:
        upload.scan_head, upload.scan_end = bytes(scan.head), bytes(scan.end)
    if not last:
        async with session_scope(uploads.db) as session:
            await UploadRepository(session).add(upload)
        return upload
    return await _last_bytes(uploads, upload, writer.hashes)


async def _store_body(
    upload: Upload,
    writer: _PartWriter | _AppendWriter,
    limit: int,
    checksum: tuple[str, bytes] | None,
    body: AsyncIterator[bytes],
    scan: scans.HeaderBytes | None,
) -> int | None:
    """Stream the body into the writer; the new offset, or None if nothing is to be kept."""
    verifier = hashlib.new(checksum[0]) if checksum else None
    complete_body = True
    try:
        async for chunk in body:
            if upload.offset + writer.received + len(chunk) > limit:
                raise tus.tus_error(
                    413,
                    "beyond_length",
                    "the bytes go beyond the upload's length",
                    "数据超出了上传的声明长度",
                )
            if verifier is not None:
                verifier.update(chunk)
            if scan is not None:
                scan.take(upload.offset + writer.received, chunk)
            await writer.feed(chunk)
    except ClientGoneError:
        complete_body = False  # keep what came, unless a checksum was to vouch for it
    if checksum is not None and verifier is not None:
        if not complete_body:
            return None  # an unverifiable fragment: nothing is kept
        if verifier.digest() != checksum[1]:
            raise tus.tus_error(
                tus.CHECKSUM_MISMATCH,
                "checksum_mismatch",
                f"the {checksum[0]} of the bytes does not match Upload-Checksum; "
                "they were discarded",
                f"数据的 {checksum[0]} 校验值与 Upload-Checksum 不符，本次数据已丢弃",
            )
    new_offset = upload.offset + writer.received
    await writer.settle(last=upload.length is not None and new_offset == upload.length)
    return new_offset


async def _last_bytes(uploads: Uploads, upload: Upload, hashes: _Hashes) -> Upload:
    """All bytes are in: check the declared hash (and a scan's resolution), then finish."""
    upload.sha256 = sha256 = hashes.sha256.hexdigest()
    upload.sm3 = None if hashes.sm3 is None else hashes.sm3.hexdigest()
    declared = upload.meta.get("sha256")
    if declared is not None and declared != sha256:
        await _reject(
            uploads,
            upload,
            tus.tus_error(
                tus.CHECKSUM_MISMATCH,
                "sha256_mismatch",
                f"the file's SHA-256 is {sha256}, not the declared {declared}: nothing was stored",
                f"文件的 SHA-256 为 {sha256}，与声明的 {declared} 不符，未予保存",
            ),
            {"declared": declared, "received": sha256},
        )
    if upload.meta["kind"] == "scan":
        await _check_scan(uploads, upload)
    upload.status = UploadStatus.FINISHING
    async with session_scope(uploads.db) as session:
        await UploadRepository(session).add(upload)
    uploads.finish_soon(upload.id)
    return upload


async def _check_scan(uploads: Uploads, upload: Upload) -> None:
    """E-5: a scan below the minimum resolution, or stating none, is flagged (or refused)."""
    ppi = scans.resolution_ppi(upload.scan_head or b"", upload.scan_end or b"", upload.offset)
    upload.scan_ppi = ppi
    minimum = uploads.settings.min_scan_ppi
    if ppi is not None and ppi >= minimum:
        return
    if ppi is None:
        reason = "the scan states no resolution in its header (JPEG, PNG or TIFF)"
        reason_zh = "扫描件文件头中没有分辨率（须为 JPEG、PNG 或 TIFF）"
    else:
        reason = f"the scan's resolution is {ppi} PPI, below the required {minimum}"
        reason_zh = f"扫描件分辨率为 {ppi} PPI，低于要求的 {minimum} PPI"
    if not uploads.settings.reject_low_resolution_scans:
        upload.flag = reason
        return
    await _reject(
        uploads,
        upload,
        tus.tus_error(
            422, "scan_resolution", f"{reason}: nothing was stored", f"{reason_zh}，未予保存"
        ),
        {"scan_ppi": ppi, "min_scan_ppi": minimum},
    )


async def _reject(
    uploads: Uploads, upload: Upload, error: ApiError, detail: dict[str, Any]
) -> NoReturn:
    """All bytes came but failed a check: nothing is stored, and the client is told why."""
    await _abort_multipart(uploads, upload)
    upload.status = UploadStatus.REJECTED
    upload.rejection = str(error)[:500]
    upload.finished_at = utcnow()
    upload.scan_head = upload.scan_end = None
    await _save_with_audit(
        uploads,
        upload,
        actor=upload.created_by,
        action="upload.reject",
        detail={"reason": error.code, **detail},
    )
    raise error


async def _try_finish(uploads: Uploads, upload_id: str) -> Upload | None:
    """Finish an upload left FINISHING; None if another request is at it right now."""
    try:
        async with _holding(uploads, f"upload:{upload_id}"):
            async with session_scope(uploads.db) as session:
                upload = await UploadRepository(session).get(upload_id)
            if upload is None:
                raise _not_found(upload_id)
            if upload.status is not UploadStatus.FINISHING:
                return upload
            return await _finish(uploads, upload)
    except ApiError as error:
        if error.status_code == 423:  # this upload's lock, or its content's
            return None
        raise


async def _finish_when_free(uploads: Uploads, upload_id: str) -> None:
    """In the background: finish as soon as the request that ended the upload lets go of it."""
    try:
        for _ in range(200):
            if await _try_finish(uploads, upload_id) is not None:
                return
            await asyncio.sleep(0.05)
        log.warning("upload %s is still in use; it is finished by its next request", upload_id)
    except ApiError as error:  # e.g. the bytes were lost: the upload was ended with its reason
        log.warning("upload %s could not be finished: %s", upload_id, error)
    except Exception:  # the sweeper, a HEAD or the receipt tries again
        log.exception("finishing upload %s failed", upload_id)


async def _finish(uploads: Uploads, upload: Upload) -> Upload:
    """FINISHING → COMPLETE: the object completed (once), the original recorded (once)."""
    if upload.sha256 is None or upload.length is None:
        raise RuntimeError(f"upload {upload.id} is finishing without its hash or length")
    if upload.concat == "partial":
        return await _finish_partial(uploads, upload, upload.length, upload.sha256)
    async with _holding(uploads, f"content:{upload.device_id}:{upload.sha256}"):
        async with session_scope(uploads.db) as session:
            same = await OriginalRepository(session).of_content(upload.device_id, upload.sha256)
        if same is not None and same.upload_id != upload.id:
            # The same bytes from the same device are already an original: one record.
            await _abort_multipart(uploads, upload)
            return await _complete(uploads, upload, same, new=False)
        try:
            info = await _store_object(uploads, upload, upload.length, upload.sha256)
        except StagingLostError:
            await _lose(uploads, upload)
        if info.size != upload.length:
            raise ApiError(
                500,
                "stored_size_differs",
                f"the stored object has {info.size} bytes, not {upload.length}",
                "存储的对象大小与上传长度不符",
            )
        original = same or Original(
            upload_id=upload.id,
            device_id=upload.device_id,
            sha256=upload.sha256,
            size=info.size,
            object_key=upload.object_key,
            stored_at=utcnow(),
        )
        return await _complete(uploads, upload, original, new=same is None)


async def _finish_partial(uploads: Uploads, upload: Upload, length: int, sha256: str) -> Upload:
    """A partial upload's bytes become an object for its final upload to read; no record."""
    try:
        await _store_object(uploads, upload, length, sha256)
    except StagingLostError:
        await _lose(uploads, upload)
    upload.status = UploadStatus.COMPLETE
    upload.finished_at = utcnow()
    upload.tail = b""
    await _save_with_audit(
        uploads,
        upload,
        actor=upload.created_by,
        action="upload.partial_complete",
        detail={"sha256": sha256, "length": length},
    )
    return upload


# A partial in one of these states will never be complete.
_ENDED = frozenset({UploadStatus.REJECTED, UploadStatus.TERMINATED, UploadStatus.EXPIRED})


async def _assemble(uploads: Uploads, upload_id: str) -> None:
    """In the background: a final upload's bytes, read from its partials in order and taken in
    as if they were sent (hashed and written as they come). Progress is committed after each
    partial, so a crash costs at most one partial's reading; HEAD and the sweeper go on."""
    try:
        for _ in range(200):
            try:
                async with uploads.locks.hold(f"upload:{upload_id}"):
                    await _assemble_locked(uploads, upload_id)
                    return
            except LockHeldError:
                await asyncio.sleep(0.05)  # the request that created it, or a PATCH of a partial
    except ApiError as error:  # e.g. the declared sha256 differs: rejected with the reason
        log.warning("final upload %s was not assembled: %s", upload_id, error)
    except Exception:
        log.exception("assembling final upload %s failed; the sweeper tries again", upload_id)


async def _assemble_locked(uploads: Uploads, upload_id: str) -> None:
    async with session_scope(uploads.db) as session:
        repository = UploadRepository(session)
        upload = await repository.get(upload_id)
        if upload is None or upload.status is not UploadStatus.RECEIVING:
            return
        partials = [await repository.get(partial_id) for partial_id in upload.partials or []]
    start = 0
    for partial in partials:
        if partial is not None and partial.status is UploadStatus.FINISHING:
            try:
                partial = await _try_finish(uploads, partial.id) or partial
            except ApiError as error:
                if error.status_code != 410:
                    raise
                partial = None  # its bytes were lost, and it was ended for that
        if partial is None or partial.status in _ENDED:
            # Nothing can bring the partial back: end the final upload too, with the reason,
            # rather than have every sweep try again until it expires.
            await _end_unfinished(
                uploads,
                upload,
                UploadStatus.REJECTED,
                "ingest",
                reason="a partial upload it names was lost before it could be assembled; "
                "upload the file again",
            )
            return
        if partial.status is not UploadStatus.COMPLETE or partial.length is None:
            raise RuntimeError(f"partial upload {partial.id} is not stored yet")
        end = start + partial.length
        if upload.offset < end:
            body = uploads.store.read(partial.object_key, upload.offset - start)
            writer = _writer(uploads, upload)
            try:
                upload = await _take_body(uploads, upload, writer, end, None, body)
            finally:
                await writer.abandon()
        start = end
    if upload.status is UploadStatus.RECEIVING and upload.offset == upload.length == 0:
        await _last_bytes(uploads, upload, _Hashes(upload))


async def _lose(uploads: Uploads, upload: Upload) -> NoReturn:
    """The store has fewer bytes than were acknowledged: say so rather than keep a wrong file."""
    await _end_unfinished(
        uploads,
        upload,
        UploadStatus.REJECTED,
        "ingest",
        reason="the server lost this upload's latest bytes (a power failure); upload it again",
    )
    raise _gone(upload)


async def _store_object(uploads: Uploads, upload: Upload, length: int, sha256: str) -> ObjectInfo:
    """Complete the upload in the store, or find it completed by a request that died after."""
    store = uploads.store
    parts = [PartInfo(p["n"], p["etag"], p["size"]) for p in upload.parts]
    try:
        if not parts and not isinstance(store, AppendableStore):
            # An empty file: no multipart upload can hold it.
            await _abort_multipart(uploads, upload)
            return await store.put(upload.object_key, b"", retain_until=None)
        if upload.multipart_id is None:
            return await store.head(upload.object_key)
        if isinstance(store, AppendableStore):
            return await store.complete_append(
                upload.object_key, upload.multipart_id, length, sha256
            )
        return await store.complete_multipart(upload.object_key, upload.multipart_id, parts)
    except (NoSuchUploadError, ObjectExistsError):
        return await store.head(upload.object_key)


async def _save_with_audit(
    uploads: Uploads, upload: Upload, *, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Store the upload's new state and its audit entry in one transaction."""
    async with session_scope(uploads.db) as session:
        await UploadRepository(session).add(upload)
        await audit.append(
            session, actor=actor, action=action, target=f"upload:{upload.id}", detail=detail
        )


def _deadline_missed(meta: dict[str, Any], settings: IngestSettings, now: datetime) -> bool:
    """A-11 / D-14a: uploaded more than the allowed hours after the work (or the return)."""
    reference = meta.get("returned_at") or meta.get("captured_until") or meta["captured_at"]
    return now > datetime.fromisoformat(reference) + timedelta(hours=settings.deadline_hours)


async def _complete(uploads: Uploads, upload: Upload, original: Original, *, new: bool) -> Upload:
    now = utcnow()
    meta = upload.meta
    upload.status = UploadStatus.COMPLETE
    upload.record_id = original.record_id
    upload.finished_at = now
    upload.tail = b""
    upload.scan_head = upload.scan_end = None
    async with session_scope(uploads.db) as session:
        if new:
            await OriginalRepository(session).add(original)
        await UploadRepository(session).add(upload)
        if new:
            drift = None
            if meta.get("device_clock"):
                device_clock = datetime.fromisoformat(meta["device_clock"])
                drift = (device_clock - upload.created_at).total_seconds()
            record(
                session,
                RecordingIngested(
                    record_id=original.record_id,
                    upload_id=upload.id,
                    object_key=original.object_key,
                    sha256=original.sha256,
                    sm3=upload.sm3,
                    size=original.size,
                    filename=meta["filename"],
                    kind=meta["kind"],
                    device_id=str(upload.device_id),
                    officer_id=upload.officer_id,
                    activity_id=meta.get("activity_id"),
                    section=upload.section,
                    captured_at=meta["captured_at"],
                    captured_until=meta.get("captured_until"),
                    clock_drift_seconds=drift,
                    deadline_missed=_deadline_missed(meta, uploads.settings, now),
                    party_informed=meta.get("party_informed"),
                    source_record_id=meta.get("source_record_id"),
                    source_range=meta.get("source_range"),
                    scan_ppi=upload.scan_ppi,
                    flag=upload.flag,
                ),
            )
        await audit.append(
            session,
            actor=upload.created_by,
            action="upload.complete" if new else "upload.duplicate",
            target=f"upload:{upload.id}",
            detail={"record_id": str(original.record_id), "sha256": original.sha256},
        )
    return upload


async def _abort_multipart(uploads: Uploads, upload: Upload) -> None:
    if upload.multipart_id is None:
        return
    with contextlib.suppress(NoSuchUploadError):  # aborted or completed already
        await uploads.store.abort_multipart(upload.object_key, upload.multipart_id)
    upload.multipart_id = None


async def terminate(uploads: Uploads, principal: Principal, upload_id: str) -> None:
    """tus termination, for unfinished uploads only: an original can never be deleted here."""
    # A finished upload never becomes unfinished again, so this is refused without the lock
    # (which the background storing of its original may be holding).
    _refuse_if_finished(await _load(uploads, principal, upload_id))
    async with _holding(uploads, f"upload:{upload_id}"):
        upload = await _load(uploads, principal, upload_id)
        _refuse_if_finished(upload)
        if upload.status is not UploadStatus.RECEIVING:
            raise _gone(upload)
        await _end_unfinished(uploads, upload, UploadStatus.TERMINATED, principal.subject)


def _refuse_if_finished(upload: Upload) -> None:
    if upload.status in (UploadStatus.FINISHING, UploadStatus.COMPLETE):
        raise tus.tus_error(
            403,
            "original_is_permanent",
            "a finished upload is a stored original and cannot be deleted",
            "已完成的上传是原始记录，不能删除",
        )


async def _end_unfinished(
    uploads: Uploads, upload: Upload, status: UploadStatus, actor: str, reason: str | None = None
) -> None:
    await _abort_multipart(uploads, upload)
    upload.status = status
    upload.rejection = reason
    upload.tail = b""
    upload.finished_at = utcnow()
    await _save_with_audit(
        uploads,
        upload,
        actor=actor,
        action=f"upload.{status.value}",
        detail={"offset": upload.offset, "length": upload.length},
    )


async def sweep(uploads: Uploads, *, batch: int = 100) -> int:
    """Expire abandoned uploads (their parts and tail go); finish any left FINISHING; go on
    assembling final uploads a crash interrupted; delete the objects of partial uploads that
    have served. Returns how many uploads it ended."""
    now = utcnow()
    async with session_scope(uploads.db) as session:
        repository = UploadRepository(session)
        expired = await repository.expired(now, limit=batch)
        finishing = await repository.finishing(limit=batch)
        assembling = await repository.assembling(limit=batch)
        spent = await repository.spent_partials(now - uploads.expiry, limit=batch)
    ended = 0
    for upload_id in assembling:
        uploads.assemble_soon(upload_id)
    for upload_id in spent:
        ended += await _remove_partial(uploads, upload_id)
    for upload_id in expired:
        try:
            async with uploads.locks.hold(f"upload:{upload_id}"):
                async with session_scope(uploads.db) as session:
                    upload = await UploadRepository(session).get(upload_id)
                if upload is None or upload.status is not UploadStatus.RECEIVING:
                    continue
                if upload.expires_at >= now:
                    continue  # touched since it was listed
                await _end_unfinished(uploads, upload, UploadStatus.EXPIRED, "ingest")
                ended += 1
        except LockHeldError:
            continue  # in use right now, so not abandoned
    for upload_id in finishing:
        try:
            await _try_finish(uploads, upload_id)
        except ApiError:
            continue  # e.g. its bytes were lost: it was ended with the reason
    return ended


async def _remove_partial(uploads: Uploads, upload_id: str) -> int:
    """Delete a served partial upload's object (its retention has passed by now)."""
    try:
        async with uploads.locks.hold(f"upload:{upload_id}"):
            async with session_scope(uploads.db) as session:
                upload = await UploadRepository(session).get(upload_id)
            if upload is None or upload.status is not UploadStatus.COMPLETE:
                return 0
            with contextlib.suppress(NoSuchObjectError):
                await uploads.store.delete(upload.object_key)
            upload.status = UploadStatus.EXPIRED
            await _save_with_audit(
                uploads,
                upload,
                actor="ingest",
                action="upload.partial_removed",
                detail={"object_key": upload.object_key},
            )
            return 1
    except (LockHeldError, ObjectLockedError):
        return 0  # in use, or still retained: the next sweep


async def receipt(uploads: Uploads, principal: Principal, upload_id: str) -> Upload:
    """The upload (D-14b receipts). One still finishing (or being assembled) is finished here,
    or waited for while other work finishes it, up to the receipt wait; then it is reported
    as it stands."""
    upload = await _load(uploads, principal, upload_id)
    deadline = time.monotonic() + uploads.settings.receipt_wait_seconds
    while _under_way(upload):
        if upload.status is UploadStatus.FINISHING:
            finished = await _try_finish(uploads, upload_id)
            if finished is not None:
                return finished
        else:
            uploads.assemble_soon(upload_id)  # on its way already, unless a crash stopped it
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.1)
        upload = await _load(uploads, principal, upload_id)
    return upload


def _under_way(upload: Upload) -> bool:
    """All its bytes are in (or, for a final upload, in its partials), the original not yet."""
    return upload.status is UploadStatus.FINISHING or (
        upload.concat == "final" and upload.status is UploadStatus.RECEIVING
    )
