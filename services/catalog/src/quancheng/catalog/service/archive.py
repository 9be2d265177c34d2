"""Describing records for the archive (C-4, B-11), archiving an ended activity with its dossier
(B-7), and the archive arranged by year and matter."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.inputs import ArchivalWrite
from quancheng.catalog.models import (
    Activity,
    ActivityStatus,
    ActivityType,
    Exemption,
    Interruption,
    Record,
)
from quancheng.catalog.repository import (
    ActivityFilter,
    ActivityRepository,
    RecordRepository,
)
from quancheng.catalog.service import activities, compliance, staff
from quancheng.catalog.service.records import get_record, reindex, visibility
from quancheng.common import audit
from quancheng.common.auth import Principal, Role
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError

# Who keeps the archive: archivists and the office everywhere, a section's head and custodian
# for their own section.
_KEEPERS = (Role.ARCHIVIST, Role.OFFICE)
_SECTION_KEEPERS = (Role.SECTION_HEAD, Role.CUSTODIAN)


@dataclass(frozen=True)
class DossierContents:
    activity: Activity
    records: list[Record]  # in the order they were captured
    interruptions: list[Interruption]
    exemptions: list[Exemption]
    compliance: compliance.Checked


@dataclass(frozen=True)
class Archived:
    """An archived activity as the catalogue lists it, with the recordings the caller sees."""

    activity_id: UUID
    matter: str
    type: ActivityType
    case_number: str | None
    enterprise_id: UUID | None
    section: str
    started_at: datetime
    archived_at: datetime | None
    records: int


@dataclass(frozen=True)
class Shelf:
    """One year's archived activities of one matter (C-4: the archive is arranged 年度-事项)."""

    year: int
    matter: str
    activities: list[Archived]


async def _may_keep(session: AsyncSession, principal: Principal, section: str | None) -> None:
    if principal.has_any(*_KEEPERS):
        return
    if await staff.acts_for_section(session, principal, section, *_SECTION_KEEPERS):
        return
    raise ApiError(
        403,
        "not_archive_keeper",
        "only archivists, the office, or the section's head or custodian do this",
        "只有档案管理员、办公室或本科室负责人、专管员可以操作",
    )


def _record_archived(record: Record) -> ApiError:
    return ApiError(
        409,
        "record_archived",
        f"record {record.record_id} is archived and read-only",
        "该记录已归档，不能再修改",
    )


async def describe(
    session: AsyncSession, principal: Principal, record_id: UUID, data: ArchivalWrite
) -> Record:
    """Fill in what the archive item states (C-4) and its secrecy (B-11). A field left out keeps
    its value: a description sent without ``secrecy`` must not declassify the record."""
    record = await get_record(session, principal, record_id)
    await _may_keep(session, principal, record.section)
    if record.archived_at is not None:
        raise _record_archived(record)
    given = data.model_dump(exclude_unset=True)
    if given.get("secrecy") is None:
        given.pop("secrecy", None)
    elif not principal.clearance.allows(given["secrecy"]):
        raise ApiError(
            403,
            "clearance_too_low",
            f"you may not classify above your clearance ({principal.clearance.value})",
            f"不能将密级定为高于本人权限（{principal.clearance.label}）",
        )
    for field, value in given.items():
        setattr(record, field, value)
    await reindex(session, [record])
    await audit.append(
        session,
        actor=principal.subject,
        action="record.describe",
        target=f"record:{record.record_id}",
        detail=data.model_dump(mode="json", exclude_unset=True),
    )
    return record


async def archive_activity(
    session: AsyncSession, principal: Principal, activity_id: UUID
) -> Activity:
    """File an ended activity's dossier with every recording tied to it; from now on the
    activity and those recordings are read-only (B-7). Each recording must say what it proves."""
    activity = await activities.get(session, principal, activity_id)
    await _may_keep(session, principal, activity.section)
    if activity.status is ActivityStatus.ARCHIVED:
        return activity
    if activity.status is not ActivityStatus.CLOSED:
        raise ApiError(
            409,
            "activity_open",
            "end the activity before archiving it",
            "执法活动尚未结束，不能归档",
        )
    repository = RecordRepository(session)
    shown, withheld = await repository.seen_of_activities(
        [activity.id], visibility=visibility(principal)
    )
    records = shown + withheld
    undescribed = [r for r in records if not r.proves]
    if undescribed:
        raise ApiError(
            409,
            "archival_fields_missing",
            f"{len(undescribed)} recording(s) don't yet say what they prove (proves)",
            f"有 {len(undescribed)} 条记录未填写证明内容，不能归档",
            # Those above the caller's clearance are counted, not named (B-11).
            extra={"record_ids": sorted(str(r.record_id) for r in shown if not r.proves)},
        )
    now = utcnow()
    for record in records:
        record.handling_section = record.handling_section or activity.section
        record.producer = record.producer or record.officer_id
        record.production_time = record.production_time or record.captured_at or record.ingested_at
        record.archived_at = now
        await repository.add(record)
    activity.status = ActivityStatus.ARCHIVED
    activity.archived_by = principal.subject
    activity.archived_at = now
    await ActivityRepository(session).add(activity)
    await audit.append(
        session,
        actor=principal.subject,
        action="activity.archive",
        target=f"activity:{activity.id}",
        detail={"records": sorted(str(r.record_id) for r in records)},
    )
    return activity


async def archive_case(
    session: AsyncSession, principal: Principal, case_number: str
) -> list[Activity]:
    """Close a case: archive every activity filed under its case number, all or none (B-7)."""
    found = await _case(session, principal, case_number)
    return [await archive_activity(session, principal, a.id) for a in found]


async def case_dossier(
    session: AsyncSession, principal: Principal, case_number: str, *, slack: timedelta
) -> list[DossierContents]:
    found = await _case(session, principal, case_number)
    checked = await compliance.check(session, visibility(principal), found, slack=slack)
    return [_dossier(c) for c in checked]


async def _case(session: AsyncSession, principal: Principal, case_number: str) -> list[Activity]:
    found = await ActivityRepository(session).matching(
        visibility=visibility(principal), wanted=ActivityFilter(case_number=case_number)
    )
    if not found:
        raise ApiError(
            404, "case_not_found", "no activity carries that case number", "未找到该案件"
        )
    return list(found)


async def dossier(
    session: AsyncSession, principal: Principal, activity_id: UUID, *, slack: timedelta
) -> DossierContents:
    return _dossier(await compliance.of_activity(session, principal, activity_id, slack=slack))


def _dossier(checked: compliance.Checked) -> DossierContents:
    # Whoever may see the activity sees its recordings, as far as their clearance reaches.
    return DossierContents(
        activity=checked.activity,
        records=sorted(checked.records, key=_capture_order),
        interruptions=checked.interruptions,
        exemptions=checked.exemptions,
        compliance=checked,
    )


async def catalogue(session: AsyncSession, principal: Principal, year: int) -> list[Shelf]:
    """The archived activities of ``year``, by matter (the activity's type)."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    seen = visibility(principal)
    archived = await ActivityRepository(session).matching(
        visibility=seen,
        wanted=ActivityFilter(
            status=ActivityStatus.ARCHIVED,
            started_from=start,
            started_to=start.replace(year=year + 1),
        ),
    )
    shown, _ = await RecordRepository(session).seen_of_activities(
        [a.id for a in archived], visibility=seen
    )
    counts = Counter(r.activity_id for r in shown)
    groups: dict[str, list[Archived]] = defaultdict(list)
    for activity in archived:
        groups[activity.type.label].append(
            Archived(
                activity_id=activity.id,
                matter=activity.matter,
                type=activity.type,
                case_number=activity.case_number,
                enterprise_id=activity.enterprise_id,
                section=activity.section,
                started_at=activity.started_at,
                archived_at=activity.archived_at,
                records=counts[str(activity.id)],
            )
        )
    return [
        Shelf(year=year, matter=matter, activities=entries)
        for matter, entries in sorted(groups.items())
    ]


def _capture_order(record: Record) -> tuple[bool, datetime, str]:
    return (
        record.captured_at is None,
        record.captured_at or record.ingested_at,
        str(record.record_id),
    )
