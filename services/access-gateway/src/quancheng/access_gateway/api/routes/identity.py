from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from quancheng.access_gateway.schemas import Me
from quancheng.common.auth import CurrentPrincipal
from quancheng.common.errors import ApiError
from quancheng.common.service import secured_router, service_state

public = APIRouter(tags=["identity 身份"])
router = secured_router(tags=["identity 身份"])


@public.get("/.well-known/jwks.json", summary="Public keys of the built-in issuer")
async def jwks(request: Request) -> dict[str, Any]:
    issuer = service_state(request).platform.issuer
    if issuer is None:
        raise ApiError(
            404, "no_builtin_issuer", "the built-in issuer is disabled", "未启用内置签发"
        )
    return issuer.jwks


@router.get("/api/v1/me", summary="Who the token says the caller is 当前用户")
async def me(principal: CurrentPrincipal) -> Me:
    return Me.of(principal)
