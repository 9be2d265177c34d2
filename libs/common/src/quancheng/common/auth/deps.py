"""FastAPI dependencies: every route that is not explicitly public needs a verified principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from quancheng.common.auth.principal import Principal, Role
from quancheng.common.auth.verify import AuthError, TokenVerifier
from quancheng.common.errors import ApiError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="quancheng"'}


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def current_principal(request: Request) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        raise ApiError(
            401,
            "unauthenticated",
            "a bearer token is required",
            "需要提供有效的访问令牌",
            headers=_CHALLENGE,
        )
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = await verifier.verify(token)
    except AuthError as exc:
        raise ApiError(
            401, exc.code, exc.reason, "访问令牌无效或已过期", headers=_CHALLENGE
        ) from exc
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only principals holding one of ``roles``."""
    labels = "、".join(r.label for r in roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise ApiError(
                403,
                "forbidden",
                f"this action needs one of the roles: {', '.join(roles)}",
                f"此操作需要以下角色之一：{labels}",
            )
        return principal

    return dependency


# The office (办公室): most of the bureau's administration is its alone.
OfficeStaff = Annotated[Principal, Depends(require_roles(Role.OFFICE))]
