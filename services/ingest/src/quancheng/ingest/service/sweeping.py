"""Ending unfinished uploads: termination by the client (tus termination), expiry by the sweeper,
which also finishes and assembles what a crash left, and deletes served partial uploads' objects."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.locks import LockHeldError
from quancheng.common.storage import NoSuchObjectError, ObjectLockedError
from quancheng.ingest import tus
from quancheng.ingest.models import Upload, UploadStatus
from quancheng.ingest.service.finishing import try_finish
from quancheng.ingest.service.state import end_unfinished, gone, holding, load, save_with_audit

if TYPE_CHECKING:
    from quancheng.ingest.service.uploads import Uploads


async def terminate(uploads: Uploads, principal: Principal, upload_id: str) -> None:
    """tus termination, for unfinished uploads only: an original can never be deleted here."""
    # A finished upload never becomes unfinished again, so this is refused without the lock
    # (which the background storing of its original may be holding).
    _refuse_if_finished(await load(uploads, principal, upload_id))
    async with holding(uploads, f"upload:{upload_id}"):
        upload = await load(uploads, principal, upload_id)
        _refuse_if_finished(upload)
        if upload.status is not UploadStatus.RECEIVING:
            raise gone(upload)
        await end_unfinished(uploads, upload, UploadStatus.TERMINATED, principal.subject)


def _refuse_if_finished(upload: Upload) -> None:
    if upload.status in (UploadStatus.FINISHING, UploadStatus.COMPLETE):
        raise tus.tus_error(
            403,
            "original_is_permanent",
            "a finished upload is a stored original and cannot be deleted",
            "已完成的上传是原始记录，不能删除",
        )


async def sweep(uploads: Uploads, *, batch: int = 100) -> int:
    """Expire abandoned uploads (their parts and tail go); finish any left FINISHING; go on
    assembling final uploads a crash interrupted; delete the objects of partial uploads that
    have served. Returns how many uploads it ended."""
    now = utcnow()
    async with uploads.transaction() as tx:
        expired = await tx.uploads.expired(now, limit=batch)
        finishing = await tx.uploads.finishing(limit=batch)
        assembling = await tx.uploads.assembling(limit=batch)
        spent = await tx.uploads.spent_partials(now - uploads.expiry, limit=batch)
    ended = 0
    for upload_id in assembling:
        uploads.assemble_soon(upload_id)
    for upload_id in spent:
        ended += await _remove_partial(uploads, upload_id)
    for upload_id in expired:
        try:
            async with uploads.locks.hold(f"upload:{upload_id}"):
                async with uploads.transaction() as tx:
                    upload = await tx.uploads.get(upload_id)
                if upload is None or upload.status is not UploadStatus.RECEIVING:
                    continue
                if upload.expires_at >= now:
                    continue  # touched since it was listed
                await end_unfinished(uploads, upload, UploadStatus.EXPIRED, "ingest")
                ended += 1
        except LockHeldError:
            continue  # in use right now, so not abandoned
    for upload_id in finishing:
        try:
            await try_finish(uploads, upload_id)
        except ApiError:
            continue  # e.g. its bytes were lost: it was ended with the reason
    return ended


async def _remove_partial(uploads: Uploads, upload_id: str) -> int:
    """Delete a served partial upload's object (its retention has passed by now)."""
    try:
        async with uploads.locks.hold(f"upload:{upload_id}"):
            async with uploads.transaction() as tx:
                upload = await tx.uploads.get(upload_id)
            if upload is None or upload.status is not UploadStatus.COMPLETE:
                return 0
            with contextlib.suppress(NoSuchObjectError):
                await uploads.staging.discard(upload.object_key)
            upload.status = UploadStatus.EXPIRED
            await save_with_audit(
                uploads,
                upload,
                actor="ingest",
                action="upload.partial_removed",
                detail={"object_key": upload.object_key},
            )
            return 1
    except (LockHeldError, ObjectLockedError):
        return 0  # in use, or still retained: the next sweep
