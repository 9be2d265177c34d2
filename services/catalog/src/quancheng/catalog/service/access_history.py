"""A record's access history (C-9, B-9): every step of the access (调阅) workflow that concerns
it, and every look at it, kept from the gateway's events; who may read it.

Each event gives one row per record it concerns. A request's records are those its
``access.requested`` named: a rejection or an end, which name no record, lands on each of them.
Every range of a playback is a row of its own; the history shows a run of them (one viewer, one
request, nothing else in between) as one entry, with the bytes served merged into spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.models import AccessEventKind, RecordAccess
from quancheng.catalog.repository import AccessHistoryRepository, RecordRepository
from quancheng.catalog.service import staff
from quancheng.catalog.service.records import get_record
from quancheng.common.auth import Principal, Role
from quancheng.common.errors import ApiError
from quancheng.common.events import (
    AccessEnded,
    AccessGranted,
    AccessRejected,
    AccessRequested,
    AccessViewed,
    FixityFailed,
)

# Who reads any record's history (the office and archivists manage access, supervisors oversee
# it); a section head reads their own section's.
READERS = (Role.OFFICE, Role.ARCHIVIST, Role.SUPERVISOR)
# Who an alarm is from: no one did it, a check found it.
SYSTEM = "system"


async def _keep(
    session: AsyncSession,
    record_ids: Sequence[UUID],
    *,
    request_id: UUID | None,
    what: AccessEventKind,
    who: str,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    rows = [
        RecordAccess(
            record_id=record_id, request_id=request_id, what=what, who=who, at=at, detail=detail
        )
        for record_id in dict.fromkeys(record_ids)
    ]
    if rows:
        await AccessHistoryRepository(session).keep(*rows)


async def requested(session: AsyncSession, event: AccessRequested) -> None:
    detail = event.model_dump(
        mode="json",
        include={"requester_kind", "registered_by", "access", "purpose", "approvers_needed"},
    )
    await _keep(
        session,
        event.record_ids,
        request_id=event.request_id,
        what=AccessEventKind.REQUESTED,
        who=event.requester,
        at=event.occurred_at,
        detail=detail,
    )


async def granted(session: AsyncSession, event: AccessGranted) -> None:
    """On the records granted only (a flagged one whose section did not include it is not)."""
    detail = event.model_dump(
        mode="json", include={"approvers", "access", "valid_from", "valid_until"}
    )
    # No approver: granted at once, on the registration of the handling section's own request.
    who = "、".join(event.approvers)
    if not who:
        who = await AccessHistoryRepository(session).registrar(event.request_id) or SYSTEM
    await _keep(
        session,
        event.record_ids,
        request_id=event.request_id,
        what=AccessEventKind.GRANTED,
        who=who,
        at=event.occurred_at,
        detail=detail,
    )


async def rejected(session: AsyncSession, event: AccessRejected) -> None:
    records = await AccessHistoryRepository(session).records_of_request(event.request_id)
    await _keep(
        session,
        records,
        request_id=event.request_id,
        what=AccessEventKind.REJECTED,
        who=event.by,
        at=event.occurred_at,
        detail={"section": event.section, "opinion": event.opinion},
    )


async def ended(session: AsyncSession, event: AccessEnded) -> None:
    records = await AccessHistoryRepository(session).records_of_request(event.request_id)
    await _keep(
        session,
        records,
        request_id=event.request_id,
        what=AccessEventKind.ENDED,
        who=event.by,
        at=event.occurred_at,
        detail={"how": event.how, "reason": event.reason},
    )


async def viewed(session: AsyncSession, event: AccessViewed) -> None:
    if event.copied:
        what = AccessEventKind.COPIED
    elif event.range is not None:
        what = AccessEventKind.PLAYED
    else:
        what = AccessEventKind.VIEWED
    detail: dict[str, Any] = {
        "session_id": None if event.session_id is None else str(event.session_id),
        "accompanied_by": event.accompanied_by,
    }
    if event.range is not None:
        detail["range"] = event.range
    await _keep(
        session,
        [event.record_id],
        request_id=event.request_id,
        what=what,
        who=event.viewer,
        at=event.occurred_at,
        detail=detail,
    )


async def altered(session: AsyncSession, event: FixityFailed) -> None:
    """An alarm about a record (one named by id, or else by the object that holds it)."""
    record_id = event.record_id
    if record_id is None:
        record = await RecordRepository(session).by_object_key(event.object_key)
        if record is None:
            return  # an object of no record the catalog has: not a record's history
        record_id = record.record_id
    await _keep(
        session,
        [record_id],
        request_id=None,
        what=AccessEventKind.ALTERED,
        who=SYSTEM,
        at=event.occurred_at,
        detail={
            "object_key": event.object_key,
            "expected_sha256": event.expected_sha256,
            "actual_sha256": event.actual_sha256,
            "detail": event.detail,
        },
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of a record's history: one row, or a run of playback ranges."""

    id: int  # of its (first) row
    request_id: UUID | None
    what: AccessEventKind
    who: str
    at: datetime  # when it happened; of a run, when its first range was served
    until: datetime | None  # of a run: when its last range was served
    count: int  # rows folded in: of a run, the ranges served
    detail: dict[str, Any] = field(default_factory=dict)


async def _may_read(session: AsyncSession, principal: Principal, section: str | None) -> None:
    if principal.has_any(*READERS):
        return
    if await staff.acts_for_section(session, principal, section, Role.SECTION_HEAD):
        return
    raise ApiError(
        403,
        "not_access_history_reader",
        "only the office, archivists, supervisors or the head of the record's section see "
        "its access history",
        "只有办公室、档案管理员、执法监督或记录所属科室负责人可以查看调阅记录",
    )


async def history(
    session: AsyncSession,
    principal: Principal,
    record_id: UUID,
    *,
    what: AccessEventKind | None,
    offset: int,
    limit: int,
) -> tuple[list[HistoryEntry], int]:
    """The record's access history, the latest first; a record the caller may not see is
    absent (404), one whose history they may not read refused (403)."""
    record = await get_record(session, principal, record_id)
    await _may_read(session, principal, record.section)
    groups, total = await AccessHistoryRepository(session).entries(
        record_id, what=what, offset=offset, limit=limit
    )
    return [_entry(rows) for rows in groups], total


def _entry(rows: Sequence[RecordAccess]) -> HistoryEntry:
    first = rows[0]
    if first.what != AccessEventKind.PLAYED:
        return HistoryEntry(
            id=first.id or 0,
            request_id=first.request_id,
            what=first.what,
            who=first.who,
            at=first.at,
            until=None,
            count=1,
            detail=first.detail,
        )
    return HistoryEntry(
        id=first.id or 0,
        request_id=first.request_id,
        what=first.what,
        who=first.who,
        at=min(r.at for r in rows),
        until=max(r.at for r in rows),
        count=len(rows),
        detail=_run_detail(rows),
    )


def _run_detail(run: Sequence[RecordAccess]) -> dict[str, Any]:
    """A playback run's detail: its session and companion, the byte spans served (overlapping
    and adjacent ranges merged, in order) and how many bytes those hold."""
    spans: list[list[int]] = []
    for row in run:
        start, _, end = str(row.detail.get("range", "")).partition("-")
        if start.isdigit() and end.isdigit():
            spans.append([int(start), int(end)])
    merged: list[list[int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    opened = run[0].detail if run else {}
    return {
        "session_id": opened.get("session_id"),
        "accompanied_by": opened.get("accompanied_by"),
        "ranges": [f"{first}-{last}" for first, last in merged],
        "bytes_served": sum(last - first + 1 for first, last in merged),
    }
