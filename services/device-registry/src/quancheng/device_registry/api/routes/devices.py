from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from quancheng.common.auth import CurrentPrincipal, Principal, Role, require_roles
from quancheng.common.service import SessionDep, secured_router
from quancheng.device_registry import service
from quancheng.device_registry.schemas import DeviceCreate, DevicePage, DeviceRead

router = secured_router(prefix="/api/v1/devices", tags=["devices 设备"])

OfficeStaff = Annotated[Principal, Depends(require_roles(Role.OFFICE))]


@router.post("", status_code=201, summary="Register a device 登记设备")
async def register_device(
    data: DeviceCreate, session: SessionDep, principal: OfficeStaff
) -> DeviceRead:
    return DeviceRead.of(await service.register_device(session, principal, data))


@router.get("/{device_id}", summary="One device 设备详情")
async def get_device(
    device_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> DeviceRead:
    return DeviceRead.of(await service.get_device(session, principal, device_id))


@router.get("", summary="Devices the caller may see 设备列表")
async def list_devices(
    session: SessionDep,
    principal: CurrentPrincipal,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DevicePage:
    rows, total = await service.list_devices(session, principal, offset=offset, limit=limit)
    return DevicePage(items=[DeviceRead.of(d) for d in rows], total=total)
