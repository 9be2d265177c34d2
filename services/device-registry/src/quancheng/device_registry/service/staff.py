"""Sections and officers (A-6a, A-7): the office keeps them; a section's head and custodian see
their section's officers; an officer sees themself.

Every change is told on the ``staff`` stream (``section.changed``, ``officer.registered``,
``officer.changed``), in the same transaction, so that the other services (the catalog, which
checks who an activity names and who heads a section) keep the registry's staff as it is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common import audit
from quancheng.common.auth import Principal, Role
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.events import OfficerChanged, OfficerRegistered, SectionChanged, record
from quancheng.common.sorting import Sort
from quancheng.device_registry.inputs import (
    OfficerCreate,
    OfficerUpdate,
    SectionCreate,
    SectionUpdate,
)
from quancheng.device_registry.models import Officer, Section
from quancheng.device_registry.repository import (
    DeviceRepository,
    OfficerRepository,
    SectionRepository,
)
from quancheng.device_registry.service import scope


def unknown_section(code: str) -> ApiError:
    return ApiError(
        422,
        "unknown_section",
        f"there is no section with code {code!r}",
        f"科室代码 {code} 不存在",
        extra={"section": code},
    )


def officer_not_found(officer_id: str) -> ApiError:
    return ApiError(
        404, "officer_not_found", f"no such officer: {officer_id}", f"未找到人员 {officer_id}"
    )


def _tell_section(session: AsyncSession, section: Section, by: str) -> None:
    record(
        session,
        SectionChanged(
            code=section.code,
            name=section.name,
            supervisory=section.supervisory,
            head_officer_id=section.head_officer_id,
            custodian_officer_id=section.custodian_officer_id,
            by=by,
        ),
    )


def _tell_officer(session: AsyncSession, officer: Officer, by: str, *, new: bool) -> None:
    kind = OfficerRegistered if new else OfficerChanged
    record(
        session,
        kind(
            officer_id=officer.id,
            name=officer.name,
            section=officer.section,
            frontline=officer.frontline,
            active=officer.active,
            by=by,
        ),
    )


async def existing_section(session: AsyncSession, code: str) -> Section:
    section = await SectionRepository(session).get(code)
    if section is None:
        raise unknown_section(code)
    return section


async def list_sections(session: AsyncSession) -> Sequence[Section]:
    return await SectionRepository(session).all()


async def create_section(
    session: AsyncSession, principal: Principal, data: SectionCreate
) -> Section:
    repo = SectionRepository(session)
    if await repo.get(data.code) is not None:
        raise ApiError(
            409,
            "section_exists",
            f"section {data.code!r} already exists",
            f"科室代码 {data.code} 已存在",
        )
    await _check_name_free(repo, data.name, code=data.code)
    section = Section(**data.model_dump(), updated_by=principal.subject, updated_at=utcnow())
    await repo.add(section)
    _tell_section(session, section, principal.subject)
    await audit.append(
        session,
        actor=principal.subject,
        action="section.create",
        target=f"section:{section.code}",
        detail=data.model_dump(),
    )
    return section


async def _check_name_free(repo: SectionRepository, name: str, *, code: str) -> None:
    other = await repo.by_name(name)
    if other is not None and other.code != code:
        raise ApiError(
            409,
            "section_name_taken",
            f"section {other.code} is already called {name!r}",
            f"科室名称“{name}”已被科室 {other.code} 使用",
        )


async def _leader(
    session: AsyncSession, section: Section, field: str, officer_id: str, role_zh: str
) -> Officer:
    """An officer who may be a section's head or custodian: active, and of that section."""
    officer = await OfficerRepository(session).get(officer_id)
    if officer is None or not officer.active or officer.section != section.code:
        raise ApiError(
            422,
            "leader_not_in_section",
            f"{officer_id} is not an active officer of section {section.code}",
            f"{officer_id} 不是科室 {section.code} 的在岗人员，不能担任{role_zh}",
            extra={"field": field},
        )
    return officer


async def update_section(
    session: AsyncSession, principal: Principal, code: str, data: SectionUpdate
) -> Section:
    repo = SectionRepository(session)
    section = await repo.get(code)
    if section is None:
        raise ApiError(404, "section_not_found", f"no such section: {code}", f"未找到科室 {code}")
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "supervisory"):
        if field in changes and changes[field] is None:
            raise ApiError(422, "field_required", f"{field} cannot be cleared", f"{field} 不能为空")
    if "name" in changes:
        await _check_name_free(repo, changes["name"], code=code)
    if changes.get("head_officer_id") is not None:
        await _leader(session, section, "head_officer_id", changes["head_officer_id"], "科室负责人")
    if changes.get("custodian_officer_id") is not None:
        await _leader(
            session, section, "custodian_officer_id", changes["custodian_officer_id"], "设备专管员"
        )
    for field, value in changes.items():
        setattr(section, field, value)
    section.updated_by, section.updated_at = principal.subject, utcnow()
    await repo.add(section)
    _tell_section(session, section, principal.subject)
    await audit.append(
        session,
        actor=principal.subject,
        action="section.update",
        target=f"section:{code}",
        detail=changes,
    )
    return section


async def _may_see(session: AsyncSession, principal: Principal, officer: Officer) -> bool:
    return (
        scope.sees_all(principal)
        or await scope.own_section(session, principal) == officer.section
        or (principal.has_any(Role.OFFICER) and principal.subject == officer.id)
    )


async def get_officer(session: AsyncSession, principal: Principal, officer_id: str) -> Officer:
    officer = await OfficerRepository(session).get(officer_id)
    if officer is None or not await _may_see(session, principal, officer):
        raise officer_not_found(officer_id)
    return officer


async def list_officers(
    session: AsyncSession,
    principal: Principal,
    *,
    section: str | None,
    sort: Sort | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Officer], int]:
    repo = OfficerRepository(session)
    if scope.sees_all(principal):
        return await repo.page(section=section, only=None, sort=sort, offset=offset, limit=limit)
    own = await scope.own_section(session, principal)
    if own is not None and section in (None, own):
        return await repo.page(section=own, only=None, sort=sort, offset=offset, limit=limit)
    if principal.has_any(Role.OFFICER):
        return await repo.page(
            section=section, only=principal.subject, sort=sort, offset=offset, limit=limit
        )
    return [], 0


async def _check_certificate_free(session: AsyncSession, number: str, officer_id: str) -> None:
    holder = await OfficerRepository(session).by_certificate(number)
    if holder is not None and holder.id != officer_id:
        raise ApiError(
            409,
            "certificate_number_taken",
            f"enforcement certificate {number} belongs to {holder.id}",
            f"执法证号 {number} 已属于 {holder.id}",
        )


def _check_frontline_certificate(officer: Officer) -> None:
    if officer.frontline and not officer.certificate_number:
        raise ApiError(
            422,
            "certificate_number_required",
            "a frontline officer needs an enforcement certificate number",
            "一线执法人员必须填写执法证号",
        )


async def create_officer(
    session: AsyncSession, principal: Principal, data: OfficerCreate
) -> Officer:
    repo = OfficerRepository(session)
    if await repo.get(data.id) is not None:
        raise ApiError(
            409, "officer_exists", f"officer {data.id} already exists", f"人员 {data.id} 已存在"
        )
    await existing_section(session, data.section)
    if data.certificate_number:
        await _check_certificate_free(session, data.certificate_number, data.id)
    officer = Officer(**data.model_dump(), updated_by=principal.subject, updated_at=utcnow())
    _check_frontline_certificate(officer)
    await repo.add(officer)
    _tell_officer(session, officer, principal.subject, new=True)
    await audit.append(
        session,
        actor=principal.subject,
        action="officer.create",
        target=f"officer:{officer.id}",
        detail=data.model_dump(),
    )
    return officer


async def update_officer(
    session: AsyncSession, principal: Principal, officer_id: str, data: OfficerUpdate
) -> Officer:
    repo = OfficerRepository(session)
    officer = await repo.get(officer_id)
    if officer is None:
        raise officer_not_found(officer_id)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    for field in ("name", "section", "frontline", "active"):
        if field in changes and changes[field] is None:
            raise ApiError(422, "field_required", f"{field} cannot be cleared", f"{field} 不能为空")
    if "section" in changes:
        await existing_section(session, changes["section"])
    if changes.get("certificate_number"):
        await _check_certificate_free(session, changes["certificate_number"], officer_id)
    if changes.get("section", officer.section) != officer.section:
        await _check_free_to_leave(session, officer, "section")
    elif changes.get("active") is False and officer.active:
        await _check_free_to_leave(session, officer, "active")
    for field, value in changes.items():
        setattr(officer, field, value)
    _check_frontline_certificate(officer)
    officer.updated_by, officer.updated_at = principal.subject, utcnow()
    await repo.add(officer)
    _tell_officer(session, officer, principal.subject, new=False)
    await audit.append(
        session,
        actor=principal.subject,
        action="officer.update",
        target=f"officer:{officer_id}",
        detail=changes,
    )
    return officer


async def _check_free_to_leave(session: AsyncSession, officer: Officer, field: str) -> None:
    """An officer who holds devices, or heads or keeps a section, cannot leave it (or go off
    duty) until the devices are back and the post is handed over."""
    held = await DeviceRepository(session).held_by(officer.id)
    if held:
        serials = ", ".join(d.serial_number for d in held)
        raise ApiError(
            409,
            "officer_holds_devices",
            f"{officer.id} still holds devices {serials}: return them first",
            f"{officer.id} 仍持有设备 {serials}，请先归还",
            extra={"field": field},
        )
    led = await SectionRepository(session).led_by(officer.id)
    if led:
        codes = ", ".join(s.code for s in led)
        raise ApiError(
            409,
            "officer_leads_section",
            f"{officer.id} is head or device custodian of {codes}: hand the post over first",
            f"{officer.id} 仍是科室 {codes} 的负责人或设备专管员，请先交接",
            extra={"field": field},
        )


async def issuable_officer(session: AsyncSession, officer_id: str, section: str) -> Officer:
    """The officer a device of ``section`` may be issued to: known, on duty, of that section."""
    officer = await OfficerRepository(session).get(officer_id)
    if officer is None:
        raise ApiError(
            422, "unknown_officer", f"there is no officer {officer_id}", f"人员 {officer_id} 不存在"
        )
    if not officer.active:
        raise ApiError(
            409,
            "officer_inactive",
            f"{officer_id} is not on duty",
            f"{officer.name}（{officer_id}）不在岗，不能领用设备",
        )
    if officer.section != section:
        raise ApiError(
            409,
            "officer_in_other_section",
            f"{officer_id} belongs to section {officer.section}, the device to {section}",
            f"{officer.name}（{officer_id}）属于科室 {officer.section}，设备属于科室 {section}",
        )
    return officer
