from __future__ import annotations

import base64
import json
from typing import Annotated
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from quancheng.common.auth import CurrentPrincipal, OfficeStaff, Principal, Role, require_roles
from quancheng.common.errors import ApiError
from quancheng.common.service import SessionDep, secured_router, service_state
from quancheng.device_registry.inputs import RevokeRequest, StationCreate
from quancheng.device_registry.models import UploadClient
from quancheng.device_registry.schemas import (
    IssuedCredentials,
    StationList,
    StationRead,
    TokenResponse,
    TokenStatus,
    UploadClientList,
    UploadClientRead,
)
from quancheng.device_registry.service import credentials
from quancheng.device_registry.service.scope import KEEPERS

router = secured_router(tags=["upload credentials 上传凭据"])
# The token endpoint: the client authenticates with its credentials, not with a token.
public = APIRouter(tags=["upload credentials 上传凭据"])

Keeper = Annotated[Principal, Depends(require_roles(*KEEPERS))]
DeviceClient = Annotated[Principal, Depends(require_roles(Role.DEVICE))]


def _issued(pair: tuple[UploadClient, str]) -> IssuedCredentials:
    client, secret = pair
    return IssuedCredentials.model_validate(
        {**UploadClientRead.model_validate(client).model_dump(), "client_secret": secret}
    )


@router.post(
    "/api/v1/devices/{device_id}/credentials",
    status_code=201,
    summary="New upload credentials for a device (the secret is shown once) 发放设备上传凭据",
)
async def issue_device_credentials(
    device_id: UUID, session: SessionDep, principal: Keeper
) -> IssuedCredentials:
    return _issued(await credentials.issue_device_credentials(session, principal, device_id))


@router.get(
    "/api/v1/devices/{device_id}/credentials", summary="A device's credentials 设备上传凭据"
)
async def device_credentials(
    device_id: UUID, session: SessionDep, principal: Keeper
) -> UploadClientList:
    clients = await credentials.device_clients(session, principal, device_id)
    return UploadClientList(items=[UploadClientRead.model_validate(c) for c in clients])


@router.post(
    "/api/v1/upload-clients/{client_id}/revoke",
    summary="Revoke upload credentials, at once 吊销上传凭据",
)
async def revoke(
    client_id: UUID, session: SessionDep, principal: Keeper, data: RevokeRequest | None = None
) -> UploadClientRead:
    reason = None if data is None else data.reason
    return UploadClientRead.model_validate(
        await credentials.revoke(session, principal, client_id, reason)
    )


@router.get("/api/v1/docking-stations", summary="Docking stations 采集站列表")
async def list_stations(session: SessionDep, principal: CurrentPrincipal) -> StationList:
    stations = await credentials.list_stations(session, principal)
    return StationList(items=[StationRead.model_validate(s) for s in stations])


@router.post(
    "/api/v1/docking-stations", status_code=201, summary="Register a docking station 登记采集站"
)
async def register_station(
    data: StationCreate, session: SessionDep, principal: OfficeStaff
) -> StationRead:
    return StationRead.model_validate(await credentials.register_station(session, principal, data))


@router.post(
    "/api/v1/docking-stations/{station_id}/credentials",
    status_code=201,
    summary="New upload credentials for a docking station 发放采集站上传凭据",
)
async def issue_station_credentials(
    station_id: UUID, session: SessionDep, principal: OfficeStaff
) -> IssuedCredentials:
    return _issued(await credentials.issue_station_credentials(session, principal, station_id))


@router.post(
    "/api/v1/docking-stations/{station_id}/deactivate",
    summary="Switch a docking station off; its credentials stop at once 停用采集站",
)
async def deactivate_station(
    station_id: UUID, session: SessionDep, principal: OfficeStaff
) -> StationRead:
    return StationRead.model_validate(
        await credentials.deactivate_station(session, principal, station_id)
    )


@router.get(
    "/api/v1/device-tokens/current",
    summary="Whether the presented device token still works (the gateway asks) 设备令牌状态",
)
async def token_status(session: SessionDep, principal: DeviceClient) -> TokenStatus:
    return TokenStatus.model_validate(await credentials.token_status(session, principal))


def _bad_request(message: str, message_zh: str) -> ApiError:
    return ApiError(400, "invalid_request", message, message_zh)


async def _client_credentials(request: Request) -> tuple[str, str]:
    """grant_type, client_id and client_secret from a form (RFC 6749) or JSON body; the client
    may authenticate with HTTP Basic instead (RFC 6749 §2.3.1)."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fields: dict[str, str] = {}
    if content_type == "application/json":
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            raise _bad_request("the body is not JSON", "请求体不是合法的 JSON") from None
        if not isinstance(parsed, dict):
            raise _bad_request("the body must be a JSON object", "请求体必须是 JSON 对象")
        fields = {k: v for k, v in parsed.items() if isinstance(v, str)}
    elif content_type in ("application/x-www-form-urlencoded", ""):
        try:
            form = parse_qs(raw.decode(), strict_parsing=bool(raw))
        except (UnicodeDecodeError, ValueError):
            raise _bad_request("the form body is malformed", "表单格式错误") from None
        fields = {k: v[0] for k, v in form.items()}
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send application/x-www-form-urlencoded or application/json",
            "请以表单或 JSON 格式提交",
        )
    if fields.get("grant_type") != "client_credentials":
        raise ApiError(
            400,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
            "grant_type 必须为 client_credentials",
        )
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
        except ValueError:  # not base64 (a character beyond ASCII too), or not UTF-8 inside
            raise _bad_request("malformed Basic credentials", "Basic 认证格式错误") from None
        return client_id, secret
    if "client_id" not in fields or "client_secret" not in fields:
        raise _bad_request(
            "client_id and client_secret are required", "缺少 client_id 或 client_secret"
        )
    return fields["client_id"], fields["client_secret"]


@public.post(
    "/api/v1/device-tokens",
    summary="Trade upload credentials for a short-lived upload token 换取上传令牌",
    responses={401: {"description": "unknown, wrong or revoked credentials"}},
)
async def device_token(request: Request, session: SessionDep) -> TokenResponse:
    client_id, secret = await _client_credentials(request)
    state = service_state(request)
    issuer = state.platform.issuer
    if issuer is None:
        raise ApiError(
            503,
            "no_builtin_issuer",
            "device tokens need the built-in issuer, which is disabled",
            "未启用内置签发，无法发放设备令牌",
        )
    ttl = state.settings.identity.device_token_ttl_seconds
    token = await credentials.exchange(
        session, issuer, client_id=client_id, client_secret=secret, ttl_seconds=ttl
    )
    return TokenResponse(access_token=token, expires_in=ttl)
