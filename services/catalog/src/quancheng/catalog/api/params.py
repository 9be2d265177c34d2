"""Query parameters shared by the catalog's lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Query

from quancheng.catalog.models import ActivityKind, ActivityType
from quancheng.catalog.repository import ActivityFilter
from quancheng.common import times
from quancheng.common.errors import ApiError


def require_offsets(**moments: datetime | None) -> None:
    """A time without its UTC offset would be read in the server's zone, and one outside the
    platform's years can't be compared with what it stores: refuse both."""
    for name, value in moments.items():
        found = None if value is None else times.problem(value)
        if found is not None:
            raise ApiError(400, "invalid_query", f"{name} {found[0]}", f"{name} {found[1]}")


def activity_filter(
    section: str | None = None,
    officer_id: str | None = None,
    enterprise_id: UUID | None = None,
    kind: ActivityKind | None = None,
    type: ActivityType | None = None,
    started_from: Annotated[
        datetime | None, Query(description="period start, ISO 8601 with offset")
    ] = None,
    started_to: Annotated[datetime | None, Query(description="period end, exclusive")] = None,
) -> ActivityFilter:
    """Which activities a list, report or statistic covers."""
    require_offsets(started_from=started_from, started_to=started_to)
    return ActivityFilter(
        section=section,
        officer_id=officer_id,
        enterprise_id=enterprise_id,
        kind=kind,
        type=type,
        started_from=started_from,
        started_to=started_to,
    )


ActivityQuery = Annotated[ActivityFilter, Depends(activity_filter)]


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="the same key again returns what the first call created (no duplicate)",
    ),
]
