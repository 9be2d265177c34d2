"""The access (调阅) workflow: requests, their documents, the section heads' decisions, and the
end of a grant."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import Depends, Query, Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from quancheng.access_gateway.inputs import AccessDecisionCreate, AccessEnd, AccessRequestCreate
from quancheng.access_gateway.models import AccessStatus, DocumentKind, RequesterKind
from quancheng.access_gateway.repository import ACCESS_SORTING, AccessFilter
from quancheng.access_gateway.schemas import (
    AccessDocumentRead,
    AccessRequestDetail,
    AccessRequestPage,
    AccessRequestRead,
)
from quancheng.access_gateway.service import access, handover, register
from quancheng.access_gateway.service.proxy import upstreams_of
from quancheng.access_gateway.service.selection import RecordSelector
from quancheng.common.auth import CurrentPrincipal
from quancheng.common.errors import ApiError
from quancheng.common.limits import Limit, Offset
from quancheng.common.service import SessionDep, secured_router, service_state
from quancheng.common.times import Moment

router = secured_router(tags=["access 调阅"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such request, or not one the caller may see"}
}


def access_filter(
    status: AccessStatus | None = None,
    requester_kind: RequesterKind | None = None,
    section: Annotated[str | None, Query(description="naming records of this section")] = None,
    record_id: UUID | None = None,
    submitted_from: Moment | None = None,
    submitted_to: Annotated[Moment | None, Query(description="exclusive")] = None,
) -> AccessFilter:
    """The filters of the request list and the register."""
    return AccessFilter(
        status=status,
        requester_kind=requester_kind,
        section=section,
        record_id=record_id,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
    )


Wanted = Annotated[AccessFilter, Depends(access_filter)]


@router.post(
    "/api/v1/access-requests",
    status_code=201,
    summary="Ask to see or copy records, or register an outside requester's request 调阅申请",
    responses={
        403: {"description": "a record is above the requester's clearance, or not allowed"},
        409: {"description": "a record has no handling section to approve it"},
        503: {"description": "the catalog did not answer"},
    },
)
async def create_request(
    request: Request, session: SessionDep, principal: CurrentPrincipal, body: AccessRequestCreate
) -> AccessRequestDetail:
    state = service_state(request)
    selector = RecordSelector(upstreams_of(request).client("catalog"), state.platform.issuer)
    made = await access.create(session, principal, selector, state.settings, body)
    return AccessRequestDetail.model_validate(await access.view(session, principal, made.id))


@router.get("/api/v1/access-requests", summary="Requests the caller may see, newest first 调阅申请")
async def list_requests(
    session: SessionDep,
    principal: CurrentPrincipal,
    wanted: Wanted,
    awaiting_me: Annotated[
        bool, Query(description="only those awaiting the caller's decision as section head")
    ] = False,
    sort: Annotated[str | None, ACCESS_SORTING.query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AccessRequestPage:
    views, total = await access.page(
        session,
        principal,
        wanted,
        awaiting_me=awaiting_me,
        sort=ACCESS_SORTING.parse(sort),
        offset=offset,
        limit=limit,
    )
    return AccessRequestPage(
        items=[AccessRequestRead.model_validate(v) for v in views], total=total
    )


@router.get(
    "/api/v1/access-requests/{request_id}",
    summary="One request: its records, documents, approvals and history 调阅申请详情",
    responses=_NOT_FOUND,
)
async def get_request(
    request_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> AccessRequestDetail:
    return AccessRequestDetail.model_validate(await access.view(session, principal, request_id))


@router.post(
    "/api/v1/access-requests/{request_id}/decisions",
    summary="The handling section head's decision: approve or reject 审批",
    responses={
        **_NOT_FOUND,
        403: {"description": "the caller is not the head of a handling section of its records"},
        409: {"description": "decided already, no longer pending, or documents missing"},
    },
)
async def decide(
    request_id: UUID, session: SessionDep, principal: CurrentPrincipal, body: AccessDecisionCreate
) -> AccessRequestDetail:
    return AccessRequestDetail.model_validate(
        await access.decide(session, principal, request_id, body)
    )


@router.post(
    "/api/v1/access-requests/{request_id}/revocation",
    summary="Withdraw a request, or end a grant early 撤销",
    responses={**_NOT_FOUND, 409: {"description": "over already"}},
)
async def revoke(
    request_id: UUID, session: SessionDep, principal: CurrentPrincipal, body: AccessEnd
) -> AccessRequestDetail:
    return AccessRequestDetail.model_validate(
        await access.revoke(session, principal, request_id, body.reason)
    )


@router.post(
    "/api/v1/access-requests/{request_id}/completion",
    summary="The viewing is over, or the copies were handed over 办结",
    responses={**_NOT_FOUND, 409: {"description": "not in force, or the hand-over is missing"}},
)
async def complete(
    request_id: UUID, session: SessionDep, principal: CurrentPrincipal, body: AccessEnd
) -> AccessRequestDetail:
    view = await access.complete(session, principal, request_id, body.reason)
    return AccessRequestDetail.model_validate(view)


@router.get(
    "/api/v1/access-requests/{request_id}/handover-form",
    summary="The hand-over form of a copy grant, to print and sign 移交单",
    response_class=HTMLResponse,
    responses={**_NOT_FOUND, 409: {"description": "not an approved copy grant"}},
)
async def handover_form(
    request: Request, request_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    settings = service_state(request).settings
    page = await handover.form(session, principal, settings, request_id)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.post(
    "/api/v1/access-documents",
    status_code=201,
    summary="Keep a document with a request (licence, ID, letter, hand-over): the body is the "
    "file 上传调阅材料",
    responses={
        **_NOT_FOUND,
        409: {"description": "not the time for this document"},
        413: {"description": "larger than the gateway's max_document_mib"},
        415: {"description": "not a PDF, OFD, JPEG, PNG or TIFF file"},
    },
)
async def upload_document(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    request_id: UUID,
    kind: DocumentKind,
    filename: Annotated[str, Query(min_length=1, max_length=255)],
) -> AccessDocumentRead:
    state = service_state(request)
    limit = state.settings.gateway.max_document_mib * 1024 * 1024
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise ApiError(
                413,
                "file_too_large",
                f"a document may be at most {limit // (1024 * 1024)} MiB",
                f"材料文件不能超过 {limit // (1024 * 1024)} MiB",
            )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    name = PurePosixPath(filename.replace("\\", "/")).name
    if not name:
        raise ApiError(422, "invalid_filename", "name the file", "请填写文件名")
    document = await access.attach_document(
        session,
        principal,
        state.platform.store,
        state.settings,
        request_id,
        kind=kind,
        filename=name,
        content_type=content_type,
        data=bytes(data),
    )
    return AccessDocumentRead.model_validate(document)


@router.get(
    "/api/v1/access-documents/{document_id}",
    summary="A document kept with a request, as it was uploaded 查看调阅材料",
    response_class=StreamingResponse,
    responses={404: {"description": "no such document, or not one the caller may see"}},
)
async def read_document(
    request: Request, document_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> StreamingResponse:
    document = await access.document(session, principal, document_id)
    store = service_state(request).platform.store
    return StreamingResponse(
        store.read(document.object_key),
        media_type=document.content_type,
        headers={
            "Content-Length": str(document.size),
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-SHA256": document.sha256,
        },
    )


@router.get(
    "/api/v1/access-register",
    summary="The register 调阅登记簿, filtered as the request list, as XLSX or CSV 导出登记簿",
    response_class=Response,
    responses={
        200: {"description": "the register file, as an attachment"},
        403: {"description": "not the office, an archivist or a supervisor"},
        422: {"description": "more requests match than one export holds"},
    },
)
async def export_register(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    wanted: Wanted,
    format: register.RegisterFormat = register.RegisterFormat.XLSX,
) -> Response:
    settings = service_state(request).settings
    exported = await register.export(session, principal, settings, wanted, format)
    return Response(
        exported.content,
        media_type=exported.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(exported.filename)}"},
    )
