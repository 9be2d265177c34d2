from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import ColumnElement, false, func, or_, true
from sqlmodel import col, select

from quancheng.common.db.repository import Repository
from quancheng.common.sorting import Sort, Sorting
from quancheng.device_registry.models import (
    ClockReading,
    Device,
    DeviceEvent,
    DeviceKind,
    DeviceStatus,
    DockingStation,
    Officer,
    Section,
    UploadClient,
)


@dataclass(frozen=True)
class DeviceFilter:
    """What a list of devices asks for; a field left None asks for anything."""

    section: str | None = None
    serial_number: str | None = None
    kind: DeviceKind | None = None
    status: DeviceStatus | None = None
    officer_id: str | None = None  # the holder

    def condition(self) -> ColumnElement[bool]:
        wanted: ColumnElement[bool] = true()
        for column, value in (
            (Device.section, self.section),
            (Device.serial_number, self.serial_number),
            (Device.kind, self.kind),
            (Device.status, self.status),
            (Device.officer_id, self.officer_id),
        ):
            if value is not None:
                wanted = wanted & (col(column) == value)
        return wanted


# Devices a section still has: everything not lost or written off.
IN_SERVICE = (
    DeviceStatus.REGISTERED,
    DeviceStatus.IN_STOCK,
    DeviceStatus.ISSUED,
    DeviceStatus.RETURNED,
    DeviceStatus.IN_MAINTENANCE,
)


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


DEVICE_SORTING = Sorting(
    {
        "registered_at": col(Device.registered_at),
        "serial_number": col(Device.serial_number),
        "kind": col(Device.kind),
        "model": col(Device.model),
        "asset_number": col(Device.asset_number),
        "section": col(Device.section),
        "status": col(Device.status),
        "officer_id": col(Device.officer_id),
    },
    unique=col(Device.id),
    default=[col(Device.registered_at), col(Device.id)],
)


class DeviceRepository(Repository[Device]):
    model = Device

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

    async def held_by(self, officer_id: str) -> Sequence[Device]:
        result = await self.session.exec(
            select(Device).where(Device.officer_id == officer_id).order_by(col(Device.id))
        )
        return result.all()

    async def in_service_counts(self) -> dict[tuple[str, DeviceKind], int]:
        """How many devices of each kind each section has in service."""
        query = (
            select(Device.section, Device.kind, func.count())
            .where(col(Device.status).in_(IN_SERVICE))
            .group_by(col(Device.section), col(Device.kind))
        )
        rows = (await self.session.exec(query)).all()
        return {(section, DeviceKind(kind)): count for section, kind, count in rows}

    async def page(
        self,
        *,
        visibility: Visibility,
        wanted: DeviceFilter,
        sort: Sort | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Device], int]:
        """In the order of registration, unless ``sort`` asks for another."""
        return await self._paged(
            visibility.condition(),
            wanted.condition(),
            order_by=DEVICE_SORTING.order_by(sort),
            offset=offset,
            limit=limit,
        )


class DeviceEventRepository(Repository[DeviceEvent]):
    model = DeviceEvent

    async def next_seq(self, device_id: UUID) -> int:
        latest = (
            await self.session.exec(
                select(func.max(DeviceEvent.seq)).where(DeviceEvent.device_id == device_id)
            )
        ).one()
        return (latest or 0) + 1

    async def history(self, device_id: UUID) -> Sequence[DeviceEvent]:
        result = await self.session.exec(
            select(DeviceEvent)
            .where(DeviceEvent.device_id == device_id)
            .order_by(col(DeviceEvent.seq))
        )
        return result.all()


class SectionRepository(Repository[Section]):
    model = Section

    async def by_name(self, name: str) -> Section | None:
        return (await self.session.exec(select(Section).where(Section.name == name))).first()

    async def all(self) -> Sequence[Section]:
        return (await self.session.exec(select(Section).order_by(col(Section.code)))).all()

    async def led_by(self, officer_id: str) -> Sequence[Section]:
        """Sections whose head or custodian the officer is."""
        query = select(Section).where(
            or_(
                col(Section.head_officer_id) == officer_id,
                col(Section.custodian_officer_id) == officer_id,
            )
        )
        return (await self.session.exec(query.order_by(col(Section.code)))).all()


OFFICER_SORTING = Sorting(
    {"section": col(Officer.section), "id": col(Officer.id), "name": col(Officer.name)},
    unique=col(Officer.id),
    default=[col(Officer.section), col(Officer.id)],
)


class OfficerRepository(Repository[Officer]):
    model = Officer

    async def by_certificate(self, number: str) -> Officer | None:
        query = select(Officer).where(Officer.certificate_number == number)
        return (await self.session.exec(query)).first()

    async def frontline_counts(self) -> dict[str, int]:
        """Active frontline officers per section (A-7: each is owed a body camera)."""
        query = (
            select(Officer.section, func.count())
            .where(col(Officer.frontline), col(Officer.active))
            .group_by(col(Officer.section))
        )
        return dict((await self.session.exec(query)).all())

    async def page(
        self,
        *,
        section: str | None,
        only: str | None,
        sort: Sort | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Officer], int]:
        """Officers of ``section`` (all sections if None), or just the one named ``only``; by
        section, then id, unless ``sort`` asks for another order."""
        conditions: list[ColumnElement[bool]] = []
        if section is not None:
            conditions.append(col(Officer.section) == section)
        if only is not None:
            conditions.append(col(Officer.id) == only)
        return await self._paged(
            *conditions,
            order_by=OFFICER_SORTING.order_by(sort),
            offset=offset,
            limit=limit,
        )


class StationRepository(Repository[DockingStation]):
    model = DockingStation

    async def by_serial(self, serial_number: str) -> DockingStation | None:
        query = select(DockingStation).where(DockingStation.serial_number == serial_number)
        return (await self.session.exec(query)).first()

    async def all(self, *, section: str | None) -> Sequence[DockingStation]:
        query = select(DockingStation)
        if section is not None:
            query = query.where(DockingStation.section == section)
        return (await self.session.exec(query.order_by(col(DockingStation.name)))).all()


class UploadClientRepository(Repository[UploadClient]):
    model = UploadClient

    async def of_device(self, device_id: UUID) -> Sequence[UploadClient]:
        query = select(UploadClient).where(UploadClient.device_id == device_id)
        return (await self.session.exec(query.order_by(col(UploadClient.created_at)))).all()

    async def of_station(self, station_id: UUID) -> Sequence[UploadClient]:
        query = select(UploadClient).where(UploadClient.station_id == station_id)
        return (await self.session.exec(query.order_by(col(UploadClient.created_at)))).all()


class ClockReadingRepository(Repository[ClockReading]):
    model = ClockReading

    async def exists(self, source: str, source_id: str) -> bool:
        query = select(ClockReading.id).where(
            ClockReading.source == source, ClockReading.source_id == source_id
        )
        return (await self.session.exec(query)).first() is not None

    async def of_device(self, device_id: UUID, *, limit: int) -> Sequence[ClockReading]:
        """The newest ``limit`` readings, oldest first."""
        query = (
            select(ClockReading)
            .where(ClockReading.device_id == device_id)
            .order_by(col(ClockReading.at).desc(), col(ClockReading.id))
            .limit(limit)
        )
        return list(reversed((await self.session.exec(query)).all()))
