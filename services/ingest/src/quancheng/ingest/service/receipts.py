"""What a caller is told about its upload: where it stands (tus HEAD) and its receipt (D-14b).
Asking also finishes, or starts assembling, an upload a crash left under way."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from quancheng.common.auth import Principal
from quancheng.ingest.models import Concat, Upload, UploadStatus
from quancheng.ingest.service.finishing import try_finish
from quancheng.ingest.service.state import gone, load

if TYPE_CHECKING:
    from quancheng.ingest.service.uploads import Uploads


async def current(uploads: Uploads, principal: Principal, upload_id: str) -> Upload:
    """The upload as HEAD reports it; one that was left finishing is finished first."""
    upload = await load(uploads, principal, upload_id)
    if upload.status in (UploadStatus.TERMINATED, UploadStatus.EXPIRED, UploadStatus.REJECTED):
        raise gone(upload)
    if upload.status is UploadStatus.FINISHING:
        upload = await try_finish(uploads, upload_id) or upload
    elif upload.concat is Concat.FINAL:
        uploads.assemble_soon(upload_id)  # on its way already, unless a crash stopped it
    return upload


async def receipt(uploads: Uploads, principal: Principal, upload_id: str) -> Upload:
    """The upload (D-14b receipts). One still finishing (or being assembled) is finished here,
    or waited for while other work finishes it, up to the receipt wait; then it is reported
    as it stands."""
    upload = await load(uploads, principal, upload_id)
    deadline = time.monotonic() + uploads.settings.receipt_wait_seconds
    while _under_way(upload):
        if upload.status is UploadStatus.FINISHING:
            finished = await try_finish(uploads, upload_id)
            if finished is not None:
                return finished
        else:
            uploads.assemble_soon(upload_id)  # on its way already, unless a crash stopped it
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.1)
        upload = await load(uploads, principal, upload_id)
    return upload


def _under_way(upload: Upload) -> bool:
    """All its bytes are in (or, for a final upload, in its partials), the original not yet."""
    return upload.status is UploadStatus.FINISHING or (
        upload.concat is Concat.FINAL and upload.status is UploadStatus.RECEIVING
    )
