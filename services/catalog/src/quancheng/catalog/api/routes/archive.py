from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import Query

from quancheng.catalog.schemas import (
    ActivityRead,
    ArchivalWrite,
    ArchiveGroup,
    Dossier,
    RecordRead,
)
from quancheng.catalog.service import archive
from quancheng.common.auth import CurrentPrincipal
from quancheng.common.service import SessionDep, State, secured_router

router = secured_router(tags=["archive 归档"])


@router.put(
    "/api/v1/records/{record_id}/archival",
    summary="What the archive item states, and its secrecy 著录（证明内容、密级等）",
)
async def describe_record(
    record_id: UUID, data: ArchivalWrite, session: SessionDep, principal: CurrentPrincipal
) -> RecordRead:
    return RecordRead.of(await archive.describe(session, principal, record_id, data))


@router.post(
    "/api/v1/activities/{activity_id}/archive",
    summary="Archive an ended activity with its recordings (read-only from then on) 归档",
)
async def archive_activity(
    activity_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> ActivityRead:
    return ActivityRead.of(await archive.archive_activity(session, principal, activity_id))


@router.get("/api/v1/activities/{activity_id}/dossier", summary="An activity's dossier 卷宗")
async def get_dossier(
    activity_id: UUID, session: SessionDep, principal: CurrentPrincipal, state: State
) -> Dossier:
    slack = timedelta(seconds=state.settings.catalog.segment_gap_seconds)
    return await archive.dossier(session, principal, activity_id, slack=slack)


@router.get("/api/v1/archive", summary="The archive by year and matter 年度-事项")
async def get_catalogue(
    session: SessionDep,
    principal: CurrentPrincipal,
    year: Annotated[int, Query(ge=1990, le=2200)],
) -> list[ArchiveGroup]:
    return await archive.catalogue(session, principal, year)
