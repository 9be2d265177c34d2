"""tus 1.0.0 at ``/files/``: core (HEAD, PATCH, OPTIONS), creation, creation-with-upload,
creation-defer-length, checksum, expiration and termination."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.utils import format_datetime

from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from quancheng.common.auth import CurrentPrincipal
from quancheng.common.errors import ApiError
from quancheng.common.service import secured_router
from quancheng.ingest import tus
from quancheng.ingest.models import Concat, Upload, UploadStatus
from quancheng.ingest.service import concatenation, creation, receipts, receiving, sweeping
from quancheng.ingest.service.uploads import Uploads

router = secured_router(tags=["uploads (tus) 上传"])
# Discovery needs no token (tus clients and browsers ask before they authenticate).
public = APIRouter(tags=["uploads (tus) 上传"])


def _uploads(request: Request) -> Uploads:
    context: Uploads = request.app.state.uploads
    return context


def _progress(upload: Upload) -> dict[str, str]:
    headers = {
        "Tus-Resumable": tus.VERSION,
        "Upload-Offset": str(upload.offset),
        "Cache-Control": "no-store",
    }
    if upload.status is UploadStatus.RECEIVING:
        headers["Upload-Expires"] = format_datetime(upload.expires_at, usegmt=True)
    return headers


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise receiving.ClientGoneError from None


def _offset_body(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == tus.OFFSET_CONTENT_TYPE


@public.options("/files", include_in_schema=False)
@public.options("/files/", include_in_schema=False)
@public.options("/files/{upload_id}", include_in_schema=False)
async def discover(request: Request) -> Response:
    context = _uploads(request)
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": tus.VERSION,
            "Tus-Version": tus.VERSION,
            "Tus-Extension": ",".join(tus.EXTENSIONS),
            "Tus-Max-Size": str(context.max_size),
            "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUM_ALGORITHMS),
        },
    )


@router.post("/files", status_code=201, include_in_schema=False)
@router.post("/files/", status_code=201, summary="Create an upload (tus creation) 创建上传")
async def create_upload(request: Request, principal: CurrentPrincipal) -> Response:
    tus.check_version(request.headers.get("tus-resumable"))
    length = tus.non_negative("Upload-Length", request.headers.get("upload-length"))
    defer = request.headers.get("upload-defer-length")
    if defer is not None and defer != "1":
        raise tus.tus_error(
            400, "invalid_header", "Upload-Defer-Length must be 1", "Upload-Defer-Length 必须为 1"
        )
    context = _uploads(request)
    metadata_raw = request.headers.get("upload-metadata", "")
    concat = tus.concat(request.headers.get("upload-concat"))
    if concat is not None and concat[0] is Concat.FINAL:
        if length is not None or defer is not None or _offset_body(request):
            raise tus.tus_error(
                400,
                "invalid_concatenation",
                "a final upload takes its length and bytes from its partial uploads",
                "合并上传的长度和数据来自各部分上传，请勿另行提供",
            )
        upload = await concatenation.create_final(
            context, principal, partial_ids=concat[1], metadata_raw=metadata_raw
        )
        return Response(status_code=201, headers={**_progress(upload), **_where(upload)})
    upload = await creation.create(
        context,
        principal,
        length=length,
        defer_length=defer == "1",
        metadata_raw=metadata_raw,
        partial=concat is not None,
    )
    if _offset_body(request) or upload.length == 0:
        upload = await receiving.receive(
            context,
            principal,
            upload.id,
            offset=0,
            length=None,
            checksum=tus.checksum(request.headers.get("upload-checksum")),
            body=_body(request),
        )
    return Response(status_code=201, headers={**_progress(upload), **_where(upload)})


def _where(upload: Upload) -> dict[str, str]:
    return {"Location": f"/files/{upload.id}"}


@router.head("/files/{upload_id}", summary="Where an upload stands 上传进度")
async def upload_offset(request: Request, upload_id: str, principal: CurrentPrincipal) -> Response:
    tus.check_version(request.headers.get("tus-resumable"))
    upload = await receipts.current(_uploads(request), principal, upload_id)
    headers = _progress(upload)
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.metadata_raw:
        headers["Upload-Metadata"] = upload.metadata_raw
    if upload.concat is Concat.PARTIAL:
        headers["Upload-Concat"] = "partial"
    elif upload.concat is Concat.FINAL:
        headers["Upload-Concat"] = "final;" + " ".join(f"/files/{p}" for p in upload.partials or [])
    return Response(status_code=200, headers=headers)


@router.patch("/files/{upload_id}", summary="Send bytes at the upload's offset 续传数据")
async def upload_bytes(request: Request, upload_id: str, principal: CurrentPrincipal) -> Response:
    tus.check_version(request.headers.get("tus-resumable"))
    if not _offset_body(request):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"PATCH bodies must be {tus.OFFSET_CONTENT_TYPE}",
            f"PATCH 请求体的类型必须为 {tus.OFFSET_CONTENT_TYPE}",
            headers={"Tus-Resumable": tus.VERSION},
        )
    offset = tus.non_negative("Upload-Offset", request.headers.get("upload-offset"))
    if offset is None:
        raise tus.tus_error(
            400, "invalid_header", "Upload-Offset is required", "缺少 Upload-Offset"
        )
    upload = await receiving.receive(
        _uploads(request),
        principal,
        upload_id,
        offset=offset,
        length=tus.non_negative("Upload-Length", request.headers.get("upload-length")),
        checksum=tus.checksum(request.headers.get("upload-checksum")),
        body=_body(request),
    )
    return Response(status_code=204, headers=_progress(upload))


@router.delete(
    "/files/{upload_id}", summary="Give up an unfinished upload (tus termination) 终止上传"
)
async def terminate_upload(
    request: Request, upload_id: str, principal: CurrentPrincipal
) -> Response:
    tus.check_version(request.headers.get("tus-resumable"))
    await sweeping.terminate(_uploads(request), principal, upload_id)
    return Response(status_code=204, headers={"Tus-Resumable": tus.VERSION})
