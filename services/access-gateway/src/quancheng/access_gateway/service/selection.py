"""What a request names, resolved into records by the catalog (C-6b): the gateway asks it with a
token of its own, for every section and level, and judges clearance itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel

from quancheng.common.auth import BuiltinIssuer, Clearance, Role
from quancheng.common.errors import ApiError

SELECTION_PATH = "/api/v1/records/selection"
_SUBJECT = "access-gateway"
_TOKEN_TTL_SECONDS = 60


class SelectedRecord(BaseModel):
    """A record as the catalog describes it to the gateway."""

    record_id: UUID
    filename: str
    kind: str
    size: int
    sha256: str
    object_key: str
    handling_section: str | None
    secrecy: Clearance
    privacy_flags: list[str]
    case_number: str | None = None
    captured_at: datetime | None = None


class _Selection(BaseModel):
    items: list[SelectedRecord]
    missing: list[UUID]


@dataclass(frozen=True)
class Selection:
    records: list[SelectedRecord]
    missing: list[UUID]  # named by id, but unknown to the catalog


class RecordSelector:
    def __init__(self, catalog: httpx.AsyncClient, issuer: BuiltinIssuer | None) -> None:
        self.catalog = catalog
        self.issuer = issuer

    async def select(self, scope: dict[str, Any]) -> Selection:
        if self.issuer is None:
            raise ApiError(
                503,
                "no_builtin_issuer",
                "access requests need the built-in issuer, which is disabled",
                "未启用内置签发，无法办理调阅",
            )
        token = self.issuer.mint(
            _SUBJECT,
            [Role.INTEGRATION],
            clearance=Clearance.TOP_SECRET,
            ttl_seconds=_TOKEN_TTL_SECONDS,
        )
        try:
            answer = await self.catalog.post(
                SELECTION_PATH, json=scope, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise _catalog_unavailable() from exc
        if answer.status_code == 422:
            body = answer.json()
            raise ApiError(
                422,
                str(body.get("error", "invalid_selection")),
                str(body.get("message", "the catalog could not resolve the records")),
                str(body.get("message_zh", "无法确定调阅的记录")),
            )
        if answer.status_code != 200:
            raise _catalog_unavailable()
        selection = _Selection.model_validate_json(answer.content)
        return Selection(records=selection.items, missing=selection.missing)


def _catalog_unavailable() -> ApiError:
    return ApiError(
        503,
        "catalog_unavailable",
        "the catalog did not answer; try again shortly",
        "档案目录服务暂不可用，请稍后重试",
    )
