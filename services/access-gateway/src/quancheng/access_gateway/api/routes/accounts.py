"""Local accounts: signing in, the office's account management, changing one's password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from quancheng.access_gateway.inputs import AccountChange, AccountCreate, PasswordChange, SignIn
from quancheng.access_gateway.repository import ACCOUNT_SORTING
from quancheng.access_gateway.schemas import AccountPage, AccountRead, SignedIn
from quancheng.access_gateway.service import accounts
from quancheng.common.auth import CurrentPrincipal, OfficeStaff
from quancheng.common.errors import ApiError
from quancheng.common.limits import Limit, Offset
from quancheng.common.service import SessionDep, secured_router, service_state

public = APIRouter(tags=["accounts 账户"])
router = secured_router(tags=["accounts 账户"])


@public.post(
    "/api/v1/sign-in",
    summary="Sign in with a local account's password: a bearer token 登录",
    responses={
        401: {"description": "wrong username or password"},
        403: {"description": "the account is disabled"},
        429: {"description": "locked after too many failed sign-ins (Retry-After)"},
    },
)
async def sign_in(request: Request, session: SessionDep, body: SignIn) -> SignedIn:
    state = service_state(request)
    issuer = state.platform.issuer
    if issuer is None:
        raise ApiError(
            503,
            "no_builtin_issuer",
            "local accounts need the built-in issuer, which is disabled",
            "未启用内置签发，无法使用本地账户登录",
        )
    ttl = state.settings.identity.default_token_ttl_seconds
    signed_in = await accounts.sign_in(session, issuer, ttl, body)
    return SignedIn.model_validate(signed_in)


@router.get("/api/v1/accounts", summary="Local accounts 账户列表")
async def list_accounts(
    session: SessionDep,
    _principal: OfficeStaff,
    sort: Annotated[str | None, ACCOUNT_SORTING.query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AccountPage:
    page = await accounts.page(
        session, sort=ACCOUNT_SORTING.parse(sort), offset=offset, limit=limit
    )
    return AccountPage.model_validate(page, from_attributes=True)


@router.post(
    "/api/v1/accounts",
    status_code=201,
    summary="Create a local account with a first password 新建账户",
    responses={409: {"description": "the username is taken"}},
)
async def create_account(
    session: SessionDep, principal: OfficeStaff, body: AccountCreate
) -> AccountRead:
    return AccountRead.model_validate(await accounts.create(session, principal.subject, body))


@router.patch(
    "/api/v1/accounts/{username}",
    summary="Change an account (roles, section, clearance; disable, unlock, reset) 修改账户",
)
async def change_account(
    session: SessionDep, principal: OfficeStaff, username: str, body: AccountChange
) -> AccountRead:
    return AccountRead.model_validate(await accounts.change(session, principal, username, body))


@router.post(
    "/api/v1/me/password",
    status_code=204,
    summary="Change one's own password 修改密码",
)
async def change_password(
    session: SessionDep, principal: CurrentPrincipal, body: PasswordChange
) -> Response:
    await accounts.change_password(session, principal, body)
    return Response(status_code=204)
