"""Every query of the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, false, func, or_, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.models import Enterprise, Record


@dataclass(frozen=True)
class Visibility:
    """Which records a caller may see: all, those of a section, and/or one officer's own."""

    everything: bool = False
    section: str | None = None
    officer: str | None = None

    def condition(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        allowed: list[ColumnElement[bool]] = []
        if self.section is not None:
            allowed.append(col(Record.section) == self.section)
        if self.officer is not None:
            allowed.append(col(Record.officer_id) == self.officer)
        return or_(*allowed) if allowed else false()

    def admits(self, record: Record) -> bool:
        return (
            self.everything
            or (self.section is not None and record.section == self.section)
            or (self.officer is not None and record.officer_id == self.officer)
        )


@dataclass(frozen=True)
class RecordFilter:
    """What a search asks for; None means any."""

    section: str | None = None
    officer_id: str | None = None
    device_id: str | None = None
    kind: str | None = None
    activity_id: str | None = None
    unassigned: bool | None = None  # True: not yet linked to an activity (A-3, D-11)
    captured_from: datetime | None = None
    captured_to: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        wanted: list[ColumnElement[bool]] = []
        for column, value in (
            (Record.section, self.section),
            (Record.officer_id, self.officer_id),
            (Record.device_id, self.device_id),
            (Record.kind, self.kind),
            (Record.activity_id, self.activity_id),
        ):
            if value is not None:
                wanted.append(col(column) == value)
        if self.unassigned is not None:
            linked = col(Record.activity_id).is_(None)
            wanted.append(linked if self.unassigned else ~linked)
        if self.captured_from is not None:
            wanted.append(col(Record.captured_at) >= self.captured_from)
        if self.captured_to is not None:
            wanted.append(col(Record.captured_at) < self.captured_to)
        return wanted


class RecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, record_id: UUID) -> Record | None:
        return await self.session.get(Record, record_id)

    async def add(self, record: Record) -> None:
        self.session.add(record)
        await self.session.flush()

    async def page(
        self, *, visibility: Visibility, wanted: RecordFilter, offset: int, limit: int
    ) -> tuple[Sequence[Record], int]:
        """Newest capture first; the record id breaks ties, so pages never overlap."""
        conditions = [visibility.condition(), *wanted.conditions()]
        query = (
            select(Record)
            .where(*conditions)
            .order_by(col(Record.captured_at).desc().nulls_last(), col(Record.record_id).asc())
            .offset(offset)
            .limit(limit)
        )
        count = select(func.count()).select_from(Record).where(*conditions)
        return (await self.session.exec(query)).all(), (await self.session.exec(count)).one()


class EnterpriseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, enterprise_id: UUID) -> Enterprise | None:
        return await self.session.get(Enterprise, enterprise_id)

    async def by_credit_code(self, credit_code: str) -> Enterprise | None:
        query = select(Enterprise).where(col(Enterprise.credit_code) == credit_code)
        return (await self.session.exec(query)).first()

    async def by_external_id(self, external_id: str) -> Enterprise | None:
        query = select(Enterprise).where(col(Enterprise.external_id) == external_id)
        return (await self.session.exec(query)).first()

    async def save(self, enterprise: Enterprise) -> None:
        self.session.add(enterprise)
        await self.session.flush()

    async def search(
        self, text: str | None, *, offset: int, limit: int
    ) -> tuple[Sequence[Enterprise], int]:
        """By a fragment of the name (Chinese too, any length) or the start of the credit code;
        by name, then id."""
        conditions: list[ColumnElement[bool]] = []
        if text:
            conditions.append(
                or_(
                    col(Enterprise.name).contains(text, autoescape=True),
                    col(Enterprise.credit_code).startswith(text.upper(), autoescape=True),
                )
            )
        query = (
            select(Enterprise)
            .where(*conditions)
            .order_by(col(Enterprise.name), col(Enterprise.id))
            .offset(offset)
            .limit(limit)
        )
        count = select(func.count()).select_from(Enterprise).where(*conditions)
        return (await self.session.exec(query)).all(), (await self.session.exec(count)).one()
