"""Accompanied viewing and playback (C-9): an archivist opens a session for a grant's viewer and
closes it; each record is played through a short-lived ticket bound to one grant, one record and
one person (and to the browser it was issued to), every range served is registered; at the close
every record viewed is re-hashed from storage against its ingest SHA-256. Nothing here writes to
a record: there is no annotation, mark or replacement."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import anyio
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.access_gateway.models import (
    AccessItem,
    AccessKind,
    AccessRequest,
    AccessStatus,
    PlaybackRange,
    PlaybackTicket,
    RequesterKind,
    Verification,
    ViewingSession,
)
from quancheng.access_gateway.repository import AccessRepository, ViewingRepository
from quancheng.access_gateway.service import access
from quancheng.common import audit
from quancheng.common.auth import Principal, Role
from quancheng.common.clock import utcnow
from quancheng.common.db import Database, session_scope
from quancheng.common.errors import ApiError, KeptRefusalError
from quancheng.common.events import AccessViewed, FixityFailed, record
from quancheng.common.settings import GatewaySettings
from quancheng.common.storage.base import NoSuchObjectError, ObjectStore

log = logging.getLogger(__name__)

# Who accompanies a viewing: archivists (档案管理员), and the office standing in for them.
ACCOMPANIERS = (Role.ARCHIVIST, Role.OFFICE)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_KIND_TYPES = {"video": "video/mp4", "audio": "audio/mpeg", "photo": "image/jpeg"}


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ViewedRecord:
    """A record played in a session, and which parts of it."""

    record_id: UUID
    filename: str
    kind: str
    size: int
    tickets: int
    played: list[tuple[int, int]]  # the byte ranges served, merged, inclusive


@dataclass(frozen=True)
class SessionView:
    """A session with what was played in it; it reads as the session itself too."""

    session: ViewingSession
    items: Sequence[AccessItem]  # the records viewed in it
    tickets: Sequence[PlaybackTicket]
    ranges: Sequence[PlaybackRange]

    def __getattr__(self, name: str) -> Any:
        if name == "session":  # not set yet (a copy being made): not the session's to answer
            raise AttributeError(name)
        return getattr(self.session, name)

    @property
    def records(self) -> list[ViewedRecord]:
        return [
            ViewedRecord(
                record_id=item.record_id,
                filename=item.filename,
                kind=item.kind,
                size=item.size,
                tickets=sum(1 for t in self.tickets if t.record_id == item.record_id),
                played=_merged(
                    (r.first_byte, r.last_byte)
                    for r in self.ranges
                    if r.record_id == item.record_id
                ),
            )
            for item in self.items
        ]


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


@dataclass(frozen=True)
class IssuedTicket:
    ticket: str  # in the playback URL
    cookie: str  # set on the browser that asked for it
    row: PlaybackTicket
    item: AccessItem


@dataclass(frozen=True)
class Playback:
    """What a playback request is answered with: the whole record, or bytes first..last."""

    chunks: AsyncIterator[bytes]
    first: int
    last: int
    size: int
    partial: bool
    content_type: str
    filename: str


def _refusal(code: str, message: str, message_zh: str, status: int = 403) -> ApiError:
    return ApiError(status, code, message, message_zh)


async def _active(session: AsyncSession, principal: Principal, request_id: UUID) -> AccessRequest:
    request = await access.readable(session, principal, request_id)
    if request.status != AccessStatus.ACTIVE:
        raise _refusal(
            "grant_not_active",
            f"the grant is {request.status}, not in force",
            f"该调阅“{request.status.label}”，不在有效期内",
            409,
        )
    return request


async def open_session(
    session: AsyncSession, principal: Principal, request_id: UUID, viewer: str | None
) -> ViewingSession:
    if not principal.has_any(*ACCOMPANIERS):
        raise _refusal(
            "accompanier_only",
            "an archivist opens a viewing session",
            "查阅会话须由档案管理员开启并陪同",
        )
    request = await _active(session, principal, request_id)
    opened = ViewingSession(
        id=uuid4(),
        request_id=request.id,
        viewer=viewer or request.requester_name,
        accompanied_by=principal.subject,
        opened_at=utcnow(),
    )
    await ViewingRepository(session).add(opened)
    await audit.append(
        session,
        actor=principal.subject,
        action="access.session_open",
        target=f"viewing-session:{opened.id}",
        detail={"request": str(request.id), "viewer": opened.viewer},
    )
    return opened


async def _session(session: AsyncSession, principal: Principal, session_id: UUID) -> ViewingSession:
    found = await ViewingRepository(session).get(session_id)
    if found is None:
        raise _refusal("session_not_found", "no such session", "未找到该查阅会话", 404)
    await access.readable(session, principal, found.request_id)
    return found


async def session_view(
    session: AsyncSession, principal: Principal, session_id: UUID
) -> SessionView:
    return await _view(session, await _session(session, principal, session_id))


async def _view(session: AsyncSession, viewing: ViewingSession) -> SessionView:
    repository = ViewingRepository(session)
    tickets = await repository.tickets(viewing.id)
    viewed = {t.record_id for t in tickets}
    items = [
        i
        for i in await AccessRepository(session).items([viewing.request_id])
        if i.record_id in viewed
    ]
    return SessionView(
        session=viewing,
        items=items,
        tickets=tickets,
        ranges=await repository.ranges([t.ticket_hash for t in tickets]),
    )


async def sessions(
    session: AsyncSession, principal: Principal, request_id: UUID
) -> list[SessionView]:
    await access.readable(session, principal, request_id)
    return [
        await _view(session, s) for s in await ViewingRepository(session).of_requests([request_id])
    ]


async def close_session(
    session: AsyncSession, principal: Principal, store: ObjectStore, session_id: UUID
) -> SessionView:
    """End the session and its tickets, and re-hash every record viewed in it from storage: the
    close states "verified unchanged", or raises the alarm for each record that is not."""
    if not principal.has_any(*ACCOMPANIERS):
        raise _refusal(
            "accompanier_only",
            "an archivist closes a viewing session",
            "查阅会话须由档案管理员结束",
        )
    viewing = await _session(session, principal, session_id)
    if viewing.closed_at is not None:
        raise _refusal("session_closed", "the session is closed already", "该查阅会话已结束", 409)
    now = utcnow()
    repository = ViewingRepository(session)
    for ticket in await repository.tickets(viewing.id):
        if ticket.ended_at is None:
            ticket.ended_at = now
            await repository.keep(ticket)
    view = await _view(session, viewing)
    verified: list[dict[str, Any]] = []
    for item in view.items:
        actual = await _rehash(store, item.object_key)
        verified.append(
            {
                "record_id": str(item.record_id),
                "filename": item.filename,
                "expected_sha256": item.sha256,
                "actual_sha256": actual,
                "unchanged": actual == item.sha256,
            }
        )
        if actual != item.sha256:
            record(
                session,
                FixityFailed(
                    object_key=item.object_key,
                    record_id=item.record_id,
                    expected_sha256=item.sha256,
                    actual_sha256=actual,
                    detail=f"re-hashed at the close of viewing session {viewing.id}",
                ),
            )
            await audit.append(
                session,
                actor=principal.subject,
                action="access.verification_failed",
                target=f"record:{item.record_id}",
                detail={"session": str(viewing.id), "expected": item.sha256, "actual": actual},
            )
    unchanged = all(v["unchanged"] for v in verified)
    viewing.verification = Verification.UNCHANGED if unchanged else Verification.ALTERED
    viewing.verified = verified
    viewing.closed_by = principal.subject
    viewing.closed_at = now
    await repository.add(viewing)
    await audit.append(
        session,
        actor=principal.subject,
        action="access.session_close",
        target=f"viewing-session:{viewing.id}",
        detail={"verification": viewing.verification.value, "records": len(verified)},
    )
    return await _view(session, viewing)


async def _rehash(store: ObjectStore, key: str) -> str | None:
    """The object's SHA-256 as storage holds it now; None if it can't be read at all."""
    digest = hashlib.sha256()
    try:
        async for chunk in store.read(key):
            digest.update(chunk)
    except NoSuchObjectError:
        return None
    return digest.hexdigest()


async def issue_ticket(
    session: AsyncSession,
    principal: Principal,
    settings: GatewaySettings,
    request_id: UUID,
    record_id: UUID,
    session_id: UUID | None,
) -> IssuedTicket:
    """A ticket to play one granted record. The handling section's own grant plays on its
    requester's own screen; every other is played in a session, by its archivist."""
    request = await _active(session, principal, request_id)
    item = next(
        (
            i
            for i in await AccessRepository(session).items([request.id])
            if i.record_id == record_id
        ),
        None,
    )
    if item is None or not item.granted:
        raise _refusal(
            "record_not_granted",
            "the grant does not reach this record",
            "该调阅未获准查看此记录",
        )
    if session_id is not None:
        viewing = await _session(session, principal, session_id)
        if viewing.request_id != request.id or viewing.closed_at is not None:
            raise _refusal(
                "session_not_open",
                "that session is closed, or is another grant's",
                "该查阅会话已结束或不属于此调阅",
                409,
            )
        if not principal.has_any(*ACCOMPANIERS):
            raise _refusal(
                "accompanier_only",
                "the archivist accompanying the session plays its records",
                "须由陪同的档案管理员播放",
            )
        viewer = viewing.viewer
    elif (
        request.requester_kind == RequesterKind.OWN_SECTION
        and principal.subject == request.requester_account
    ):
        viewer = principal.subject
    else:
        raise _refusal(
            "session_required",
            "other sections and requesters from outside view in a session an archivist opens",
            "其他科室及外部调阅人须在档案管理员开启的查阅会话中、在其陪同下查看",
            409,
        )
    now = utcnow()
    ticket, cookie = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    ends = request.valid_until or now  # an active grant always has its end
    row = PlaybackTicket(
        ticket_hash=secret_hash(ticket),
        cookie_hash=secret_hash(cookie),
        request_id=request.id,
        record_id=record_id,
        session_id=session_id,
        viewer=viewer,
        issued_by=principal.subject,
        issued_at=now,
        expires_at=min(now + timedelta(minutes=settings.ticket_minutes), ends),
        last_used_at=now,
    )
    await ViewingRepository(session).keep(row)
    await audit.append(
        session,
        actor=principal.subject,
        action="access.ticket",
        target=f"record:{record_id}",
        detail={"request": str(request.id), "session": session_id and str(session_id)},
    )
    record(
        session,
        AccessViewed(
            request_id=request.id,
            record_id=record_id,
            viewer=viewer,
            accompanied_by=None if session_id is None else principal.subject,
            session_id=session_id,
        ),
    )
    return IssuedTicket(ticket=ticket, cookie=cookie, row=row, item=item)


async def play(
    session: AsyncSession,
    db: Database,
    store: ObjectStore,
    settings: GatewaySettings,
    ticket: str,
    cookie: str | None,
    range_header: str | None,
) -> Playback:
    """Serve (part of) the record a ticket names, if the ticket still holds. The range is
    registered as asked before a byte leaves, and corrected to what was served when the stream
    ends (a player reads ahead and stops: ``bytes=0-`` is rarely read to the end)."""
    repository = ViewingRepository(session)
    row = await repository.ticket(secret_hash(ticket))
    if row is None:
        raise _refusal("ticket_unknown", "no such ticket", "播放凭证无效", 404)
    if cookie is None or not secrets.compare_digest(secret_hash(cookie), row.cookie_hash):
        # A copied playback URL: kept in the audit trail, as someone tried to use it.
        await audit.append(
            session,
            actor="anonymous",
            action="access.ticket_refused",
            target=f"record:{row.record_id}",
            detail={"request": str(row.request_id), "viewer": row.viewer},
        )
        raise KeptRefusalError(
            403,
            "ticket_foreign",
            "this ticket was issued to another browser",
            "该播放凭证不是发给本浏览器的，不能使用",
        )
    now = utcnow()
    await access.catch_up(session)
    request = await AccessRepository(session).get(row.request_id)
    viewing = None if row.session_id is None else await repository.get(row.session_id)
    over = (
        row.ended_at is not None
        or request is None
        or request.status != AccessStatus.ACTIVE
        or (viewing is not None and viewing.closed_at is not None)
    )
    if over:
        raise _refusal("ticket_ended", "this ticket has ended", "该播放凭证已失效（查阅已结束）")
    idle = now - row.last_used_at > timedelta(minutes=settings.ticket_idle_minutes)
    if idle or now >= row.expires_at:
        row.ended_at = now
        await repository.keep(row)
        raise KeptRefusalError(
            403, "ticket_expired", "this ticket has expired", "该播放凭证已过期，请重新获取"
        )
    item = next(
        i
        for i in await AccessRepository(session).items([row.request_id])
        if i.record_id == row.record_id
    )
    first, last, partial = _range(range_header, item.size)
    row.last_used_at = now
    asked = PlaybackRange(
        ticket_hash=row.ticket_hash,
        record_id=row.record_id,
        first_byte=first,
        last_byte=last,
        served_at=now,
    )
    await repository.keep(row, asked)
    viewed = AccessViewed(
        request_id=row.request_id,
        record_id=row.record_id,
        viewer=row.viewer,
        accompanied_by=None if viewing is None else viewing.accompanied_by,
        session_id=row.session_id,
    )
    chunks = store.read(item.object_key, first, last) if partial else store.read(item.object_key)
    assert asked.id is not None  # noqa: S101 - flushed above
    return Playback(
        chunks=_tallied(chunks, db, asked.id, viewed),
        first=first,
        last=last,
        size=item.size,
        partial=partial,
        content_type=content_type(item),
        filename=item.filename,
    )


async def _tallied(
    chunks: AsyncIterator[bytes], db: Database, range_id: int, viewed: AccessViewed
) -> AsyncIterator[bytes]:
    """``chunks``, counted; at the end (or when the player hangs up) the range's row says what
    was served, and ``access.viewed`` tells it."""
    sent = 0
    try:
        async for chunk in chunks:
            yield chunk
            sent += len(chunk)
    finally:
        with anyio.CancelScope(shield=True):
            try:
                await _served(db, range_id, sent, viewed)
            except Exception:  # the stream is over either way; its row says what was asked
                log.exception("could not register the bytes served under a playback ticket")


async def _served(db: Database, range_id: int, sent: int, viewed: AccessViewed) -> None:
    async with session_scope(db) as session:
        repository = ViewingRepository(session)
        served = await repository.playback_range(range_id)
        if served is None:
            return
        if sent == 0:
            await repository.forget(served)
            return
        served.last_byte = served.first_byte + sent - 1
        await repository.keep(served)
        record(
            session,
            viewed.model_copy(update={"range": f"{served.first_byte}-{served.last_byte}"}),
        )


def _range(header: str | None, size: int) -> tuple[int, int, bool]:
    """The bytes a ``Range`` header asks for (RFC 9110 §14.1.2), inclusive; the whole file
    without one. A range that can't be served is refused with 416."""
    if header is None or "," in header:  # several ranges: served whole (RFC 9110 allows it)
        return 0, max(size - 1, 0), False
    found = _RANGE.fullmatch(header.strip())
    if found is not None and (found.group(1) or found.group(2)):
        start, end = found.group(1), found.group(2)
        if start:
            first = int(start)
            last = min(int(end), size - 1) if end else size - 1
        else:  # a suffix: the last n bytes
            first, last = max(size - int(end), 0), size - 1
        if first <= last:
            return first, last, True
    raise ApiError(
        416,
        "range_not_satisfiable",
        f"the range {header!r} can't be served from {size} bytes",
        "请求的播放范围无效",
        headers={"Content-Range": f"bytes */{size}"},
    )


def content_type(item: AccessItem) -> str:
    guessed, _ = mimetypes.guess_type(item.filename)
    return guessed or _KIND_TYPES.get(item.kind, "application/octet-stream")


async def copy(
    session: AsyncSession,
    principal: Principal,
    store: ObjectStore,
    request_id: UUID,
    record_id: UUID,
) -> tuple[AccessItem, AsyncIterator[bytes]]:
    """A copy of a granted record (A-13b, D-18b): only under a grant that allows copying, to
    its requester inside the bureau or to the office or an archivist, who hand it over."""
    request = await _active(session, principal, request_id)
    if request.access != AccessKind.COPY:
        raise _refusal("view_only", "this grant allows viewing only", "该调阅仅限查看，不得复制")
    inside = (
        request.requester_account is not None and principal.subject == request.requester_account
    )
    if not (inside or principal.has_any(Role.OFFICE, Role.ARCHIVIST)):
        raise _refusal(
            "forbidden",
            "copies go to the requester, or through the office or an archivist",
            "复制件只能由申请人本人，或由办公室、档案管理员代为领取",
        )
    item = next(
        (
            i
            for i in await AccessRepository(session).items([request.id])
            if i.record_id == record_id
        ),
        None,
    )
    if item is None or not item.granted:
        raise _refusal(
            "record_not_granted", "the grant does not reach this record", "该调阅未获准复制此记录"
        )
    await audit.append(
        session,
        actor=principal.subject,
        action="access.copy",
        target=f"record:{record_id}",
        detail={"request": str(request.id), "sha256": item.sha256},
    )
    record(
        session,
        AccessViewed(
            request_id=request.id,
            record_id=record_id,
            viewer=request.requester_name,
            copied=True,
        ),
    )
    return item, store.read(item.object_key)
