from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import ColumnElement, false, func, or_, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.device_registry.models import Device, DeviceEvent


@dataclass(frozen=True)
class Visibility:
    """Which devices a caller may see: all of them, or those of a section and/or those issued to
    one officer (either suffices)."""

    everything: bool = False
    section: str | None = None
    holder: str | None = None

    def condition(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        allowed: list[ColumnElement[bool]] = []
        if self.section is not None:
            allowed.append(col(Device.section) == self.section)
        if self.holder is not None:
            allowed.append(col(Device.officer_id) == self.holder)
        return or_(*allowed) if allowed else false()

    def admits(self, device: Device) -> bool:
        return (
            self.everything
            or (self.section is not None and device.section == self.section)
            or (self.holder is not None and device.officer_id == self.holder)
        )


class DeviceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, device_id: UUID) -> Device | None:
        return await self.session.get(Device, device_id)

    async def get_for_update(self, device_id: UUID) -> Device | None:
        """The device, locked until the transaction ends (PostgreSQL; SQLite transactions
        already hold the write lock), so that two transitions cannot both start from one status."""
        result = await self.session.exec(
            select(Device)
            .where(Device.id == device_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.first()

    async def by_serial(self, serial_number: str) -> Device | None:
        result = await self.session.exec(
            select(Device).where(Device.serial_number == serial_number)
        )
        return result.first()

    async def add(self, device: Device) -> None:
        self.session.add(device)
        await self.session.flush()

    async def save(self, device: Device) -> None:
        self.session.add(device)
        await self.session.flush()

    async def page(
        self, *, visibility: Visibility, offset: int, limit: int
    ) -> tuple[Sequence[Device], int]:
        condition = visibility.condition()
        query = select(Device).where(condition)
        count = select(func.count()).select_from(Device).where(condition)
        rows = (
            await self.session.exec(
                query.order_by(col(Device.registered_at), col(Device.id))
                .offset(offset)
                .limit(limit)
            )
        ).all()
        total = (await self.session.exec(count)).one()
        return rows, total


class DeviceEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_seq(self, device_id: UUID) -> int:
        latest = (
            await self.session.exec(
                select(func.max(DeviceEvent.seq)).where(DeviceEvent.device_id == device_id)
            )
        ).one()
        return (latest or 0) + 1

    async def add(self, event: DeviceEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def history(self, device_id: UUID) -> Sequence[DeviceEvent]:
        result = await self.session.exec(
            select(DeviceEvent)
            .where(DeviceEvent.device_id == device_id)
            .order_by(col(DeviceEvent.seq))
        )
        return result.all()
