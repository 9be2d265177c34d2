from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from quancheng.common.auth import CurrentPrincipal, OfficeStaff, Principal, require_roles
from quancheng.common.limits import Limit, Offset
from quancheng.common.service import SessionDep, secured_router
from quancheng.device_registry import lifecycle
from quancheng.device_registry.inputs import (
    ACCOUNT_ID,
    SECTION_CODE,
    DeviceCreate,
    IssueRequest,
    ReturnRequest,
    TransitionRequest,
)
from quancheng.device_registry.models import DeviceKind, DeviceStatus
from quancheng.device_registry.repository import DEVICE_SORTING, DeviceFilter
from quancheng.device_registry.schemas import (
    ClockHistory,
    ClockReadingRead,
    DeviceEventRead,
    DeviceHistory,
    DevicePage,
    DeviceRead,
)
from quancheng.device_registry.service import devices as service
from quancheng.device_registry.service.scope import KEEPERS

router = secured_router(prefix="/api/v1/devices", tags=["devices 设备"])

# Section heads and custodians pass here; the service limits them to their own section.
DeviceKeeper = Annotated[Principal, Depends(require_roles(*KEEPERS))]


@router.post("", status_code=201, summary="Register a device 登记设备")
async def register_device(
    data: DeviceCreate, session: SessionDep, principal: OfficeStaff
) -> DeviceRead:
    return DeviceRead.model_validate(await service.register_device(session, principal, data))


@router.get("/{device_id}", summary="One device 设备详情")
async def get_device(
    device_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> DeviceRead:
    return DeviceRead.model_validate(await service.get_device(session, principal, device_id))


@router.get("", summary="Devices the caller may see 设备列表")
async def list_devices(
    session: SessionDep,
    principal: CurrentPrincipal,
    section: Annotated[str | None, Query(pattern=SECTION_CODE, description="科室")] = None,
    serial_number: Annotated[str | None, Query(max_length=64, description="序列号")] = None,
    kind: Annotated[DeviceKind | None, Query(description="设备类型")] = None,
    status: Annotated[DeviceStatus | None, Query(description="状态")] = None,
    holder: Annotated[
        str | None, Query(pattern=ACCOUNT_ID, description="the officer it is issued to 领用人")
    ] = None,
    sort: Annotated[str | None, DEVICE_SORTING.query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> DevicePage:
    wanted = DeviceFilter(
        section=section, serial_number=serial_number, kind=kind, status=status, officer_id=holder
    )
    rows, total = await service.list_devices(
        session, principal, wanted, sort=DEVICE_SORTING.parse(sort), offset=offset, limit=limit
    )
    return DevicePage(items=[DeviceRead.model_validate(d) for d in rows], total=total)


@router.get("/{device_id}/history", summary="A device's life cycle, oldest first 设备履历")
async def device_history(
    device_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> DeviceHistory:
    events = await service.device_history(session, principal, device_id)
    return DeviceHistory(
        device_id=device_id, items=[DeviceEventRead.model_validate(e) for e in events]
    )


@router.post(
    "/{device_id}/issue",
    response_model=DeviceRead,
    summary="Issue a device to an officer after its pre-use check 使用前检查并发放",
    responses={409: {"description": "not in stock, or the pre-use check failed (recorded)"}},
)
async def issue_device(
    device_id: UUID, data: IssueRequest, session: SessionDep, principal: DeviceKeeper
) -> DeviceRead:
    device = await service.issue_device(session, principal, device_id, data)
    return DeviceRead.model_validate(device)


@router.post("/{device_id}/return", summary="Take a device back from its officer 归还设备")
async def return_device(
    device_id: UUID,
    session: SessionDep,
    principal: DeviceKeeper,
    data: ReturnRequest | None = None,
) -> DeviceRead:
    note = None if data is None else data.note
    return DeviceRead.model_validate(
        await service.return_device(session, principal, device_id, note)
    )


@router.post(
    "/{device_id}/transitions",
    summary="Stock, maintenance, lost or retired 入库、维修、遗失、报废",
)
async def change_status(
    device_id: UUID, data: TransitionRequest, session: SessionDep, principal: DeviceKeeper
) -> DeviceRead:
    return DeviceRead.model_validate(
        await service.change_status(session, principal, device_id, data)
    )


@router.get(
    "/{device_id}/clock",
    summary="The device's clock drift at pre-use checks and uploads 设备时钟偏差记录",
)
async def clock_history(
    device_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> ClockHistory:
    readings = await service.clock_history(session, principal, device_id)
    return ClockHistory(
        device_id=device_id,
        threshold_seconds=lifecycle.MAX_CLOCK_OFFSET_SECONDS,
        items=[ClockReadingRead.model_validate(r) for r in readings],
    )
