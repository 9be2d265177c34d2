"""``/console/``: the web console's files, public like any web page (its API calls carry the
signed-in user's token). Plain routes, not API operations: a page's query belongs to the page."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from quancheng.access_gateway.service.console import (
    CONTENT_SECURITY_POLICY,
    ConsoleNotBuiltError,
    console_file,
)
from quancheng.common.errors import ApiError
from quancheng.common.service import service_state

public = APIRouter()

_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


async def _home(request: Request) -> Response:
    return RedirectResponse("/console/", status_code=308)


async def _serve(request: Request) -> Response:
    directory = service_state(request).settings.gateway.console_dir
    try:
        found = console_file(directory, request.path_params["path"])
    except ConsoleNotBuiltError as missing:
        return _not_built(missing)
    if found is None:
        raise ApiError(404, "not_found", "no such file of the console", "控制台中没有此文件")
    headers = {**_SECURITY_HEADERS, "Cache-Control": found.cache_control}
    return FileResponse(found.path, headers=headers)


def _not_built(missing: ConsoleNotBuiltError) -> Response:
    where = escape(str(missing.directory))
    page = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>控制台尚未构建</title>'
        "<h1>控制台尚未构建 The console is not built</h1>"
        f"<p>在 <code>{where}</code> 中没有找到控制台的构建结果。请在代码仓库根目录运行 "
        "<code>make run</code>（它会构建控制台），或运行 <code>cd console &amp;&amp; npm ci "
        "&amp;&amp; npm run build</code>；构建目录可由 <code>QUANCHENG_GATEWAY__CONSOLE_DIR</code> "
        "指定。</p>"
        f"<p>No build of the console in <code>{where}</code>: run <code>make run</code> from the "
        "repository's root (it builds the console), or set "
        "<code>QUANCHENG_GATEWAY__CONSOLE_DIR</code> to where the build is.</p></html>"
    )
    headers = {**_SECURITY_HEADERS, "Cache-Control": "no-store"}
    return HTMLResponse(page, status_code=503, headers=headers)


public.add_route("/console", _home, methods=["GET", "HEAD"], include_in_schema=False)
public.add_route("/console/{path:path}", _serve, methods=["GET", "HEAD"], include_in_schema=False)
