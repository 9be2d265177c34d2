"""Who may upload from which device for which officer (A-3, A-6a)."""

from __future__ import annotations

from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.auth import Principal, Role
from quancheng.common.errors import ApiError
from quancheng.ingest.models import KnownDevice
from quancheng.ingest.repository import KnownDeviceRepository


def _refused(message: str, message_zh: str) -> ApiError:
    return ApiError(403, "upload_not_permitted", message, message_zh)


async def authorize_upload(
    session: AsyncSession, principal: Principal, device_id: UUID, officer_id: str
) -> KnownDevice:
    """The device an upload comes from, if the caller may upload from it for ``officer_id``.

    The device must be issued to that officer now (A-6a, D-3), and the caller must be the
    officer, the device itself, or a docking station of the device's section acting for the
    officer. Anyone else is refused, with the reason.
    """
    device = await KnownDeviceRepository(session).get(device_id)
    if device is None:
        raise _refused(f"device {device_id} is not registered", f"设备 {device_id} 未登记")
    if device.officer_id != officer_id:
        raise _refused(
            f"device {device.serial_number} is not issued to {officer_id}",
            f"设备 {device.serial_number} 当前未发放给 {officer_id}",
        )
    if principal.has_any(Role.DEVICE):
        if principal.device_id is not None and principal.device_id != str(device_id):
            raise _refused(
                "a device may upload only its own recordings", "设备只能上传本设备的记录"
            )
        if principal.station_id is not None and principal.section != device.section:
            raise _refused(
                f"this docking station serves section {principal.section}, "
                f"the device belongs to {device.section}",
                f"采集站属于科室 {principal.section}，设备属于科室 {device.section}",
            )
        if principal.device_id is None and principal.station_id is None:
            raise _refused("the token names no device or station", "令牌未指明设备或采集站")
        return device
    if principal.has_any(Role.OFFICER) and principal.subject == officer_id:
        return device
    raise _refused(
        "only the officer holding the device, the device, or a docking station of its section "
        "may upload its recordings",
        "只有持有该设备的执法人员、设备本身或本科室的采集站可以上传",
    )
