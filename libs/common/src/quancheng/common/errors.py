"""Errors as clients see them: always JSON ``{"error", "message", "message_zh"}``, never a trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        message_zh: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.message_zh = message_zh
        self.headers = headers
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            **self.extra,
        }


_STATUS_ZH = {
    400: "请求有误",
    401: "未认证",
    403: "无权操作",
    404: "未找到",
    405: "不支持该请求方法",
    409: "状态冲突",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "请求内容不符合要求",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = {
            "error": f"http_{exc.status_code}",
            "message": str(exc.detail),
            "message_zh": _STATUS_ZH.get(exc.status_code, "请求失败"),
        }
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "problem": err.get("msg", "")}
            for err in exc.errors()
        ]
        body = {
            "error": "invalid_request",
            "message": "; ".join(f"{p['field']}: {p['problem']}" for p in problems),
            "message_zh": _STATUS_ZH[422],
            "problems": problems,
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {
            "error": "internal_error",
            "message": "the server could not complete the request; it has been logged",
            "message_zh": "服务器内部错误，已记录",
        }
        return JSONResponse(body, status_code=500)
