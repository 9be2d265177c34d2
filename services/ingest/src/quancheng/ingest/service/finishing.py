"""FINISHING → COMPLETE, in the background after the last bytes (or by whoever next touches the
upload): the object completed once, the original recorded once, with its event."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.events import RecordingIngested, record
from quancheng.common.settings import IngestSettings
from quancheng.common.storage import StagingLostError
from quancheng.ingest.models import Concat, Original, Upload, UploadStatus
from quancheng.ingest.service.state import holding, lose, not_found, save_with_audit

if TYPE_CHECKING:
    from quancheng.ingest.service.uploads import Uploads

log = logging.getLogger(__name__)


async def try_finish(uploads: Uploads, upload_id: str) -> Upload | None:
    """Finish an upload left FINISHING; None if another request is at it right now."""
    try:
        async with holding(uploads, f"upload:{upload_id}"):
            async with uploads.transaction() as tx:
                upload = await tx.uploads.get(upload_id)
            if upload is None:
                raise not_found(upload_id)
            if upload.status is not UploadStatus.FINISHING:
                return upload
            return await _finish(uploads, upload)
    except ApiError as error:
        if error.status_code == 423:  # this upload's lock, or its content's
            return None
        raise


async def finish_when_free(uploads: Uploads, upload_id: str) -> None:
    """In the background: finish as soon as the request that ended the upload lets go of it."""
    try:
        for _ in range(200):
            if await try_finish(uploads, upload_id) is not None:
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
    if upload.concat is Concat.PARTIAL:
        return await _finish_partial(uploads, upload, upload.length, upload.sha256)
    async with holding(uploads, f"content:{upload.device_id}:{upload.sha256}"):
        async with uploads.transaction() as tx:
            same = await tx.originals.of_content(upload.device_id, upload.sha256)
        if same is not None and same.upload_id != upload.id:
            # The same bytes from the same device are already an original: one record.
            await uploads.staging.abort(upload)
            return await _complete(uploads, upload, same, new=False)
        try:
            info = await uploads.staging.complete(upload, upload.length, upload.sha256)
        except StagingLostError:
            await lose(uploads, upload)
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
        await uploads.staging.complete(upload, length, sha256)
    except StagingLostError:
        await lose(uploads, upload)
    upload.status = UploadStatus.COMPLETE
    upload.finished_at = utcnow()
    upload.tail = b""
    await save_with_audit(
        uploads,
        upload,
        actor=upload.created_by,
        action="upload.partial_complete",
        detail={"sha256": sha256, "length": length},
    )
    return upload


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
    async with uploads.transaction() as tx:
        if new:
            await tx.originals.add(original)
        await tx.uploads.add(upload)
        if new:
            drift = None
            if meta.get("device_clock"):
                device_clock = datetime.fromisoformat(meta["device_clock"])
                drift = (device_clock - upload.created_at).total_seconds()
            record(
                tx.session,
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
        await tx.audit(
            upload,
            actor=upload.created_by,
            action="upload.complete" if new else "upload.duplicate",
            detail={"record_id": str(original.record_id), "sha256": original.sha256},
        )
    return upload
