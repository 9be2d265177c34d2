"""Records: who sees which (A-6a, E-10), and finding them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.models import Record
from quancheng.catalog.repository import (
    ActivityRepository,
    EnterpriseRepository,
    RecordFilter,
    RecordRepository,
    Visibility,
)
from quancheng.common.auth import Principal, Role
from quancheng.common.errors import ApiError
from quancheng.common.sorting import Sort

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


async def reindex(session: AsyncSession, records: Sequence[Record]) -> None:
    """Bring each record's copy of its activity's facts, and its search text, up to date (after
    it was tied to an activity, or the activity, its enterprise or the record changed)."""
    activity_ids = {UUID(r.activity_id) for r in records if r.activity_id is not None}
    activities = {a.id: a for a in await ActivityRepository(session).many(activity_ids)}
    enterprise_ids = {a.enterprise_id for a in activities.values() if a.enterprise_id}
    enterprises = {e.id: e for e in await EnterpriseRepository(session).many(enterprise_ids)}
    repository = RecordRepository(session)
    for record in records:
        activity = None if record.activity_id is None else activities.get(UUID(record.activity_id))
        enterprise = None
        if activity is not None and activity.enterprise_id is not None:
            enterprise = enterprises.get(activity.enterprise_id)
        record.enterprise_id = None if activity is None else activity.enterprise_id
        record.activity_kind = None if activity is None else activity.kind
        record.activity_type = None if activity is None else activity.type
        words = [record.filename, record.proves]
        if activity is not None:
            words += [activity.matter, activity.case_number, activity.place]
        if enterprise is not None:
            words += [enterprise.name, enterprise.credit_code]
        record.search_text = " ".join(w for w in words if w)
        await repository.add(record)


async def list_records(
    session: AsyncSession,
    principal: Principal,
    wanted: RecordFilter,
    *,
    sort: Sort | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Record], int]:
    return await RecordRepository(session).page(
        visibility=visibility(principal), wanted=wanted, sort=sort, offset=offset, limit=limit
    )


async def get_record(session: AsyncSession, principal: Principal, record_id: UUID) -> Record:
    """The record, if the caller may see it (one they may not is as good as absent)."""
    record = await RecordRepository(session).one(record_id, visibility=visibility(principal))
    if record is None:
        raise ApiError(404, "record_not_found", "no such record", "未找到该记录")
    return record
