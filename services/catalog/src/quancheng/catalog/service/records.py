"""Records: who sees which (A-6a, E-10), and finding them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.models import Record
from quancheng.catalog.repository import RecordFilter, RecordRepository, Visibility
from quancheng.common.auth import Principal, Role
from quancheng.common.errors import ApiError

# Roles that see every section's records (the office and archivists manage them; supervisors
# only look; the district platform keeps activities in step for every section). Heads and
# custodians see their section's; officers their own recordings.
ALL_SECTIONS = (Role.OFFICE, Role.ARCHIVIST, Role.SUPERVISOR, Role.INTEGRATION)
OWN_SECTION = (Role.SECTION_HEAD, Role.CUSTODIAN)


def visibility(principal: Principal) -> Visibility:
    if principal.has_any(*ALL_SECTIONS):
        return Visibility(everything=True, clearance=principal.clearance)
    section = principal.section if principal.has_any(*OWN_SECTION) else None
    officer = principal.subject if principal.has_any(Role.OFFICER) else None
    return Visibility(section=section, officer=officer, clearance=principal.clearance)


async def list_records(
    session: AsyncSession, principal: Principal, wanted: RecordFilter, *, offset: int, limit: int
) -> tuple[Sequence[Record], int]:
    return await RecordRepository(session).page(
        visibility=visibility(principal), wanted=wanted, offset=offset, limit=limit
    )


async def get_record(session: AsyncSession, principal: Principal, record_id: UUID) -> Record:
    """The record, if the caller may see it (one they may not is as good as absent)."""
    record = await RecordRepository(session).get(record_id)
    if record is None or not visibility(principal).admits_record(record):
        raise ApiError(404, "record_not_found", "no such record", "未找到该记录")
    return record
