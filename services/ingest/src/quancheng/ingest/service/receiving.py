"""tus core: bytes at the upload's offset, request by request, staged as they arrive; the last
bytes checked (declared hash, a scan's resolution) and the upload moved to FINISHING."""

from __future__ import annotations

import errno
import hashlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NoReturn

from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.storage import NoSuchUploadError, StagingLostError, StoreUnavailableError
from quancheng.ingest import scans, tus
from quancheng.ingest.models import Concat, Upload, UploadStatus
from quancheng.ingest.service.staging import Hashes, Writer
from quancheng.ingest.service.state import (
    check_size,
    gone,
    holding,
    load,
    lose,
    save_with_audit,
)

if TYPE_CHECKING:
    from quancheng.ingest.service.uploads import Uploads


class ClientGoneError(Exception):
    """The client stopped sending before the body's end (the route's stream raises it)."""


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
    async with holding(uploads, f"upload:{upload_id}"):
        upload = await load(uploads, principal, upload_id)
        _check_patch(uploads, upload, offset, length)
        limit = upload.length if upload.length is not None else uploads.max_size
        writer = uploads.staging.writer(upload)
        try:
            return await take_body(uploads, upload, writer, limit, checksum, body)
        finally:
            await writer.abandon()  # only left in flight when the request failed


def _check_patch(uploads: Uploads, upload: Upload, offset: int, length: int | None) -> None:
    """Whether bytes at ``offset`` may go to ``upload`` now; a length sent late is taken."""
    if upload.concat is Concat.FINAL:
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
        raise gone(upload)
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
        check_size(uploads, length)
        upload.length = length


async def take_body(
    uploads: Uploads,
    upload: Upload,
    writer: Writer,
    limit: int,
    checksum: tuple[str, bytes] | None,
    body: AsyncIterator[bytes],
) -> Upload:
    """Stream ``body`` into ``writer`` up to ``limit``; commit the progress once it is stored."""
    scan = None
    if upload.meta["kind"] == "scan":
        scan = scans.HeaderBytes(upload.scan_head or b"", upload.scan_end or b"")
    try:
        new_offset = await _store_body(upload, writer, limit, checksum, body, scan)
    except NoSuchUploadError:
        raise gone(upload) from None
    except StagingLostError:
        await lose(uploads, upload)
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
    writer.record(upload)
    upload.expires_at = utcnow() + uploads.expiry
    if scan is not None:
        upload.scan_head, upload.scan_end = bytes(scan.head), bytes(scan.end)
    if not last:
        async with uploads.transaction() as tx:
            await tx.uploads.add(upload)
        return upload
    return await last_bytes(uploads, upload, writer.hashes)


async def _store_body(
    upload: Upload,
    writer: Writer,
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


async def last_bytes(uploads: Uploads, upload: Upload, hashes: Hashes) -> Upload:
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
    async with uploads.transaction() as tx:
        await tx.uploads.add(upload)
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
    await uploads.staging.abort(upload)
    upload.status = UploadStatus.REJECTED
    upload.rejection = str(error)[:500]
    upload.finished_at = utcnow()
    upload.scan_head = upload.scan_end = None
    await save_with_audit(
        uploads,
        upload,
        actor=upload.created_by,
        action="upload.reject",
        detail={"reason": error.code, **detail},
    )
    raise error
