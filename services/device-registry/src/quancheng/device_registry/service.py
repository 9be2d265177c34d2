"""Device rules. Services never commit: the request's session does, with outbox and audit rows."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common import audit
from quancheng.common.auth import Principal, Role
from quancheng.common.errors import ApiError
from quancheng.common.events import DeviceRegistered, record
from quancheng.common.events.contracts import utcnow
from quancheng.device_registry.models import Device
from quancheng.device_registry.repository import DeviceRepository
from quancheng.device_registry.schemas import DeviceCreate

# Roles that see every section's devices; others see only their own section's.
_ALL_SECTIONS = frozenset({Role.OFFICE, Role.SUPERVISOR})


def _visible_section(principal: Principal) -> str | None:
    return None if principal.has_any(*_ALL_SECTIONS) else principal.section or ""


async def register_device(
    session: AsyncSession, principal: Principal, data: DeviceCreate
) -> Device:
    repo = DeviceRepository(session)
    if await repo.by_serial(data.serial_number) is not None:
        raise ApiError(
            409,
            "serial_number_taken",
            f"a device with serial number {data.serial_number!r} is already registered",
            f"序列号为 {data.serial_number} 的设备已登记",
        )
    device = Device(**data.model_dump(), registered_by=principal.subject, registered_at=utcnow())
    await repo.add(device)
    record(
        session,
        DeviceRegistered(
            device_id=device.id,
            serial_number=device.serial_number,
            kind=device.kind.value,
            model=device.model,
            section=device.section,
            explosion_proof=device.explosion_proof,
            registered_by=principal.subject,
        ),
    )
    await audit.append(
        session,
        actor=principal.subject,
        action="device.register",
        target=f"device:{device.id}",
        detail={"serial_number": device.serial_number, "section": device.section},
    )
    return device


async def get_device(session: AsyncSession, principal: Principal, device_id: UUID) -> Device:
    device = await DeviceRepository(session).get(device_id)
    section = _visible_section(principal)
    if device is None or (section is not None and device.section != section):
        raise ApiError(404, "device_not_found", "no such device", "未找到该设备")
    return device


async def list_devices(
    session: AsyncSession, principal: Principal, *, offset: int, limit: int
) -> tuple[Sequence[Device], int]:
    return await DeviceRepository(session).page(
        section=_visible_section(principal), offset=offset, limit=limit
    )
