from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.device_registry.models import Device


class DeviceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, device_id: UUID) -> Device | None:
        return await self.session.get(Device, device_id)

    async def by_serial(self, serial_number: str) -> Device | None:
        result = await self.session.exec(
            select(Device).where(Device.serial_number == serial_number)
        )
        return result.first()

    async def add(self, device: Device) -> None:
        self.session.add(device)
        await self.session.flush()

    async def page(
        self, *, section: str | None, offset: int, limit: int
    ) -> tuple[Sequence[Device], int]:
        query = select(Device)
        count = select(func.count()).select_from(Device)
        if section is not None:
            query = query.where(Device.section == section)
            count = count.where(col(Device.section) == section)
        rows = (
            await self.session.exec(
                query.order_by(col(Device.registered_at), col(Device.id))
                .offset(offset)
                .limit(limit)
            )
        ).all()
        total = (await self.session.exec(count)).one()
        return rows, total
