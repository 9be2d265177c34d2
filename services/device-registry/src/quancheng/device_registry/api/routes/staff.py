from __future__ import annotations

from typing import Annotated

from fastapi import Query

from quancheng.common.auth import CurrentPrincipal, OfficeStaff
from quancheng.common.limits import Limit, Offset
from quancheng.common.service import SessionDep, secured_router
from quancheng.device_registry.inputs import (
    OfficerCreate,
    OfficerUpdate,
    SectionCreate,
    SectionUpdate,
)
from quancheng.device_registry.repository import OFFICER_SORTING
from quancheng.device_registry.schemas import OfficerPage, OfficerRead, SectionList, SectionRead
from quancheng.device_registry.service import staff

router = secured_router(tags=["sections and officers 科室与人员"])


@router.get("/api/v1/sections", summary="The bureau's sections 科室列表")
async def list_sections(session: SessionDep, _principal: CurrentPrincipal) -> SectionList:
    sections = await staff.list_sections(session)
    return SectionList(items=[SectionRead.model_validate(s) for s in sections])


@router.post("/api/v1/sections", status_code=201, summary="Create a section 新建科室")
async def create_section(
    data: SectionCreate, session: SessionDep, principal: OfficeStaff
) -> SectionRead:
    return SectionRead.model_validate(await staff.create_section(session, principal, data))


@router.patch(
    "/api/v1/sections/{code}", summary="Rename a section, name its head or custodian 修改科室"
)
async def update_section(
    code: str, data: SectionUpdate, session: SessionDep, principal: OfficeStaff
) -> SectionRead:
    return SectionRead.model_validate(await staff.update_section(session, principal, code, data))


@router.get("/api/v1/officers", summary="Officers the caller may see 人员列表")
async def list_officers(
    session: SessionDep,
    principal: CurrentPrincipal,
    section: Annotated[str | None, Query(max_length=32)] = None,
    sort: Annotated[str | None, OFFICER_SORTING.query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> OfficerPage:
    rows, total = await staff.list_officers(
        session,
        principal,
        section=section,
        sort=OFFICER_SORTING.parse(sort),
        offset=offset,
        limit=limit,
    )
    return OfficerPage(items=[OfficerRead.model_validate(o) for o in rows], total=total)


@router.get("/api/v1/officers/{officer_id}", summary="One officer 人员详情")
async def get_officer(
    officer_id: str, session: SessionDep, principal: CurrentPrincipal
) -> OfficerRead:
    return OfficerRead.model_validate(await staff.get_officer(session, principal, officer_id))


@router.post("/api/v1/officers", status_code=201, summary="Add an officer 新增人员")
async def create_officer(
    data: OfficerCreate, session: SessionDep, principal: OfficeStaff
) -> OfficerRead:
    return OfficerRead.model_validate(await staff.create_officer(session, principal, data))


@router.patch(
    "/api/v1/officers/{officer_id}", summary="Change an officer's section, duty or details 修改人员"
)
async def update_officer(
    officer_id: str, data: OfficerUpdate, session: SessionDep, principal: OfficeStaff
) -> OfficerRead:
    return OfficerRead.model_validate(
        await staff.update_officer(session, principal, officer_id, data)
    )
