from __future__ import annotations

from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.ingest.models import KnownDevice


class KnownDeviceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, device_id: UUID) -> KnownDevice | None:
        return await self.session.get(KnownDevice, device_id)

    async def save(self, device: KnownDevice) -> None:
        self.session.add(device)
        await self.session.flush()
