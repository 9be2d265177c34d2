"""Accompanied viewing (C-9): sessions, playback tickets, playback with HTTP Range, and copies
under a grant that allows them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Request, Response
from starlette.responses import StreamingResponse

from quancheng.access_gateway.inputs import PlaybackTicketCreate, ViewingSessionCreate
from quancheng.access_gateway.schemas import (
    PlaybackTicketRead,
    ViewingSessionList,
    ViewingSessionRead,
)
from quancheng.access_gateway.service import viewing
from quancheng.common.auth import CurrentPrincipal
from quancheng.common.service import SessionDep, secured_router, service_state

public = APIRouter(tags=["access 调阅"])
router = secured_router(tags=["access 调阅"])

PLAYBACK = "/api/v1/playback"
# The cookie that binds a ticket to the browser it was issued to; scoped to the ticket's path.
TICKET_COOKIE = "qcv"
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such session, or not one the caller may see"}
}


@router.post(
    "/api/v1/viewing-sessions",
    status_code=201,
    summary="Open an accompanied viewing session for a grant (archivist) 开启查阅会话",
    responses={409: {"description": "the grant is not in force"}},
)
async def open_session(
    session: SessionDep, principal: CurrentPrincipal, body: ViewingSessionCreate
) -> ViewingSessionRead:
    opened = await viewing.open_session(session, principal, body.request_id, body.viewer)
    return ViewingSessionRead.model_validate(
        await viewing.session_view(session, principal, opened.id)
    )


@router.get("/api/v1/viewing-sessions", summary="A grant's viewing sessions 查阅会话")
async def list_sessions(
    session: SessionDep, principal: CurrentPrincipal, request_id: UUID
) -> ViewingSessionList:
    views = await viewing.sessions(session, principal, request_id)
    return ViewingSessionList(items=[ViewingSessionRead.model_validate(v) for v in views])


@router.get(
    "/api/v1/viewing-sessions/{session_id}",
    summary="One viewing session: who, with whom, when, which records and parts 查阅会话详情",
    responses=_NOT_FOUND,
)
async def get_session(
    session_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> ViewingSessionRead:
    return ViewingSessionRead.model_validate(
        await viewing.session_view(session, principal, session_id)
    )


@router.post(
    "/api/v1/viewing-sessions/{session_id}/close",
    summary="Close a session: its tickets end, every record viewed is re-hashed 结束查阅并核验",
    responses={**_NOT_FOUND, 409: {"description": "closed already"}},
)
async def close_session(
    request: Request, session_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> ViewingSessionRead:
    store = service_state(request).platform.store
    return ViewingSessionRead.model_validate(
        await viewing.close_session(session, principal, store, session_id)
    )


@router.post(
    "/api/v1/playback-tickets",
    status_code=201,
    summary="A short-lived ticket to play one granted record in this browser 获取播放凭证",
    responses={
        403: {"description": "the grant does not reach the record"},
        409: {"description": "the grant is not in force, or a session is needed"},
    },
)
async def issue_ticket(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: PlaybackTicketCreate,
) -> PlaybackTicketRead:
    settings = service_state(request).settings.gateway
    issued = await viewing.issue_ticket(
        session, principal, settings, body.request_id, body.record_id, body.session_id
    )
    url = f"{PLAYBACK}/{issued.ticket}"
    response.set_cookie(
        TICKET_COOKIE,
        issued.cookie,
        max_age=settings.ticket_minutes * 60,
        path=url,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    row = issued.row
    return PlaybackTicketRead(
        url=url,
        expires_at=row.expires_at,
        request_id=row.request_id,
        record_id=row.record_id,
        session_id=row.session_id,
        viewer=row.viewer,
        filename=issued.item.filename,
        kind=issued.item.kind,
        content_type=viewing.content_type(issued.item),
    )


@public.get(
    PLAYBACK + "/{ticket}",
    summary="Play a record through its ticket: the whole file, or the Range asked for 播放",
    response_class=StreamingResponse,
    responses={
        206: {"description": "the range asked for"},
        403: {"description": "the ticket has ended, expired, or belongs to another browser"},
        404: {"description": "no such ticket"},
        416: {"description": "the range can't be served"},
    },
)
async def play(request: Request, ticket: str, session: SessionDep) -> StreamingResponse:
    state = service_state(request)
    playback = await viewing.play(
        session,
        state.db,
        state.platform.store,
        state.settings.gateway,
        ticket,
        request.cookies.get(TICKET_COOKIE),
        request.headers.get("range"),
    )
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(
            playback.last - playback.first + 1 if playback.partial else playback.size
        ),
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(playback.filename)}",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if playback.partial:
        headers["Content-Range"] = f"bytes {playback.first}-{playback.last}/{playback.size}"
    return StreamingResponse(
        playback.chunks,
        status_code=206 if playback.partial else 200,
        media_type=playback.content_type,
        headers=headers,
    )


@router.get(
    "/api/v1/access-requests/{request_id}/records/{record_id}/copy",
    summary="A copy of a granted record, under a grant that allows copying 复制",
    response_class=StreamingResponse,
    responses={403: {"description": "view only, or the grant does not reach the record"}},
)
async def copy(
    request: Request,
    request_id: UUID,
    record_id: UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> StreamingResponse:
    store = service_state(request).platform.store
    item, chunks = await viewing.copy(session, principal, store, request_id, record_id)
    return StreamingResponse(
        chunks,
        media_type=viewing.content_type(item),
        headers={
            "Content-Length": str(item.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(item.filename)}",
            "X-Content-SHA256": item.sha256,
        },
    )
