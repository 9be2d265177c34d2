from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from quancheng.access_gateway.service.openapi import merged

public = APIRouter(tags=["documentation 文档"])


@public.get("/openapi.json", summary="The public API's OpenAPI (every service's operations)")
async def openapi(request: Request) -> dict[str, Any]:
    return await merged(request)


@public.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Quancheng 全程 API")
