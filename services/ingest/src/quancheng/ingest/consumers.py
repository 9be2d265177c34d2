"""Events ingest listens to: the device registry's, to know which officer holds which device."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.clock import utcnow
from quancheng.common.events import (
    Consumers,
    DeviceIssued,
    DeviceRegistered,
    DeviceReturned,
    DeviceStatusChanged,
)
from quancheng.ingest.models import KnownDevice
from quancheng.ingest.repository import KnownDeviceRepository


async def on_device_registered(session: AsyncSession, event: DeviceRegistered) -> None:
    repo = KnownDeviceRepository(session)
    device = await repo.get(event.device_id) or KnownDevice(
        device_id=event.device_id,
        serial_number=event.serial_number,
        kind=event.kind,
        section=event.section,
        updated_at=event.occurred_at,
    )
    await repo.add(device)


async def on_device_issued(session: AsyncSession, event: DeviceIssued) -> None:
    repo = KnownDeviceRepository(session)
    device = await repo.get(event.device_id)
    if device is not None:
        device.officer_id, device.updated_at = event.officer_id, utcnow()
        await repo.add(device)


async def on_device_returned(session: AsyncSession, event: DeviceReturned) -> None:
    repo = KnownDeviceRepository(session)
    device = await repo.get(event.device_id)
    if device is not None:
        device.officer_id, device.updated_at = None, utcnow()
        await repo.add(device)


async def on_device_status_changed(session: AsyncSession, event: DeviceStatusChanged) -> None:
    """A device that is not issued (in stock, in maintenance, lost, retired) carries no one's
    uploads: a lost device's officer is cleared at once."""
    repo = KnownDeviceRepository(session)
    device = await repo.get(event.device_id)
    if device is not None and device.officer_id is not None:
        device.officer_id, device.updated_at = None, utcnow()
        await repo.add(device)


def register(consumers: Consumers) -> None:
    consumers.on(DeviceRegistered, on_device_registered)
    consumers.on(DeviceIssued, on_device_issued)
    consumers.on(DeviceReturned, on_device_returned)
    consumers.on(DeviceStatusChanged, on_device_status_changed)
