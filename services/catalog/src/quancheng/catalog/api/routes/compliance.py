from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from quancheng.catalog.api.params import ActivityQuery
from quancheng.catalog.inputs import DutyWrite, ExemptionWrite, InterruptionWrite
from quancheng.catalog.models import ActivityType
from quancheng.catalog.schemas import (
    ActivityCompliance,
    ComplianceReport,
    DutyRead,
    ExemptionListed,
    ExemptionPage,
    ExemptionRead,
    InterruptionRead,
)
from quancheng.catalog.service import compliance, duties, explanations
from quancheng.common.auth import CurrentPrincipal, OfficeStaff, Principal, Role, require_roles
from quancheng.common.limits import Limit, Offset
from quancheng.common.service import SessionDep, State, secured_router

router = secured_router(tags=["compliance 音像记录合规"])

Filer = Annotated[Principal, Depends(require_roles(Role.OFFICER, Role.SECTION_HEAD, Role.OFFICE))]
Reviewer = Annotated[
    Principal,
    Depends(
        require_roles(Role.OFFICER, Role.SECTION_HEAD, Role.OFFICE, Role.SUPERVISOR, Role.ARCHIVIST)
    ),
]


def _slack(state: State) -> timedelta:
    return timedelta(seconds=state.settings.catalog.segment_gap_seconds)


@router.get("/api/v1/recording-duties", summary="The AV recording item list 音像记录事项清单")
async def list_duties(session: SessionDep, principal: CurrentPrincipal) -> list[DutyRead]:
    return [DutyRead.model_validate(d) for d in (await duties.effective(session)).values()]


@router.put(
    "/api/v1/recording-duties/{activity_type}",
    summary="Set one activity type's recording duty and key stages 设置记录要求",
)
async def configure_duty(
    activity_type: ActivityType, data: DutyWrite, session: SessionDep, principal: OfficeStaff
) -> DutyRead:
    return DutyRead.model_validate(await duties.configure(session, principal, activity_type, data))


@router.post(
    "/api/v1/activities/{activity_id}/interruptions",
    status_code=201,
    summary="Explain an interruption of recording 中断情况说明",
)
async def file_interruption(
    activity_id: UUID, data: InterruptionWrite, session: SessionDep, principal: Filer
) -> InterruptionRead:
    row = await explanations.file_interruption(session, principal, activity_id, data)
    return InterruptionRead.model_validate(row)


@router.get("/api/v1/activities/{activity_id}/interruptions", summary="中断情况说明")
async def list_interruptions(
    activity_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[InterruptionRead]:
    rows = await explanations.interruptions(session, principal, activity_id)
    return [InterruptionRead.model_validate(r) for r in rows]


@router.post(
    "/api/v1/activities/{activity_id}/exemptions",
    status_code=201,
    summary="File the work record of an unrecorded activity 未音像记录工作记录",
)
async def file_exemption(
    activity_id: UUID, data: ExemptionWrite, session: SessionDep, principal: Filer
) -> ExemptionRead:
    return ExemptionRead.model_validate(
        await explanations.file_exemption(session, principal, activity_id, data)
    )


@router.get("/api/v1/activities/{activity_id}/exemptions", summary="未音像记录工作记录")
async def list_exemptions(
    activity_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[ExemptionRead]:
    rows = await explanations.exemptions(session, principal, activity_id)
    return [ExemptionRead.model_validate(r) for r in rows]


@router.post(
    "/api/v1/activities/{activity_id}/exemptions/{exemption_id}/acknowledge",
    summary="The section head acknowledges a work record 科室负责人确认",
)
async def acknowledge_exemption(
    activity_id: UUID, exemption_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> ExemptionRead:
    row = await explanations.acknowledge_exemption(session, principal, activity_id, exemption_id)
    return ExemptionRead.model_validate(row)


@router.get("/api/v1/exemptions", summary="Exemptions to acknowledge, and acknowledged 未记录说明")
async def all_exemptions(
    session: SessionDep,
    principal: Reviewer,
    pending: Annotated[
        bool | None, Query(description="true: not yet acknowledged; false: acknowledged")
    ] = None,
    section: str | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> ExemptionPage:
    rows, total = await explanations.list_exemptions(
        session, principal, pending=pending, section=section, offset=offset, limit=limit
    )
    return ExemptionPage(items=[ExemptionListed.of(e, a) for e, a in rows], total=total)


@router.get(
    "/api/v1/activities/{activity_id}/compliance", summary="One activity's compliance 合规检查"
)
async def activity_compliance(
    activity_id: UUID, session: SessionDep, principal: CurrentPrincipal, state: State
) -> ActivityCompliance:
    checked = await compliance.of_activity(session, principal, activity_id, slack=_slack(state))
    return ActivityCompliance.model_validate(checked)


@router.get("/api/v1/compliance", summary="Compliance report 音像记录合规报告")
async def compliance_report(
    session: SessionDep, principal: Reviewer, state: State, wanted: ActivityQuery
) -> ComplianceReport:
    report = await compliance.report(session, principal, wanted, slack=_slack(state))
    return ComplianceReport.model_validate(report)
