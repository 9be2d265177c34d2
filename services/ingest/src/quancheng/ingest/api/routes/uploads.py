from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request
from pydantic import BaseModel, Field, computed_field

from quancheng.common.auth import CurrentPrincipal
from quancheng.common.limits import Limit, Offset, Page
from quancheng.common.service import SessionDep, secured_router
from quancheng.ingest.models import Upload, UploadStatus
from quancheng.ingest.repository import UPLOAD_SORTING
from quancheng.ingest.service import listing, permission, receipts
from quancheng.ingest.service.uploads import Uploads

router = secured_router(tags=["uploads 上传"])


class UploadPermission(BaseModel):
    allowed: bool
    device_id: UUID
    serial_number: str
    officer_id: str
    section: str


@router.get(
    "/api/v1/upload-permission",
    summary="Whether the caller may upload from this device for this officer 上传许可预检",
    responses={403: {"description": "refused, with the reason"}},
)
async def upload_permission(
    session: SessionDep,
    principal: CurrentPrincipal,
    device_id: UUID,
    officer_id: Annotated[str, Query(min_length=1, max_length=128)],
) -> UploadPermission:
    device = await permission.authorize_upload(session, principal, device_id, officer_id)
    return UploadPermission(
        allowed=True,
        device_id=device.device_id,
        serial_number=device.serial_number,
        officer_id=officer_id,
        section=device.section,
    )


class Receipt(BaseModel):
    """What the uploader keeps (D-14b): the device's copy may go only when ``safe_to_wipe``."""

    upload_id: str
    status: UploadStatus
    filename: str
    offset: int
    length: int | None
    record_id: UUID | None
    sha256: str | None
    sm3: str | None = Field(description="with SM3 turned on: the file's SM3")
    size: int | None
    safe_to_wipe: bool = Field(description="stored write-once and verified")
    rejection: str | None
    scan_ppi: int | None = Field(description="a scan's resolution, as its header states it")
    flag: str | None = Field(
        description="accepted, but to be looked at (e.g. a low-resolution scan)"
    )

    @computed_field
    def status_label(self) -> str:
        return self.status.label


@router.get(
    "/api/v1/uploads/{upload_id}/receipt",
    summary="The receipt of an upload: may the device's copy be wiped? 上传回执",
)
async def receipt(request: Request, upload_id: str, principal: CurrentPrincipal) -> Receipt:
    context: Uploads = request.app.state.uploads
    upload = await receipts.receipt(context, principal, upload_id)
    # A partial upload (tus concatenation) is never an original: its device copy stays.
    done = upload.status is UploadStatus.COMPLETE and upload.record_id is not None
    return Receipt(
        upload_id=upload.id,
        status=upload.status,
        filename=upload.meta["filename"],
        offset=upload.offset,
        length=upload.length,
        record_id=upload.record_id,
        sha256=upload.sha256 if done else None,
        sm3=upload.sm3 if done else None,
        size=upload.length if done else None,
        safe_to_wipe=done,
        rejection=upload.rejection,
        scan_ppi=upload.scan_ppi,
        flag=upload.flag,
    )


class UploadSummary(BaseModel):
    """An upload as its list shows it: what it is, how far it came, and what became of it."""

    upload_id: str
    status: UploadStatus
    filename: str
    kind: str
    captured_at: datetime
    activity_id: str | None
    device_id: UUID
    officer_id: str
    section: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    offset: int
    length: int | None = Field(description="null while the length is deferred")
    record_id: UUID | None
    rejection: str | None
    flag: str | None

    @computed_field
    def status_label(self) -> str:
        return self.status.label

    @classmethod
    def of(cls, upload: Upload) -> UploadSummary:
        meta: dict[str, Any] = upload.meta
        return cls(
            upload_id=upload.id,
            status=upload.status,
            filename=meta["filename"],
            kind=meta["kind"],
            captured_at=meta["captured_at"],
            activity_id=meta.get("activity_id"),
            device_id=upload.device_id,
            officer_id=upload.officer_id,
            section=upload.section,
            created_by=upload.created_by,
            created_at=upload.created_at,
            expires_at=upload.expires_at,
            finished_at=upload.finished_at,
            offset=upload.offset,
            length=upload.length,
            record_id=upload.record_id,
            rejection=upload.rejection,
            flag=upload.flag,
        )


@router.get(
    "/api/v1/uploads",
    summary="Uploads the caller may see, the newest first 上传列表",
    description="An officer's own (and those a docking station made for them), a section's "
    "for its head and custodian, all for the office and supervisors. The parts of a tus "
    "concatenation are not listed: their final upload is.",
)
async def list_uploads(
    session: SessionDep,
    principal: CurrentPrincipal,
    status: UploadStatus | None = None,
    officer_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    section: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    sort: Annotated[str | None, UPLOAD_SORTING.query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[UploadSummary]:
    wanted = listing.UploadFilter(status=status, officer_id=officer_id, section=section)
    rows, total = await listing.list_uploads(
        session,
        principal,
        wanted,
        sort=UPLOAD_SORTING.parse(sort),
        offset=offset,
        limit=limit,
    )
    return Page[UploadSummary](items=[UploadSummary.of(u) for u in rows], total=total)
