"""What every phase of an upload shares: finding the caller's upload, holding its lock, saving
its new state with the audit entry, ending it unfinished, and the refusals that say why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.locks import LockHeldError
from quancheng.ingest import tus
from quancheng.ingest.models import Upload, UploadStatus

if TYPE_CHECKING:
    from quancheng.ingest.service.uploads import Uploads


def not_found(upload_id: str) -> ApiError:
    return tus.tus_error(404, "upload_not_found", f"no upload {upload_id}", "未找到该上传")


def gone(upload: Upload) -> ApiError:
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


def check_size(uploads: Uploads, length: int) -> None:
    if length > uploads.max_size:
        raise tus.tus_error(
            413,
            "upload_too_large",
            f"an upload may be at most {uploads.settings.max_upload_gib} GiB",
            f"单个上传不能超过 {uploads.settings.max_upload_gib} GiB",
        )


@asynccontextmanager
async def holding(uploads: Uploads, name: str) -> AsyncIterator[None]:
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


async def load(uploads: Uploads, principal: Principal, upload_id: str) -> Upload:
    """The upload, if the caller started it (uploads are not shared between callers)."""
    async with uploads.transaction() as tx:
        upload = await tx.uploads.get(upload_id)
    if upload is None or upload.created_by != principal.subject:
        raise not_found(upload_id)
    return upload


async def save_with_audit(
    uploads: Uploads, upload: Upload, *, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Store the upload's new state and its audit entry in one transaction."""
    async with uploads.transaction() as tx:
        await tx.uploads.add(upload)
        await tx.audit(upload, actor=actor, action=action, detail=detail)


async def end_unfinished(
    uploads: Uploads, upload: Upload, status: UploadStatus, actor: str, reason: str | None = None
) -> None:
    await uploads.staging.abort(upload)
    upload.status = status
    upload.rejection = reason
    upload.tail = b""
    upload.finished_at = utcnow()
    await save_with_audit(
        uploads,
        upload,
        actor=actor,
        action=f"upload.{status.value}",
        detail={"offset": upload.offset, "length": upload.length},
    )


async def lose(uploads: Uploads, upload: Upload) -> NoReturn:
    """The store has fewer bytes than were acknowledged: say so rather than keep a wrong file."""
    await end_unfinished(
        uploads,
        upload,
        UploadStatus.REJECTED,
        "ingest",
        reason="the server lost this upload's latest bytes (a power failure); upload it again",
    )
    raise gone(upload)
