"""Enforcement activities (A-4, B-2): recorded by the officers' section or kept in step by the
district platform under its own ids; recordings are tied to them (A-3, D-11)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.inputs import ActivityWrite
from quancheng.catalog.models import Activity, ActivityStatus, Record
from quancheng.catalog.repository import (
    ActivityFilter,
    ActivityRepository,
    EnterpriseRepository,
    RecordRepository,
)
from quancheng.catalog.service import staff
from quancheng.catalog.service.records import get_record, reindex, visibility
from quancheng.common import audit
from quancheng.common.auth import Principal, Role
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.sorting import Sort


def _not_found() -> ApiError:
    return ApiError(404, "activity_not_found", "no such activity", "未找到该执法活动")


def read_only(activity: Activity) -> ApiError:
    return ApiError(
        409,
        "activity_archived",
        f"activity {activity.id} is archived and read-only",
        "该执法活动已归档，不能再修改",
    )


async def _may_write(session: AsyncSession, principal: Principal, section: str) -> None:
    """The office writes for any section; the platform too; officers and heads for their own
    (a head only if the registry names them so)."""
    if principal.has_any(Role.OFFICE, Role.INTEGRATION):
        return
    if principal.has_any(Role.OFFICER) and principal.section == section:
        return
    if await staff.acts_for_section(session, principal, section, Role.SECTION_HEAD):
        return
    raise ApiError(
        403,
        "not_your_section",
        f"you may only record activities of your own section, not {section}",
        f"只能登记本科室的执法活动（{section} 不是本科室）",
    )


async def _check_enterprise(session: AsyncSession, data: ActivityWrite) -> None:
    if data.enterprise_id is None:
        return
    if await EnterpriseRepository(session).get(data.enterprise_id) is None:
        raise ApiError(
            400,
            "enterprise_unknown",
            f"no enterprise {data.enterprise_id}: register it first",
            "所填企业不存在，请先登记企业",
        )


async def create(
    session: AsyncSession,
    principal: Principal,
    data: ActivityWrite,
    *,
    external_id: str | None = None,
) -> Activity:
    await _may_write(session, principal, data.section)
    await _check_enterprise(session, data)
    await staff.check_officers(session, data.section, data.officers)
    now = utcnow()
    activity = Activity(
        id=uuid4(),
        **data.model_dump(),
        status=ActivityStatus.CLOSED if data.ended_at else ActivityStatus.OPEN,
        external_id=external_id,
        created_by=principal.subject,
        created_at=now,
        updated_at=now,
    )
    await ActivityRepository(session).add(activity)
    await _audit(session, principal, "activity.create", activity)
    if external_id is not None:
        await _adopt_claiming_records(session, principal, activity, external_id)
    return activity


async def put_external(
    session: AsyncSession, principal: Principal, external_id: str, data: ActivityWrite
) -> tuple[Activity, bool]:
    """The activity the platform calls ``external_id``, created or brought up to date (a retried
    call changes nothing more). Returns it and whether it was created."""
    try:
        async with session.begin_nested():
            return await _put_external(session, principal, external_id, data)
    except IntegrityError:
        # A concurrent call with the same id committed first: this one is now an update.
        return await _put_external(session, principal, external_id, data)


async def _put_external(
    session: AsyncSession, principal: Principal, external_id: str, data: ActivityWrite
) -> tuple[Activity, bool]:
    activity = await ActivityRepository(session).by_external_id(external_id)
    if activity is None:
        return await create(session, principal, data, external_id=external_id), True
    if ActivityWrite.model_validate(activity, from_attributes=True) == data:
        return activity, False  # a retry: nothing to change, nothing to audit
    return await _replace(session, principal, activity, data), False


async def update(
    session: AsyncSession, principal: Principal, activity_id: UUID, data: ActivityWrite
) -> Activity:
    activity = await get(session, principal, activity_id)
    return await _replace(session, principal, activity, data)


async def end(
    session: AsyncSession, principal: Principal, activity_id: UUID, ended_at: datetime | None
) -> Activity:
    """Mark the activity over (its recordings after this moment are after-the-fact, D-10b)."""
    activity = await get(session, principal, activity_id)
    await _may_write(session, principal, activity.section)
    if activity.status is ActivityStatus.ARCHIVED:
        raise read_only(activity)
    ended_at = ended_at or utcnow()
    if ended_at < activity.started_at:
        raise ApiError(
            400,
            "ends_before_start",
            f"ended_at {ended_at.isoformat()} is before the start",
            "结束时间早于开始时间",
        )
    activity.ended_at = ended_at
    activity.status = ActivityStatus.CLOSED
    activity.updated_at = utcnow()
    await ActivityRepository(session).add(activity)
    await _audit(session, principal, "activity.end", activity)
    return activity


async def get(session: AsyncSession, principal: Principal, activity_id: UUID) -> Activity:
    """The activity, if the caller may see it (one they may not is as good as absent)."""
    activity = await ActivityRepository(session).get(activity_id)
    if activity is None or not visibility(principal).admits_activity(activity):
        raise _not_found()
    return activity


async def list_activities(
    session: AsyncSession,
    principal: Principal,
    wanted: ActivityFilter,
    *,
    sort: Sort | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Activity], int]:
    return await ActivityRepository(session).page(
        visibility=visibility(principal), wanted=wanted, sort=sort, offset=offset, limit=limit
    )


async def assign_record(
    session: AsyncSession, principal: Principal, record_id: UUID, activity_id: UUID | None
) -> Record:
    """Tie a recording to an activity, or untie it: the section head's review of unassigned
    recordings (A-3, D-11). Archived activities keep their recordings as they are."""
    record = await get_record(session, principal, record_id)
    if not (
        principal.has_any(Role.OFFICE)
        or await staff.acts_for_section(session, principal, record.section, Role.SECTION_HEAD)
    ):
        raise ApiError(
            403,
            "not_section_head",
            "only the head of the recording's section (or the office) assigns it",
            "只有该记录所属科室的负责人（或办公室）可以关联执法活动",
        )
    repository = ActivityRepository(session)
    if record.activity_id is not None:
        current = await repository.get(UUID(record.activity_id))
        if current is not None and current.status is ActivityStatus.ARCHIVED:
            raise read_only(current)
    target = None if activity_id is None else await get(session, principal, activity_id)
    if target is not None:
        if target.status is ActivityStatus.ARCHIVED:
            raise read_only(target)
        if target.section != record.section and not principal.has_any(Role.OFFICE):
            raise ApiError(
                409,
                "other_section",
                f"the activity belongs to section {target.section}, the recording to "
                f"{record.section}",
                "执法活动与记录不属于同一科室",
            )
    record.activity_id = None if target is None else str(target.id)
    record.activity_ref = None
    await reindex(session, [record])
    await audit.append(
        session,
        actor=principal.subject,
        action="record.assign",
        target=f"record:{record.record_id}",
        detail={"activity_id": record.activity_id},
    )
    return record


async def resolve_claim(session: AsyncSession, claim: str) -> Activity | None:
    """The activity an upload named: by the catalog's id or by the platform's."""
    repository = ActivityRepository(session)
    try:
        activity = await repository.get(UUID(claim))
    except ValueError:
        activity = None
    return activity or await repository.by_external_id(claim)


async def _replace(
    session: AsyncSession, principal: Principal, activity: Activity, data: ActivityWrite
) -> Activity:
    await _may_write(session, principal, activity.section)
    await _may_write(session, principal, data.section)
    if activity.status is ActivityStatus.ARCHIVED:
        raise read_only(activity)
    await _check_enterprise(session, data)
    # Officers it named before in the same section took part, even if they have moved since.
    named = activity.officers if data.section == activity.section else ()
    await staff.check_officers(session, data.section, data.officers, already=named)
    for field, value in data.model_dump().items():
        setattr(activity, field, value)
    activity.status = ActivityStatus.CLOSED if data.ended_at else ActivityStatus.OPEN
    activity.updated_at = utcnow()
    await ActivityRepository(session).add(activity)
    await reindex(session, await RecordRepository(session).of_activities([activity.id]))
    await _audit(session, principal, "activity.update", activity)
    return activity


async def _adopt_claiming_records(
    session: AsyncSession, principal: Principal, activity: Activity, external_id: str
) -> None:
    claiming = await RecordRepository(session).claiming(external_id)
    for record in claiming:
        record.activity_id = str(activity.id)
        record.activity_ref = None
    await reindex(session, claiming)


async def _audit(
    session: AsyncSession, principal: Principal, action: str, activity: Activity
) -> None:
    await audit.append(
        session,
        actor=principal.subject,
        action=action,
        target=f"activity:{activity.id}",
        detail={
            **ActivityWrite.model_validate(activity, from_attributes=True).model_dump(mode="json"),
            "status": activity.status.value,
            "external_id": activity.external_id,
        },
    )
