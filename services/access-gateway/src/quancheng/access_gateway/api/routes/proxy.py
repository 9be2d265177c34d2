from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from quancheng.access_gateway.proxy import check_device_token, forward, route_for
from quancheng.common.auth import CurrentPrincipal, Role
from quancheng.common.errors import ApiError
from quancheng.common.service import secured_router

# The few routes a caller reaches without a token.
public = APIRouter(tags=["proxy"])
# Last in the app: everything not answered by the gateway itself. The token is verified by the
# router's dependency before anything is forwarded.
router = secured_router(tags=["proxy"])


@public.post("/api/v1/device-tokens", include_in_schema=False)
async def device_token(request: Request) -> StreamingResponse:
    """Client credentials traded for an upload token: the client authenticates to the registry."""
    return await forward(request, "device-registry")


@public.options("/files", include_in_schema=False)
@public.options("/files/", include_in_schema=False)
@public.options("/files/{upload_id}", include_in_schema=False)
async def tus_discovery(request: Request) -> StreamingResponse:
    """tus discovery (OPTIONS) needs no token."""
    return await forward(request, "ingest")


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/{path:path}", methods=_METHODS, include_in_schema=False)
async def proxy(request: Request, path: str, principal: CurrentPrincipal) -> StreamingResponse:
    service = route_for("/" + path)
    if service is None:
        raise ApiError(404, "not_found", f"no such resource: /{path}", "请求的资源不存在")
    if principal.has_any(Role.DEVICE):
        await check_device_token(request)
    return await forward(request, service)
