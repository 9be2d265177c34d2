"""tus creation: an upload checked, authorized, and its storage begun."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import uuid4

from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow
from quancheng.common.hashing import ResumableSha256, resumable_sm3
from quancheng.common.storage import section_key
from quancheng.ingest import tus
from quancheng.ingest.models import Concat, Upload, UploadStatus
from quancheng.ingest.service import permission
from quancheng.ingest.service.state import check_size, save_with_audit

if TYPE_CHECKING:
    from quancheng.ingest.service.uploads import Uploads


async def create(
    uploads: Uploads,
    principal: Principal,
    *,
    length: int | None,
    defer_length: bool,
    metadata_raw: str,
    partial: bool = False,
) -> Upload:
    """A new upload. A partial one (tus concatenation) carries the same metadata as the final
    upload it is for."""
    meta, section = await authorized(uploads, principal, metadata_raw)
    if length is None and not defer_length:
        raise tus.tus_error(
            400,
            "length_required",
            "give Upload-Length, or Upload-Defer-Length: 1",
            "请提供 Upload-Length，或 Upload-Defer-Length: 1",
        )
    if length is not None:
        check_size(uploads, length)
    return await begin(
        uploads,
        principal,
        meta,
        metadata_raw,
        section,
        length,
        Concat.PARTIAL if partial else None,
    )


async def authorized(
    uploads: Uploads, principal: Principal, metadata_raw: str
) -> tuple[tus.UploadMetadata, str]:
    """The checked metadata, and the section of the device, if the caller may upload for it."""
    meta = tus.UploadMetadata.parse(metadata_raw)
    async with uploads.transaction() as tx:
        device = await permission.authorize_upload(
            tx.session, principal, meta.device_id, meta.officer_id
        )
        if meta.source_record_id is not None and (
            await tx.originals.get(meta.source_record_id) is None
        ):
            raise tus.bad_metadata(
                "source_record_id", "is not a stored original", "不是已保存的原始记录"
            )
    return meta, device.section


async def begin(
    uploads: Uploads,
    principal: Principal,
    meta: tus.UploadMetadata,
    metadata_raw: str,
    section: str,
    length: int | None,
    concat: Concat | None,
) -> Upload:
    now = utcnow()
    upload_id = uuid4().hex
    if concat is Concat.PARTIAL:
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
        multipart_id=await uploads.staging.begin(key, retain_until=retain_until),
        parts=[],
        tail=b"",
        sha256_state=ResumableSha256().state(),
        sm3_state=resumable_sm3().state() if uploads.settings.sm3 else None,
        concat=concat,
    )
    await save_with_audit(
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
