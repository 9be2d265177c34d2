from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, Request
from pydantic import BaseModel, Field, computed_field

from quancheng.common.auth import CurrentPrincipal
from quancheng.common.service import SessionDep, secured_router
from quancheng.ingest.models import UploadStatus
from quancheng.ingest.service import permission, receipts
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
