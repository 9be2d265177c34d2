from __future__ import annotations

from fastapi import Request
from starlette.responses import StreamingResponse

from quancheng.access_gateway.proxy import forward, route_for
from quancheng.common.errors import ApiError
from quancheng.common.service import secured_router

# Last in the app: everything not answered by the gateway itself. The token is verified by the
# router's dependency before anything is forwarded.
router = secured_router(tags=["proxy"])

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/{path:path}", methods=_METHODS, include_in_schema=False)
async def proxy(request: Request, path: str) -> StreamingResponse:
    service = route_for("/" + path)
    if service is None:
        raise ApiError(404, "not_found", f"no such resource: /{path}", "请求的资源不存在")
    return await forward(request, service)
