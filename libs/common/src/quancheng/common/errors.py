"""Errors as clients see them: always JSON ``{"error", "message", "message_zh"}``, never a trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from quancheng.common.db.database import UnstorableTextError
from quancheng.common.storage.base import StoreUnavailableError

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


class KeptRefusalError(ApiError):
    """A refusal whose changes are kept: the request's session commits what the service put in
    it (a failed pre-use check's record, a failed sign-in's count) before the error answers."""


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


# What a validation error of each pydantic type means, for a bureau user; {…} from its context.
_PROBLEM_ZH = {
    "missing": "缺失（必填）",
    "extra_forbidden": "不是可识别的字段",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "string_type": "应为文本",
    "string_unicode": "含有无效的字符（不成对的代理项）",
    "string_too_short": "过短（至少 {min_length} 个字符）",
    "string_too_long": "过长（至多 {max_length} 个字符）",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须不大于 {le}",
    "too_short": "过少（至少 {min_length} 项）",
    "too_long": "过多（至多 {max_length} 项）",
    "uuid_type": "不是有效的 UUID",
    "uuid_parsing": "不是有效的 UUID",
    "date_parsing": "不是 ISO 8601 日期",
    "date_from_datetime_parsing": "不是 ISO 8601 日期",
    "datetime_parsing": "不是 ISO 8601 时间",
    "datetime_from_date_parsing": "不是 ISO 8601 时间",
    "timezone_aware": "必须带时区（例如 +08:00）",
    "time_out_of_range": "须在 1970-01-01 至 2100-01-01（UTC）之间",
    "enum": "取值无效，可选：{expected}",
    "literal_error": "取值无效，可选：{expected}",
    "value_error": "取值无效：{error}",
    "invalid_value": "{message_zh}",
}


def invalid(message: str, message_zh: str) -> PydanticCustomError:
    """A validator's refusal in both languages (raise it): ``problem_zh`` gives the Chinese."""
    return PydanticCustomError(
        "invalid_value", "{message}", {"message": message, "message_zh": message_zh}
    )


def problem_zh(error: Mapping[str, Any]) -> str:
    """One validation error in Chinese; the English text where no translation is known."""
    template = _PROBLEM_ZH.get(str(error.get("type", "")))
    if template is None:
        return str(error.get("msg", _STATUS_ZH[422]))
    context = error.get("ctx") or {}
    try:
        return template.format(**{k: str(v) for k, v in context.items()})
    except (KeyError, IndexError):
        return template.split("{", 1)[0].rstrip("：（")


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
            {
                "field": ".".join(str(p) for p in err.get("loc", ())),
                "problem": err.get("msg", ""),
                "problem_zh": problem_zh(err),
            }
            for err in exc.errors()
        ]
        body = {
            "error": "invalid_request",
            "message": "; ".join(f"{p['field']}: {p['problem']}" for p in problems),
            "message_zh": "；".join(f"{p['field']}：{p['problem_zh']}" for p in problems),
            "problems": problems,
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(UnstorableTextError)
    async def _unstorable(_request: Request, exc: UnstorableTextError) -> JSONResponse:
        body = {
            "error": "unstorable_text",
            "message": f"the request holds a character that can't be stored ({exc})",
            "message_zh": f"请求中含有无法保存的字符（{exc}），请删除后重试",
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StoreUnavailableError)
    async def _store_down(request: Request, exc: StoreUnavailableError) -> JSONResponse:
        return _outage(request, "storage_unavailable", "the object store", "存储", exc)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
            return _outage(request, "database_unavailable", "the database", "数据库", exc)
        return _internal(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _internal(request)


def _internal(request: Request) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    body = {
        "error": "internal_error",
        "message": "the server could not complete the request; it has been logged",
        "message_zh": "服务器内部错误，已记录",
    }
    return JSONResponse(body, status_code=500)


# An outage of a dependency is the client's to wait out, not a fault of the request.
OUTAGE_RETRY_AFTER_SECONDS = 10


def _outage(request: Request, code: str, what: str, what_zh: str, exc: Exception) -> JSONResponse:
    log.warning("%s on %s %s: %s", code, request.method, request.url.path, exc.__class__.__name__)
    body = {
        "error": code,
        "message": f"{what} is unavailable for now; nothing of this request was kept, retry later",
        "message_zh": f"{what_zh}暂时不可用，本次请求未生效，请稍后重试",
    }
    headers = {"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)}
    return JSONResponse(body, status_code=503, headers=headers)
