"""Devices: registration, the life cycle with its history, the pre-use check, clock readings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common import audit
from quancheng.common.auth import Principal, Role
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError, KeptRefusalError
from quancheng.common.events import DeviceIssued, DeviceRegistered, DeviceReturned, Event, record
from quancheng.common.events.contracts import DeviceStatusChanged
from quancheng.common.sorting import Sort
from quancheng.device_registry import lifecycle
from quancheng.device_registry.inputs import DeviceCreate, IssueRequest, TransitionRequest
from quancheng.device_registry.models import (
    ClockReading,
    ClockSource,
    Device,
    DeviceEvent,
    DeviceEventKind,
    DeviceStatus,
)
from quancheng.device_registry.repository import (
    ClockReadingRepository,
    DeviceEventRepository,
    DeviceFilter,
    DeviceRepository,
    Visibility,
)
from quancheng.device_registry.service import credentials, scope, staff

# Readings kept per device in the clock history answer.
CLOCK_HISTORY_LIMIT = 500


async def visibility(session: AsyncSession, principal: Principal) -> Visibility:
    """Office and supervisors see all devices; section heads and custodians their section's (if
    the registry names them so); officers the devices currently issued to them; anyone else
    none."""
    if scope.sees_all(principal):
        return Visibility(everything=True)
    section = await scope.own_section(session, principal)
    holder = principal.subject if principal.has_any(Role.OFFICER) else None
    return Visibility(section=section, holder=holder)


def _not_found() -> ApiError:
    return ApiError(404, "device_not_found", "no such device", "未找到该设备")


async def _append_history(
    session: AsyncSession,
    device: Device,
    *,
    kind: DeviceEventKind,
    from_status: DeviceStatus | None,
    by: str,
    note: str | None = None,
    officer_id: str | None = None,
    pre_use_check: dict[str, Any] | None = None,
    failed_checks: list[str] | None = None,
) -> DeviceEvent:
    events = DeviceEventRepository(session)
    entry = DeviceEvent(
        device_id=device.id,
        seq=await events.next_seq(device.id),
        kind=kind,
        from_status=from_status,
        to_status=device.status,
        by=by,
        at=utcnow(),
        note=note,
        officer_id=officer_id,
        pre_use_check=pre_use_check,
        failed_checks=failed_checks,
    )
    await events.add(entry)
    return entry


async def register_device(
    session: AsyncSession, principal: Principal, data: DeviceCreate
) -> Device:
    repo = DeviceRepository(session)
    await staff.existing_section(session, data.section)
    if await repo.by_serial(data.serial_number) is not None:
        raise ApiError(
            409,
            "serial_number_taken",
            f"a device with serial number {data.serial_number!r} is already registered",
            f"序列号为 {data.serial_number} 的设备已登记",
        )
    device = Device(**data.model_dump(), registered_by=principal.subject, registered_at=utcnow())
    await repo.add(device)
    await _append_history(
        session, device, kind=DeviceEventKind.TRANSITION, from_status=None, by=principal.subject
    )
    record(
        session,
        DeviceRegistered(
            device_id=device.id,
            serial_number=device.serial_number,
            kind=device.kind.value,
            model=device.model,
            section=device.section,
            explosion_proof=device.explosion_proof,
            registered_by=principal.subject,
        ),
    )
    await audit.append(
        session,
        actor=principal.subject,
        action="device.register",
        target=f"device:{device.id}",
        detail={"serial_number": device.serial_number, "section": device.section},
    )
    return device


async def get_device(session: AsyncSession, principal: Principal, device_id: UUID) -> Device:
    device = await DeviceRepository(session).get(device_id)
    if device is None or not (await visibility(session, principal)).admits(device):
        raise _not_found()
    return device


async def list_devices(
    session: AsyncSession,
    principal: Principal,
    wanted: DeviceFilter,
    *,
    sort: Sort | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Device], int]:
    return await DeviceRepository(session).page(
        visibility=await visibility(session, principal),
        wanted=wanted,
        sort=sort,
        offset=offset,
        limit=limit,
    )


async def device_history(
    session: AsyncSession, principal: Principal, device_id: UUID
) -> Sequence[DeviceEvent]:
    device = await get_device(session, principal, device_id)
    return await DeviceEventRepository(session).history(device.id)


def _labels(statuses: Sequence[DeviceStatus]) -> tuple[str, str]:
    if not statuses:
        return "none (retired is final)", "无（报废为最终状态）"
    return ", ".join(statuses), "、".join(s.label for s in statuses)


async def _device_to_move(
    session: AsyncSession, principal: Principal, device_id: UUID, target: DeviceStatus
) -> Device:
    """The device, locked, once the caller may act on it and ``target`` follows its status."""
    device = await DeviceRepository(session).get_for_update(device_id)
    if device is None or not (await visibility(session, principal)).admits(device):
        raise _not_found()
    if not await scope.may_keep(session, principal, device.section):
        raise scope.keepers_only()
    if not lifecycle.allowed(device.status, target):
        options = lifecycle.TRANSITIONS[device.status]
        names, labels = _labels(options)
        raise ApiError(
            409,
            "invalid_transition",
            f"a device that is {device.status.value} cannot become {target.value}; "
            f"allowed next: {names}",
            f"设备当前状态为“{device.status.label}”，不能变更为“{target.label}”；"
            f"可变更为：{labels}",
            extra={
                "current_status": device.status.value,
                "allowed": [s.value for s in options],
            },
        )
    return device


async def _move(
    session: AsyncSession,
    principal: Principal,
    device: Device,
    target: DeviceStatus,
    event: Event,
    *,
    note: str | None,
    officer_id: str | None = None,
    pre_use_check: dict[str, Any] | None = None,
) -> DeviceEvent:
    """Move ``device`` to ``target``; the history entry it leaves."""
    source = device.status
    device.status = target
    device.officer_id = officer_id if target is DeviceStatus.ISSUED else None
    await DeviceRepository(session).add(device)
    entry = await _append_history(
        session,
        device,
        kind=DeviceEventKind.TRANSITION,
        from_status=source,
        by=principal.subject,
        note=note,
        officer_id=officer_id,
        pre_use_check=pre_use_check,
    )
    if target in (DeviceStatus.LOST, DeviceStatus.RETIRED):
        await credentials.revoke_all_of_device(
            session, device, by=principal.subject, reason=f"device {target.value}"
        )
    record(session, event)
    detail: dict[str, Any] = {"from": source.value, "to": target.value, "section": device.section}
    if officer_id is not None:
        detail["officer_id"] = officer_id
    if note:
        detail["note"] = note
    await audit.append(
        session,
        actor=principal.subject,
        action=lifecycle.AUDIT_ACTIONS[target],
        target=f"device:{device.id}",
        detail=detail,
    )
    return entry


class PreUseCheckError(KeptRefusalError):
    """An issue refused for its pre-use check. The check is already in the session (history,
    clock reading, audit log), which keeps it."""


async def issue_device(
    session: AsyncSession, principal: Principal, device_id: UUID, data: IssueRequest
) -> Device:
    """Issue a device after its pre-use check (A-8, D-8); a failed check is recorded, the device
    stays in stock and :class:`PreUseCheckError` is raised."""
    device = await _device_to_move(session, principal, device_id, DeviceStatus.ISSUED)
    await staff.issuable_officer(session, data.officer_id, device.section)
    check = data.check.model_dump()
    failures = lifecycle.check_failures(**check)
    if failures:
        items = [f.item for f in failures]
        entry = await _append_history(
            session,
            device,
            kind=DeviceEventKind.CHECK_FAILED,
            from_status=device.status,
            by=principal.subject,
            note=data.note,
            officer_id=data.officer_id,
            pre_use_check=check,
            failed_checks=items,
        )
        await _record_check_clock(session, device, entry, data.check.clock_offset_seconds)
        await audit.append(
            session,
            actor=principal.subject,
            action="device.pre_use_check_failed",
            target=f"device:{device.id}",
            detail={"officer_id": data.officer_id, "failed": items, "check": check},
        )
        raise PreUseCheckError(
            409,
            "pre_use_check_failed",
            "the pre-use check failed, the device may not be issued: "
            + "; ".join(f.message for f in failures),
            "使用前检查未通过，不能发放：" + "；".join(f.message_zh for f in failures),
            extra={
                "failed": [
                    {"item": f.item, "message": f.message, "message_zh": f.message_zh}
                    for f in failures
                ]
            },
        )
    event = DeviceIssued(
        device_id=device.id,
        officer_id=data.officer_id,
        section=device.section,
        issued_by=principal.subject,
    )
    entry = await _move(
        session,
        principal,
        device,
        DeviceStatus.ISSUED,
        event,
        note=data.note,
        officer_id=data.officer_id,
        pre_use_check=check,
    )
    await _record_check_clock(session, device, entry, data.check.clock_offset_seconds)
    return device


async def _record_check_clock(
    session: AsyncSession, device: Device, entry: DeviceEvent, offset: float
) -> None:
    await ClockReadingRepository(session).add(
        ClockReading(
            device_id=device.id,
            at=entry.at,
            drift_seconds=offset,
            source=ClockSource.PRE_USE_CHECK,
            source_id=str(entry.id),
        )
    )


async def return_device(
    session: AsyncSession, principal: Principal, device_id: UUID, note: str | None
) -> Device:
    device = await _device_to_move(session, principal, device_id, DeviceStatus.RETURNED)
    holder = device.officer_id or ""
    event = DeviceReturned(device_id=device.id, officer_id=holder, received_by=principal.subject)
    await _move(
        session, principal, device, DeviceStatus.RETURNED, event, note=note, officer_id=holder
    )
    return device


async def change_status(
    session: AsyncSession, principal: Principal, device_id: UUID, data: TransitionRequest
) -> Device:
    """Stock, maintenance, lost and retired; issue and return have their own routes."""
    if data.to in lifecycle.DEDICATED_ROUTES or data.to is DeviceStatus.REGISTERED:
        route = lifecycle.DEDICATED_ROUTES.get(data.to)
        hint = f"use POST .../{route}" if route else "a device is registered only once"
        hint_zh = f"请使用 {route} 接口" if route else "设备只登记一次"
        raise ApiError(
            422,
            "use_dedicated_route",
            f"status {data.to.value} cannot be set here: {hint}",
            f"不能在此设置为“{data.to.label}”：{hint_zh}",
        )
    device = await _device_to_move(session, principal, device_id, data.to)
    holder = device.officer_id
    event = DeviceStatusChanged(
        device_id=device.id,
        from_status=device.status.value,
        to_status=data.to.value,
        by=principal.subject,
        reason=data.note,
        officer_id=holder,
    )
    await _move(session, principal, device, data.to, event, note=data.note, officer_id=holder)
    return device


async def clock_history(
    session: AsyncSession, principal: Principal, device_id: UUID
) -> Sequence[ClockReading]:
    device = await get_device(session, principal, device_id)
    return await ClockReadingRepository(session).of_device(device.id, limit=CLOCK_HISTORY_LIMIT)


async def record_upload_clock(
    session: AsyncSession, device_id: UUID, record_id: UUID, at: datetime, drift: float
) -> None:
    """Keep the drift ingest measured at an upload (A-8); a redelivered report is kept once."""
    if await DeviceRepository(session).get(device_id) is None:
        return  # not one of this registry's devices: nothing to keep it against
    readings = ClockReadingRepository(session)
    if await readings.exists(ClockSource.UPLOAD, str(record_id)):
        return
    await readings.add(
        ClockReading(
            device_id=device_id,
            at=at,
            drift_seconds=drift,
            source=ClockSource.UPLOAD,
            source_id=str(record_id),
        )
    )
