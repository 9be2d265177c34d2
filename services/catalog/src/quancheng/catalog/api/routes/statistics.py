from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, Query

from quancheng.catalog.api.params import ActivityQuery, require_offsets
from quancheng.catalog.repository import ActivityFilter
from quancheng.catalog.schemas import RankedEnterprise, Statistics
from quancheng.catalog.service import statistics
from quancheng.common.auth import Principal, Role, require_roles
from quancheng.common.service import SessionDep, State, secured_router

router = secured_router(prefix="/api/v1/statistics", tags=["statistics 统计分析"])

Analyst = Annotated[
    Principal,
    Depends(
        require_roles(Role.OFFICER, Role.SECTION_HEAD, Role.OFFICE, Role.SUPERVISOR, Role.ARCHIVIST)
    ),
]
Period = Annotated[datetime | None, Query(description="ISO 8601 with offset; end exclusive")]


@router.get("", summary="Figures per section, officer, kind, type, enterprise… 统计")
async def get_statistics(
    session: SessionDep,
    principal: Analyst,
    state: State,
    wanted: ActivityQuery,
    group_by: Literal[
        "section", "officer", "kind", "type", "enterprise", "region", "industry", "month"
    ] = "section",
) -> Statistics:
    catalog = state.settings.catalog
    breakdown = await statistics.statistics(
        session,
        principal,
        wanted,
        group_by,
        slack=timedelta(seconds=catalog.segment_gap_seconds),
        zone=ZoneInfo(catalog.timezone),
    )
    return Statistics.model_validate(breakdown)


@router.get(
    "/enterprise-ranking",
    summary="Enterprises in the order to inspect them 差异化检查企业排序",
)
async def enterprise_ranking(
    session: SessionDep,
    principal: Analyst,
    started_from: Period = None,
    started_to: Period = None,
) -> list[RankedEnterprise]:
    require_offsets(started_from=started_from, started_to=started_to)
    wanted = ActivityFilter(started_from=started_from, started_to=started_to)
    return [
        RankedEnterprise.model_validate(r)
        for r in await statistics.ranking(session, principal, wanted)
    ]
