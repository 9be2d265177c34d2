"""Upload credentials (OAuth 2.0 client credentials grant, RFC 6749 §4.4).

A device or docking station holds a client id and secret; it trades them at the token endpoint
for a short-lived JWT that lets it upload as that device or station, nothing else. Revoking the
credentials (or losing or retiring the device, or switching off the station) stops them at once:
the exchange refuses them, and the gateway asks :func:`token_status` on every request a device
token makes, so a token already handed out is refused on its next request too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common import audit
from quancheng.common.auth import BuiltinIssuer, Principal, Role
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.device_registry.inputs import StationCreate
from quancheng.device_registry.models import (
    ClientKind,
    Device,
    DeviceStatus,
    DockingStation,
    UploadClient,
)
from quancheng.device_registry.repository import (
    DeviceRepository,
    StationRepository,
    UploadClientRepository,
)
from quancheng.device_registry.service import scope, staff

# A device in one of these statuses uploads nothing, whatever credentials it holds.
SILENCED = (DeviceStatus.LOST, DeviceStatus.RETIRED)
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="quancheng-devices"'}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _issue(
    session: AsyncSession,
    principal: Principal,
    *,
    device: Device | None = None,
    station: DockingStation | None = None,
) -> tuple[UploadClient, str]:
    """New credentials of a device or a station: the client, and its secret (shown once)."""
    # 256 random bits: a fast hash is enough to keep it, there is nothing to brute-force.
    secret = secrets.token_urlsafe(32)
    client = UploadClient(
        kind=ClientKind.DEVICE if device is not None else ClientKind.DOCKING_STATION,
        device_id=device.id if device is not None else None,
        station_id=station.id if station is not None else None,
        secret_sha256=_hash(secret),
        created_by=principal.subject,
        created_at=utcnow(),
    )
    await UploadClientRepository(session).add(client)
    await audit.append(
        session,
        actor=principal.subject,
        action="credentials.issue",
        target=f"device:{device.id}" if device is not None else f"station:{client.station_id}",
        detail={"client_id": str(client.id)},
    )
    return client, secret


async def _keepable_device(session: AsyncSession, principal: Principal, device_id: UUID) -> Device:
    device = await DeviceRepository(session).get(device_id)
    if device is None or not (
        scope.sees_all(principal) or await scope.may_keep(session, principal, device.section)
    ):
        raise ApiError(404, "device_not_found", "no such device", "未找到该设备")
    if not await scope.may_keep(session, principal, device.section):
        raise scope.keepers_only()
    return device


async def issue_device_credentials(
    session: AsyncSession, principal: Principal, device_id: UUID
) -> tuple[UploadClient, str]:
    device = await _keepable_device(session, principal, device_id)
    if device.status in SILENCED:
        raise ApiError(
            409,
            "device_silenced",
            f"a device that is {device.status.value} gets no upload credentials",
            f"设备状态为“{device.status.label}”，不能发放上传凭据",
        )
    return await _issue(session, principal, device=device)


async def device_clients(
    session: AsyncSession, principal: Principal, device_id: UUID
) -> Sequence[UploadClient]:
    device = await _keepable_device(session, principal, device_id)
    return await UploadClientRepository(session).of_device(device.id)


async def register_station(
    session: AsyncSession, principal: Principal, data: StationCreate
) -> DockingStation:
    await staff.existing_section(session, data.section)
    repo = StationRepository(session)
    if await repo.by_serial(data.serial_number) is not None:
        raise ApiError(
            409,
            "serial_number_taken",
            f"a docking station with serial number {data.serial_number!r} is already registered",
            f"序列号为 {data.serial_number} 的采集站已登记",
        )
    station = DockingStation(
        **data.model_dump(), registered_by=principal.subject, registered_at=utcnow()
    )
    await repo.add(station)
    await audit.append(
        session,
        actor=principal.subject,
        action="station.register",
        target=f"station:{station.id}",
        detail=data.model_dump(),
    )
    return station


async def list_stations(session: AsyncSession, principal: Principal) -> Sequence[DockingStation]:
    if scope.sees_all(principal):
        return await StationRepository(session).all(section=None)
    own = await scope.own_section(session, principal)
    return await StationRepository(session).all(section=own) if own else []


async def _station(session: AsyncSession, principal: Principal, station_id: UUID) -> DockingStation:
    station = await StationRepository(session).get(station_id)
    if station is None or not (
        scope.sees_all(principal) or await scope.may_keep(session, principal, station.section)
    ):
        raise ApiError(404, "station_not_found", "no such docking station", "未找到该采集站")
    if not principal.has_any(Role.OFFICE):
        raise ApiError(
            403,
            "forbidden",
            "only office staff manage docking stations",
            "只有办公室可以管理采集站",
        )
    return station


async def issue_station_credentials(
    session: AsyncSession, principal: Principal, station_id: UUID
) -> tuple[UploadClient, str]:
    station = await _station(session, principal, station_id)
    if not station.active:
        raise ApiError(
            409,
            "station_inactive",
            "a switched-off docking station gets no upload credentials",
            "采集站已停用，不能发放上传凭据",
        )
    return await _issue(session, principal, station=station)


async def deactivate_station(
    session: AsyncSession, principal: Principal, station_id: UUID
) -> DockingStation:
    station = await _station(session, principal, station_id)
    station.active = False
    await StationRepository(session).add(station)
    for client in await UploadClientRepository(session).of_station(station.id):
        await _revoke(session, client, by=principal.subject, reason="station switched off")
    await audit.append(
        session,
        actor=principal.subject,
        action="station.deactivate",
        target=f"station:{station.id}",
    )
    return station


async def _revoke(
    session: AsyncSession, client: UploadClient, *, by: str, reason: str | None
) -> None:
    if client.revoked_at is not None:
        return
    client.revoked_at, client.revoked_by, client.revoke_reason = utcnow(), by, reason
    await UploadClientRepository(session).add(client)
    await audit.append(
        session,
        actor=by,
        action="credentials.revoke",
        target=f"client:{client.id}",
        detail={"reason": reason},
    )


async def revoke_all_of_device(
    session: AsyncSession, device: Device, *, by: str, reason: str
) -> None:
    for client in await UploadClientRepository(session).of_device(device.id):
        await _revoke(session, client, by=by, reason=reason)


async def revoke(
    session: AsyncSession, principal: Principal, client_id: UUID, reason: str | None
) -> UploadClient:
    client = await UploadClientRepository(session).get(client_id)
    not_found = ApiError(404, "client_not_found", "no such upload client", "未找到该上传凭据")
    if client is None:
        raise not_found
    if client.device_id is not None:
        try:
            await _keepable_device(session, principal, client.device_id)
        except ApiError as exc:
            raise not_found if exc.status_code == 404 else exc from None
    elif client.station_id is not None:
        await _station(session, principal, client.station_id)
    await _revoke(session, client, by=principal.subject, reason=reason)
    return client


def _invalid_client() -> ApiError:
    # One answer for every failure, so that a caller learns nothing about which ids exist.
    return ApiError(
        401,
        "invalid_client",
        "unknown client, wrong secret, or the credentials were revoked",
        "上传凭据无效或已被吊销",
        headers=_CHALLENGE,
    )


async def _live_section(session: AsyncSession, client: UploadClient) -> str | None:
    """The section the client uploads for, or None if its credentials no longer work."""
    if client.revoked_at is not None:
        return None
    if client.device_id is not None:
        device = await DeviceRepository(session).get(client.device_id)
        return device.section if device is not None and device.status not in SILENCED else None
    if client.station_id is not None:
        station = await StationRepository(session).get(client.station_id)
        return station.section if station is not None and station.active else None
    return None


async def exchange(
    session: AsyncSession,
    issuer: BuiltinIssuer,
    *,
    client_id: str,
    client_secret: str,
    ttl_seconds: int,
) -> str:
    try:
        parsed = UUID(client_id)
    except ValueError:
        raise _invalid_client() from None
    client = await UploadClientRepository(session).get(parsed)
    if client is None or not hmac.compare_digest(client.secret_sha256, _hash(client_secret)):
        raise _invalid_client()
    section = await _live_section(session, client)
    if section is None:
        raise _invalid_client()
    extra = {"client_id": str(client.id)}
    if client.device_id is not None:
        extra["device_id"] = str(client.device_id)
    if client.station_id is not None:
        extra["station_id"] = str(client.station_id)
    return issuer.mint(
        str(client.id), [Role.DEVICE], section=section, ttl_seconds=ttl_seconds, extra=extra
    )


@dataclass(frozen=True)
class LiveToken:
    active: bool
    client_id: UUID
    device_id: UUID | None
    station_id: UUID | None
    section: str


async def token_status(session: AsyncSession, principal: Principal) -> LiveToken:
    """Whether the device token the caller presents still works (asked by the gateway)."""
    revoked = ApiError(
        401,
        "device_credentials_revoked",
        "the credentials behind this device token were revoked",
        "该设备的上传凭据已被吊销或设备已停用",
    )
    try:
        client_id = UUID(principal.client_id or "")
    except ValueError:
        raise revoked from None
    client = await UploadClientRepository(session).get(client_id)
    section = await _live_section(session, client) if client is not None else None
    if client is None or section is None:
        raise revoked
    return LiveToken(
        active=True,
        client_id=client.id,
        device_id=client.device_id,
        station_id=client.station_id,
        section=section,
    )
