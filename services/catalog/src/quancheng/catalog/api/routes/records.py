from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from quancheng.catalog.api.params import require_offsets
from quancheng.catalog.inputs import RecordAssignment, RecordSelectionRequest
from quancheng.catalog.models import AccessEventKind, ActivityKind, ActivityType
from quancheng.catalog.repository import RECORD_SORTING, RecordFilter
from quancheng.catalog.schemas import (
    AccessHistoryEntry,
    AccessHistoryPage,
    RecordPage,
    RecordRead,
    RecordSelection,
)
from quancheng.catalog.service import access_history, activities
from quancheng.catalog.service import records as service
from quancheng.common.auth import CurrentPrincipal, Principal, Role, require_roles
from quancheng.common.limits import Limit, Offset
from quancheng.common.service import SessionDep, secured_router

router = secured_router(prefix="/api/v1/records", tags=["records 音像记录"])

# The access gateway, with its service token.
Integration = Annotated[Principal, Depends(require_roles(Role.INTEGRATION))]


@router.get("", summary="Records the caller may see, newest capture first 记录列表")
async def list_records(
    session: SessionDep,
    principal: CurrentPrincipal,
    section: str | None = None,
    officer_id: str | None = None,
    device_id: str | None = None,
    kind: str | None = None,
    activity_id: str | None = None,
    unassigned: Annotated[
        bool | None, Query(description="true: not yet linked to an activity (A-3)")
    ] = None,
    captured_from: Annotated[datetime | None, Query(description="ISO 8601, with offset")] = None,
    captured_to: Annotated[datetime | None, Query(description="exclusive")] = None,
    enterprise_id: UUID | None = None,
    activity_kind: ActivityKind | None = None,
    activity_type: ActivityType | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="words (Chinese fragments too) of the file name, what it proves, the "
            "activity's matter or case number, or the enterprise's name; all must appear",
        ),
    ] = None,
    sort: Annotated[str | None, RECORD_SORTING.query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> RecordPage:
    require_offsets(captured_from=captured_from, captured_to=captured_to)
    wanted = RecordFilter(
        section=section,
        officer_id=officer_id,
        device_id=device_id,
        kind=kind,
        activity_id=activity_id,
        unassigned=unassigned,
        captured_from=captured_from,
        captured_to=captured_to,
        enterprise_id=enterprise_id,
        activity_kind=activity_kind,
        activity_type=activity_type,
        text=q,
    )
    rows, total = await service.list_records(
        session, principal, wanted, sort=RECORD_SORTING.parse(sort), offset=offset, limit=limit
    )
    return RecordPage(items=[RecordRead.model_validate(r) for r in rows], total=total)


@router.post(
    "/selection",
    summary="Resolve records, an activity, a case number or an enterprise into records "
    "(service accounts) 调阅范围解析",
)
async def select_records(
    body: RecordSelectionRequest, session: SessionDep, principal: Integration
) -> RecordSelection:
    return RecordSelection.model_validate(await service.select_records(session, principal, body))


@router.get("/{record_id}", summary="One record 记录详情")
async def get_record(
    record_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> RecordRead:
    return RecordRead.model_validate(await service.get_record(session, principal, record_id))


@router.get(
    "/{record_id}/access-history",
    summary="Who asked for, was granted, viewed, played or copied the record, the latest first "
    "(office, archivists, supervisors, the section's head) 调阅记录",
)
async def get_access_history(
    record_id: UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    what: Annotated[AccessEventKind | None, Query(description="only entries of this kind")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AccessHistoryPage:
    entries, total = await access_history.history(
        session, principal, record_id, what=what, offset=offset, limit=limit
    )
    return AccessHistoryPage(
        items=[AccessHistoryEntry.model_validate(e) for e in entries], total=total
    )


@router.put(
    "/{record_id}/activity",
    summary="Tie a recording to an activity, or untie it (section head) 关联执法活动",
)
async def assign_record(
    record_id: UUID, data: RecordAssignment, session: SessionDep, principal: CurrentPrincipal
) -> RecordRead:
    record = await activities.assign_record(session, principal, record_id, data.activity_id)
    return RecordRead.model_validate(record)
