"""Records: who sees which (A-6a, E-10), finding them, and resolving what an access request names
into them (C-6b)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog import config
from quancheng.catalog.inputs import RecordSelectionRequest
from quancheng.catalog.models import Record
from quancheng.catalog.repository import (
    ActivityFilter,
    ActivityRepository,
    EnterpriseRepository,
    RecordFilter,
    RecordRepository,
    Visibility,
)
from quancheng.common.auth import Clearance, Principal, Role
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


@dataclass(frozen=True)
class Selected:
    """A record of a selection, with what the access gateway needs to judge and serve it."""

    record_id: UUID
    filename: str
    kind: str
    size: int
    sha256: str
    object_key: str
    section: str | None
    handling_section: str | None
    secrecy: Clearance
    privacy_flags: list[str]
    activity_id: str | None
    case_number: str | None
    enterprise_id: UUID | None
    captured_at: datetime | None
    captured_until: datetime | None
    archived_at: datetime | None


@dataclass(frozen=True)
class Selection:
    items: list[Selected]
    missing: list[UUID]  # ids named that are no record the caller may see


async def select_records(
    session: AsyncSession, principal: Principal, body: RecordSelectionRequest
) -> Selection:
    """The records the request names, in the order they were captured: those named by id,
    the activity's, those of every activity under the case number, and the enterprise's."""
    seen = visibility(principal)
    activity_ids = set() if body.activity_id is None else {body.activity_id}
    activities = ActivityRepository(session)
    if body.case_number is not None:
        wanted = ActivityFilter(case_number=body.case_number)
        activity_ids |= {a.id for a in await activities.matching(visibility=seen, wanted=wanted)}
    record_ids = list(dict.fromkeys(body.record_ids))
    rows, total = await RecordRepository(session).selection(
        visibility=seen,
        record_ids=record_ids,
        activity_ids=activity_ids,
        enterprise_id=body.enterprise_id,
        limit=config.MAX_SELECTION,
    )
    if total > config.MAX_SELECTION:
        raise ApiError(
            422,
            "too_many_records",
            f"the request names {total} records, more than the {config.MAX_SELECTION} allowed",
            f"所选范围共有 {total} 条记录，超过上限 {config.MAX_SELECTION} 条，请缩小范围",
        )
    tied = {UUID(r.activity_id) for r in rows if r.activity_id is not None}
    case_numbers = {a.id: a.case_number for a in await activities.many(tied)}
    found = {r.record_id for r in rows}
    return Selection(
        items=[_selected(r, case_numbers) for r in rows],
        missing=[r for r in record_ids if r not in found],
    )


def _selected(record: Record, case_numbers: dict[UUID, str | None]) -> Selected:
    activity = None if record.activity_id is None else UUID(record.activity_id)
    return Selected(
        record_id=record.record_id,
        filename=record.filename,
        kind=record.kind,
        size=record.size,
        sha256=record.sha256,
        object_key=record.object_key,
        section=record.section,
        handling_section=record.handling_section or record.section,
        secrecy=record.secrecy,
        privacy_flags=list(record.privacy_flags),
        activity_id=record.activity_id,
        case_number=None if activity is None else case_numbers.get(activity),
        enterprise_id=record.enterprise_id,
        captured_at=record.captured_at,
        captured_until=record.captured_until,
        archived_at=record.archived_at,
    )
