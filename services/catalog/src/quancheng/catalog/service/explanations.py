"""What officers file when an activity was not recorded as it should have been: the explanation
of an interruption (D-10a) and the work record of an exemption (A-5), which the section head
acknowledges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.inputs import ExemptionWrite, InterruptionWrite
from quancheng.catalog.models import Activity, ActivityStatus, Exemption, Interruption
from quancheng.catalog.repository import ExplanationRepository
from quancheng.catalog.service import activities, staff
from quancheng.catalog.service.records import visibility
from quancheng.common import audit
from quancheng.common.auth import Principal, Role
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError

Filed = TypeVar("Filed", Interruption, Exemption)


async def file_interruption(
    session: AsyncSession, principal: Principal, activity_id: UUID, data: InterruptionWrite
) -> Interruption:
    return await _file(session, principal, activity_id, Interruption, data, "interruption.file")


async def file_exemption(
    session: AsyncSession, principal: Principal, activity_id: UUID, data: ExemptionWrite
) -> Exemption:
    return await _file(session, principal, activity_id, Exemption, data, "exemption.file")


async def _file(
    session: AsyncSession,
    principal: Principal,
    activity_id: UUID,
    kind: type[Filed],
    data: BaseModel,
    action: str,
) -> Filed:
    """Store what the caller files about the activity, under their name, and audit it."""
    activity = await _filable(session, principal, activity_id)
    row = kind(
        id=uuid4(),
        activity_id=activity.id,
        **data.model_dump(),
        filed_by=principal.subject,
        filed_at=utcnow(),
    )
    await ExplanationRepository(session).add(row)
    await _audit(session, principal, action, activity, data.model_dump(mode="json"))
    return row


async def acknowledge_exemption(
    session: AsyncSession, principal: Principal, activity_id: UUID, exemption_id: UUID
) -> Exemption:
    """The section head has read the work record and accepts it (A-5, D-5)."""
    activity = await activities.get(session, principal, activity_id)
    if not await staff.acts_for_section(session, principal, activity.section, Role.SECTION_HEAD):
        raise ApiError(
            403,
            "not_section_head",
            f"only the head of section {activity.section} acknowledges its exemptions",
            "只有承办科室负责人可以确认未记录说明",
        )
    if activity.status is ActivityStatus.ARCHIVED:
        raise activities.read_only(activity)
    repository = ExplanationRepository(session)
    exemption = await repository.exemption(exemption_id)
    if exemption is None or exemption.activity_id != activity.id:
        raise ApiError(404, "exemption_not_found", "no such exemption", "未找到该说明")
    if exemption.acknowledged_at is None:
        exemption.acknowledged_by = principal.subject
        exemption.acknowledged_at = utcnow()
        await repository.add(exemption)
        await _audit(
            session, principal, "exemption.acknowledge", activity, {"id": str(exemption.id)}
        )
    return exemption


async def interruptions(
    session: AsyncSession, principal: Principal, activity_id: UUID
) -> Sequence[Interruption]:
    activity = await activities.get(session, principal, activity_id)
    return await ExplanationRepository(session).interruptions_of([activity.id])


async def exemptions(
    session: AsyncSession, principal: Principal, activity_id: UUID
) -> Sequence[Exemption]:
    activity = await activities.get(session, principal, activity_id)
    return await ExplanationRepository(session).exemptions_of([activity.id])


async def list_exemptions(
    session: AsyncSession,
    principal: Principal,
    *,
    pending: bool | None,
    section: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[tuple[Exemption, Activity]], int]:
    """The exemptions of the activities the caller may see (a head: the section's, waiting for
    the acknowledgement)."""
    return await ExplanationRepository(session).exemptions_page(
        visibility=visibility(principal),
        pending=pending,
        section=section,
        offset=offset,
        limit=limit,
    )


async def _filable(session: AsyncSession, principal: Principal, activity_id: UUID) -> Activity:
    """The activity, if the caller took part in it or heads its section, and it is not archived."""
    activity = await activities.get(session, principal, activity_id)
    took_part = principal.has_any(Role.OFFICER) and principal.subject in activity.officers
    if not (
        took_part
        or principal.has_any(Role.OFFICE)
        or await staff.acts_for_section(session, principal, activity.section, Role.SECTION_HEAD)
    ):
        raise ApiError(
            403,
            "not_your_activity",
            "only the activity's officers, its section head or the office file explanations",
            "只有参与该执法活动的执法人员、科室负责人或办公室可以填写说明",
        )
    if activity.status is ActivityStatus.ARCHIVED:
        raise activities.read_only(activity)
    return activity


async def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    activity: Activity,
    detail: dict[str, object],
) -> None:
    await audit.append(
        session,
        actor=principal.subject,
        action=action,
        target=f"activity:{activity.id}",
        detail=detail,
    )
