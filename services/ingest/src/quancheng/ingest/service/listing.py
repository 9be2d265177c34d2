"""Which uploads a caller may list: the ones they started and the ones made for them (an
officer's recordings uploaded by a docking station); a section's for its head and custodian;
every upload for the office and supervisors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.auth import Principal, Role
from quancheng.common.sorting import Sort
from quancheng.ingest.models import Upload, UploadStatus
from quancheng.ingest.repository import UploadRepository

ALL_SECTIONS = (Role.OFFICE, Role.SUPERVISOR)
OWN_SECTION = (Role.SECTION_HEAD, Role.CUSTODIAN)


@dataclass(frozen=True)
class UploadFilter:
    status: UploadStatus | None = None
    officer_id: str | None = None
    section: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        wanted: list[ColumnElement[bool]] = []
        if self.status is not None:
            wanted.append(col(Upload.status) == self.status)
        if self.officer_id is not None:
            wanted.append(col(Upload.officer_id) == self.officer_id)
        if self.section is not None:
            wanted.append(col(Upload.section) == self.section)
        return wanted


def visible(principal: Principal) -> ColumnElement[bool]:
    if principal.has_any(*ALL_SECTIONS):
        return true()
    seen: list[ColumnElement[bool]] = [col(Upload.created_by) == principal.subject]
    if principal.has_any(Role.OFFICER):
        seen.append(col(Upload.officer_id) == principal.subject)
    if principal.has_any(*OWN_SECTION):
        seen.append(
            false() if principal.section is None else col(Upload.section) == principal.section
        )
    return or_(*seen)


async def list_uploads(
    session: AsyncSession,
    principal: Principal,
    wanted: UploadFilter,
    *,
    sort: Sort | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Upload], int]:
    return await UploadRepository(session).page(
        visible(principal), *wanted.conditions(), sort=sort, offset=offset, limit=limit
    )
