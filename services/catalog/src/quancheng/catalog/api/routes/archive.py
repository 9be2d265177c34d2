from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import Path, Query
from fastapi.responses import StreamingResponse

from quancheng.catalog.inputs import ArchivalWrite
from quancheng.catalog.schemas import ActivityRead, ArchiveGroup, Dossier, RecordRead
from quancheng.catalog.service import archive, export
from quancheng.common.auth import CurrentPrincipal
from quancheng.common.service import ServiceState, SessionDep, State, secured_router

router = secured_router(tags=["archive 归档"])


@router.put(
    "/api/v1/records/{record_id}/archival",
    summary="What the archive item states, and its secrecy 著录（证明内容、密级等）",
)
async def describe_record(
    record_id: UUID, data: ArchivalWrite, session: SessionDep, principal: CurrentPrincipal
) -> RecordRead:
    return RecordRead.model_validate(await archive.describe(session, principal, record_id, data))


@router.post(
    "/api/v1/activities/{activity_id}/archive",
    summary="Archive an ended activity with its recordings (read-only from then on) 归档",
)
async def archive_activity(
    activity_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> ActivityRead:
    return ActivityRead.model_validate(
        await archive.archive_activity(session, principal, activity_id)
    )


@router.get("/api/v1/activities/{activity_id}/dossier", summary="An activity's dossier 卷宗")
async def get_dossier(
    activity_id: UUID, session: SessionDep, principal: CurrentPrincipal, state: State
) -> Dossier:
    slack = timedelta(seconds=state.settings.catalog.segment_gap_seconds)
    return Dossier.model_validate(
        await archive.dossier(session, principal, activity_id, slack=slack)
    )


@router.post(
    "/api/v1/cases/{case_number}/archive",
    summary="Close a case: archive all its activities (read-only from then on) 结案归档",
)
async def archive_case(
    case_number: Annotated[str, Path(min_length=1, max_length=64)],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> list[ActivityRead]:
    archived = await archive.archive_case(session, principal, case_number)
    return [ActivityRead.model_validate(a) for a in archived]


@router.get("/api/v1/cases/{case_number}/dossier", summary="A case's dossier 案件卷宗")
async def get_case_dossier(
    case_number: Annotated[str, Path(min_length=1, max_length=64)],
    session: SessionDep,
    principal: CurrentPrincipal,
    state: State,
) -> list[Dossier]:
    slack = timedelta(seconds=state.settings.catalog.segment_gap_seconds)
    found = await archive.case_dossier(session, principal, case_number, slack=slack)
    return [Dossier.model_validate(d) for d in found]


@router.get("/api/v1/archive", summary="The archive by year and matter 年度-事项")
async def get_catalogue(
    session: SessionDep,
    principal: CurrentPrincipal,
    year: Annotated[int, Query(ge=1990, le=2200)],
) -> list[ArchiveGroup]:
    return [
        ArchiveGroup.model_validate(s) for s in await archive.catalogue(session, principal, year)
    ]


def _download(bag: export.Bag, state: ServiceState) -> StreamingResponse:
    filename = f"{bag.name}.zip"
    return StreamingResponse(
        export.stream(bag, state.platform.store),
        media_type="application/zip",
        headers={
            # RFC 6266: an ASCII fallback, then the Chinese name for clients that read it.
            "Content-Disposition": (
                f"attachment; filename=\"archive.zip\"; filename*=UTF-8''{quote(filename)}"
            )
        },
    )


@router.get(
    "/api/v1/enterprises/{enterprise_id}/archive",
    summary="Export an enterprise's archive as a BagIt bag 一企一档电子档案导出",
    response_class=StreamingResponse,
)
async def export_enterprise(
    enterprise_id: UUID, session: SessionDep, principal: CurrentPrincipal, state: State
) -> StreamingResponse:
    bag = await export.enterprise_bag(session, principal, enterprise_id, state.settings.catalog)
    return _download(bag, state)


@router.get(
    "/api/v1/cases/{case_number}/archive",
    summary="Export a case's archive as a BagIt bag 案件电子档案导出",
    response_class=StreamingResponse,
)
async def export_case(
    case_number: Annotated[str, Path(min_length=1, max_length=64)],
    session: SessionDep,
    principal: CurrentPrincipal,
    state: State,
) -> StreamingResponse:
    bag = await export.case_bag(session, principal, case_number, state.settings.catalog)
    return _download(bag, state)
