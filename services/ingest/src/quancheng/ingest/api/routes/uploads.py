from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel

from quancheng.common.auth import CurrentPrincipal
from quancheng.common.service import SessionDep, secured_router
from quancheng.ingest import service

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
    device = await service.authorize_upload(session, principal, device_id, officer_id)
    return UploadPermission(
        allowed=True,
        device_id=device.device_id,
        serial_number=device.serial_number,
        officer_id=officer_id,
        section=device.section,
    )
