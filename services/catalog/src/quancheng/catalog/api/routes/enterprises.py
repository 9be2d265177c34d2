from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Query, Response

from quancheng.catalog.api.params import IdempotencyKeyHeader
from quancheng.catalog.inputs import EnterpriseWrite
from quancheng.catalog.repository import ENTERPRISE_SORTING
from quancheng.catalog.schemas import EnterpriseFile, EnterprisePage, EnterpriseRead
from quancheng.catalog.service import enterprises as service
from quancheng.catalog.service import idempotency
from quancheng.common.auth import OfficeStaff, Principal, Role, require_roles
from quancheng.common.limits import Limit, Offset
from quancheng.common.service import SessionDep, secured_router

router = secured_router(prefix="/api/v1/enterprises", tags=["enterprises 企业（一企一档）"])

Platform = Annotated[Principal, Depends(require_roles(Role.OFFICE, Role.INTEGRATION))]
Staff = Annotated[
    Principal,
    Depends(
        require_roles(
            Role.OFFICER,
            Role.SECTION_HEAD,
            Role.CUSTODIAN,
            Role.OFFICE,
            Role.ARCHIVIST,
            Role.SUPERVISOR,
            Role.INTEGRATION,
        )
    ),
]


@router.post(
    "",
    status_code=201,
    summary="Register an enterprise 登记企业",
    responses={200: {"model": EnterpriseRead, "description": "the same Idempotency-Key again"}},
)
async def create_enterprise(
    data: EnterpriseWrite,
    session: SessionDep,
    principal: OfficeStaff,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> EnterpriseRead:
    enterprise, created = await idempotency.once(
        session,
        principal,
        idempotency_key,
        data,
        resource="enterprise",
        create=lambda: service.create(session, principal, data),
        load=lambda enterprise_id: service.get(session, enterprise_id),
        id_of=lambda enterprise: enterprise.id,
    )
    response.status_code = 201 if created else 200
    return EnterpriseRead.model_validate(enterprise)


@router.put(
    "/external/{external_id}",
    summary="Create or update an enterprise by the platform's own id (idempotent) 同步企业",
    responses={201: {"model": EnterpriseRead, "description": "created: the enterprise was new"}},
)
async def put_external_enterprise(
    external_id: Annotated[str, Path(min_length=1, max_length=128)],
    data: EnterpriseWrite,
    session: SessionDep,
    principal: Platform,
    response: Response,
) -> EnterpriseRead:
    enterprise, created = await service.put_external(session, principal, external_id, data)
    response.status_code = 201 if created else 200
    return EnterpriseRead.model_validate(enterprise)


@router.put("/{enterprise_id}", summary="Correct an enterprise's details 修改企业信息")
async def update_enterprise(
    enterprise_id: UUID, data: EnterpriseWrite, session: SessionDep, principal: OfficeStaff
) -> EnterpriseRead:
    return EnterpriseRead.model_validate(
        await service.update(session, principal, enterprise_id, data)
    )


@router.get("", summary="Find enterprises by name fragment or credit code 企业查询")
async def search_enterprises(
    session: SessionDep,
    principal: Staff,
    q: Annotated[
        str | None, Query(max_length=200, description="a fragment of the name, or a credit code")
    ] = None,
    region: Annotated[str | None, Query(max_length=64, description="属地")] = None,
    industry: Annotated[str | None, Query(max_length=64, description="行业")] = None,
    sort: Annotated[str | None, ENTERPRISE_SORTING.query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> EnterprisePage:
    rows, total = await service.search(
        session,
        q,
        region=region,
        industry=industry,
        sort=ENTERPRISE_SORTING.parse(sort),
        offset=offset,
        limit=limit,
    )
    return EnterprisePage(items=[EnterpriseRead.model_validate(e) for e in rows], total=total)


@router.get("/{enterprise_id}", summary="One enterprise 企业详情")
async def get_enterprise(
    enterprise_id: UUID, session: SessionDep, principal: Staff
) -> EnterpriseRead:
    return EnterpriseRead.model_validate(await service.get(session, enterprise_id))


@router.get("/{enterprise_id}/file", summary="Everything about an enterprise 一企一档")
async def get_enterprise_file(
    enterprise_id: UUID, session: SessionDep, principal: Staff
) -> EnterpriseFile:
    return EnterpriseFile.model_validate(await service.file(session, principal, enterprise_id))
