"""tus concatenation: a final upload made of the caller's partial uploads, assembled by ingest in
the background as if its bytes were sent (hashed and staged as they are read)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from quancheng.common.auth import Principal
from quancheng.common.errors import ApiError
from quancheng.common.locks import LockHeldError
from quancheng.ingest import tus
from quancheng.ingest.models import Concat, Upload, UploadStatus
from quancheng.ingest.service.creation import authorized, begin
from quancheng.ingest.service.finishing import try_finish
from quancheng.ingest.service.receiving import last_bytes, take_body
from quancheng.ingest.service.staging import Hashes
from quancheng.ingest.service.state import check_size, end_unfinished

if TYPE_CHECKING:
    from quancheng.ingest.service.uploads import Uploads

log = logging.getLogger(__name__)


async def create_final(
    uploads: Uploads, principal: Principal, *, partial_ids: list[str], metadata_raw: str
) -> Upload:
    """A final upload (tus concatenation): the caller's partial uploads, all of whose bytes are
    in, joined in the order given. Ingest assembles it in the background."""
    meta, section = await authorized(uploads, principal, metadata_raw)
    async with uploads.transaction() as tx:
        partials = [await tx.uploads.get(partial_id) for partial_id in partial_ids]
    length = 0
    for partial_id, partial in zip(partial_ids, partials, strict=True):
        if (
            partial is None
            or partial.created_by != principal.subject
            or partial.concat is not Concat.PARTIAL
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
    check_size(uploads, length)
    upload = await begin(uploads, principal, meta, metadata_raw, section, length, Concat.FINAL)
    upload.partials = partial_ids
    async with uploads.transaction() as tx:
        await tx.uploads.add(upload)
    uploads.assemble_soon(upload.id)
    return upload


def _bad_concat(message: str, message_zh: str) -> ApiError:
    return tus.tus_error(400, "invalid_concatenation", message, f"所列部分上传{message_zh}")


# A partial in one of these states will never be complete.
_ENDED = frozenset({UploadStatus.REJECTED, UploadStatus.TERMINATED, UploadStatus.EXPIRED})


async def assemble(uploads: Uploads, upload_id: str) -> None:
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
    async with uploads.transaction() as tx:
        upload = await tx.uploads.get(upload_id)
        if upload is None or upload.status is not UploadStatus.RECEIVING:
            return
        partials = [await tx.uploads.get(partial_id) for partial_id in upload.partials or []]
    start = 0
    for partial in partials:
        if partial is not None and partial.status is UploadStatus.FINISHING:
            try:
                partial = await try_finish(uploads, partial.id) or partial
            except ApiError as error:
                if error.status_code != 410:
                    raise
                partial = None  # its bytes were lost, and it was ended for that
        if partial is None or partial.status in _ENDED:
            # Nothing can bring the partial back: end the final upload too, with the reason,
            # rather than have every sweep try again until it expires.
            await end_unfinished(
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
            writer = uploads.staging.writer(upload)
            try:
                upload = await take_body(uploads, upload, writer, end, None, body)
            finally:
                await writer.abandon()
        start = end
    if upload.status is UploadStatus.RECEIVING and upload.offset == upload.length == 0:
        await last_bytes(uploads, upload, Hashes(upload))
