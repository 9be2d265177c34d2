from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from quancheng.access_gateway.service.proxy import check_device_token, forward
from quancheng.access_gateway.service.routing import service_for
from quancheng.common.auth import CurrentPrincipal, Role
from quancheng.common.service import secured_router

# The few routes a caller reaches without a token.
public = APIRouter(tags=["proxy"])
# The service's catch-all: everything not answered by the gateway itself. The token is verified
# by the router's dependency before anything is forwarded.
router = secured_router(tags=["proxy"])


@public.post("/api/v1/device-tokens", include_in_schema=False)
async def device_token(request: Request) -> StreamingResponse:
    """Client credentials traded for an upload token: the client authenticates to the registry."""
    return await forward(request, service_for(request, request.url.path))


@public.options("/files", include_in_schema=False)
@public.options("/files/", include_in_schema=False)
@public.options("/files/{upload_id}", include_in_schema=False)
async def tus_discovery(request: Request) -> StreamingResponse:
    """tus discovery (OPTIONS) needs no token."""
    return await forward(request, service_for(request, request.url.path))


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/{path:path}", methods=_METHODS, include_in_schema=False)
async def proxy(request: Request, path: str, principal: CurrentPrincipal) -> StreamingResponse:
    service = service_for(request, "/" + path)
    if principal.has_any(Role.DEVICE):
        await check_device_token(request)
    return await forward(request, service)
