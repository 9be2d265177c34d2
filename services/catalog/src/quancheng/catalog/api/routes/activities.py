from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Response

from quancheng.catalog.api.params import ActivityQuery, IdempotencyKeyHeader
from quancheng.catalog.inputs import ActivityEnd, ActivityWrite
from quancheng.catalog.models import ActivityStatus
from quancheng.catalog.repository import ACTIVITY_SORTING
from quancheng.catalog.schemas import ActivityPage, ActivityRead
from quancheng.catalog.service import activities as service
from quancheng.catalog.service import idempotency
from quancheng.common.auth import CurrentPrincipal, Principal, Role, require_roles
from quancheng.common.limits import Limit, Offset
from quancheng.common.service import SessionDep, secured_router

router = secured_router(prefix="/api/v1/activities", tags=["activities 执法活动"])

Writer = Annotated[
    Principal,
    Depends(require_roles(Role.OFFICER, Role.SECTION_HEAD, Role.OFFICE, Role.INTEGRATION)),
]
Platform = Annotated[Principal, Depends(require_roles(Role.OFFICE, Role.INTEGRATION))]


@router.post(
    "",
    status_code=201,
    summary="Record an enforcement activity 登记执法活动",
    responses={200: {"model": ActivityRead, "description": "the same Idempotency-Key again"}},
)
async def create_activity(
    data: ActivityWrite,
    session: SessionDep,
    principal: Writer,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> ActivityRead:
    activity, created = await idempotency.once(
        session,
        principal,
        idempotency_key,
        data,
        resource="activity",
        create=lambda: service.create(session, principal, data),
        load=lambda activity_id: service.get(session, principal, activity_id),
        id_of=lambda activity: activity.id,
    )
    response.status_code = 201 if created else 200
    return ActivityRead.model_validate(activity)


@router.put(
    "/external/{external_id}",
    summary="Create or update an activity by the platform's own id (idempotent) 同步执法活动",
    responses={201: {"model": ActivityRead, "description": "created: the activity was new"}},
)
async def put_external_activity(
    external_id: Annotated[str, Path(min_length=1, max_length=128)],
    data: ActivityWrite,
    session: SessionDep,
    principal: Platform,
    response: Response,
) -> ActivityRead:
    activity, created = await service.put_external(session, principal, external_id, data)
    response.status_code = 201 if created else 200
    return ActivityRead.model_validate(activity)


@router.put("/{activity_id}", summary="Correct an activity 修改执法活动")
async def update_activity(
    activity_id: UUID, data: ActivityWrite, session: SessionDep, principal: Writer
) -> ActivityRead:
    return ActivityRead.model_validate(await service.update(session, principal, activity_id, data))


@router.post("/{activity_id}/end", summary="The activity is over 执法活动结束")
async def end_activity(
    activity_id: UUID, session: SessionDep, principal: Writer, data: ActivityEnd | None = None
) -> ActivityRead:
    ended_at = None if data is None else data.ended_at  # no body: it ends now
    return ActivityRead.model_validate(await service.end(session, principal, activity_id, ended_at))


@router.get("", summary="Activities the caller may see, latest first 执法活动列表")
async def list_activities(
    session: SessionDep,
    principal: CurrentPrincipal,
    query: ActivityQuery,
    status: ActivityStatus | None = None,
    case_number: str | None = None,
    sort: Annotated[str | None, ACTIVITY_SORTING.query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> ActivityPage:
    wanted = replace(query, status=status, case_number=case_number)
    rows, total = await service.list_activities(
        session, principal, wanted, sort=ACTIVITY_SORTING.parse(sort), offset=offset, limit=limit
    )
    return ActivityPage(items=[ActivityRead.model_validate(a) for a in rows], total=total)


@router.get("/{activity_id}", summary="One activity 执法活动详情")
async def get_activity(
    activity_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> ActivityRead:
    return ActivityRead.model_validate(await service.get(session, principal, activity_id))
