"""Enterprises (一企一档): registered by the office, or kept in step by the district's unified
enforcement platform under its own ids (a retried call never makes a second enterprise)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.inputs import EnterpriseWrite
from quancheng.catalog.models import Activity, Enterprise
from quancheng.catalog.repository import (
    ActivityFilter,
    ActivityRepository,
    EnterpriseRepository,
    RecordRepository,
)
from quancheng.catalog.service.records import reindex, visibility
from quancheng.common import audit
from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.sorting import Sort


@dataclass(frozen=True)
class FileContents:
    """一企一档: the enterprise, its activities newest first, and what they hold."""

    enterprise: Enterprise
    activities: list[Activity]
    records: int
    bytes: int
    hidden_dangers_found: int
    violations_found: int


def _exists(existing: Enterprise) -> ApiError:
    return ApiError(
        409,
        "enterprise_exists",
        f"credit code {existing.credit_code} is already enterprise {existing.id} ({existing.name})",
        f"统一社会信用代码 {existing.credit_code} 已登记为“{existing.name}”",
        extra={"enterprise_id": str(existing.id)},
    )


def _not_found() -> ApiError:
    return ApiError(404, "enterprise_not_found", "no such enterprise", "未找到该企业")


async def create(session: AsyncSession, principal: Principal, data: EnterpriseWrite) -> Enterprise:
    repository = EnterpriseRepository(session)
    existing = await repository.by_credit_code(data.credit_code)
    if existing is not None:
        raise _exists(existing)
    now = utcnow()
    enterprise = Enterprise(id=uuid4(), **data.model_dump(), created_at=now, updated_at=now)
    await repository.add(enterprise)
    await _audit(session, principal, "enterprise.create", enterprise, data)
    return enterprise


async def update(
    session: AsyncSession, principal: Principal, enterprise_id: UUID, data: EnterpriseWrite
) -> Enterprise:
    repository = EnterpriseRepository(session)
    enterprise = await repository.get(enterprise_id)
    if enterprise is None:
        raise _not_found()
    holder = await repository.by_credit_code(data.credit_code)
    if holder is not None and holder.id != enterprise.id:
        raise _exists(holder)
    await _apply(repository, enterprise, data)
    await _audit(session, principal, "enterprise.update", enterprise, data)
    return enterprise


async def put_external(
    session: AsyncSession, principal: Principal, external_id: str, data: EnterpriseWrite
) -> tuple[Enterprise, bool]:
    """The enterprise the platform calls ``external_id``, created or brought up to date; an
    enterprise the bureau registered itself is recognised by its credit code. Returns it and
    whether it was created."""
    try:
        async with session.begin_nested():
            return await _put_external(session, principal, external_id, data)
    except IntegrityError:
        # A concurrent call with the same id committed first: this one is now an update.
        return await _put_external(session, principal, external_id, data)


async def _put_external(
    session: AsyncSession, principal: Principal, external_id: str, data: EnterpriseWrite
) -> tuple[Enterprise, bool]:
    repository = EnterpriseRepository(session)
    enterprise = await repository.by_external_id(external_id)
    holder = await repository.by_credit_code(data.credit_code)
    if enterprise is None and holder is not None and holder.external_id == external_id:
        enterprise = holder  # a concurrent call with this id committed between the two reads
    if enterprise is None and holder is not None:
        if holder.external_id is not None:
            raise _exists(holder)
        enterprise, holder = holder, None
        enterprise.external_id = external_id
    if holder is not None and enterprise is not None and holder.id != enterprise.id:
        raise _exists(holder)
    if enterprise is None:
        now = utcnow()
        enterprise = Enterprise(
            id=uuid4(), **data.model_dump(), external_id=external_id, created_at=now, updated_at=now
        )
        await repository.add(enterprise)
        await _audit(session, principal, "enterprise.create", enterprise, data)
        return enterprise, True
    await _apply(repository, enterprise, data)
    await _audit(session, principal, "enterprise.update", enterprise, data)
    return enterprise, False


async def get(session: AsyncSession, enterprise_id: UUID) -> Enterprise:
    enterprise = await EnterpriseRepository(session).get(enterprise_id)
    if enterprise is None:
        raise _not_found()
    return enterprise


async def search(
    session: AsyncSession,
    text: str | None,
    *,
    region: str | None,
    industry: str | None,
    sort: Sort | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Enterprise], int]:
    return await EnterpriseRepository(session).search(
        text, region=region, industry=industry, sort=sort, offset=offset, limit=limit
    )


async def file(session: AsyncSession, principal: Principal, enterprise_id: UUID) -> FileContents:
    """一企一档: the enterprise and everything the caller may see about it."""
    enterprise = await get(session, enterprise_id)
    seen = visibility(principal)
    found = await ActivityRepository(session).matching(
        visibility=seen, wanted=ActivityFilter(enterprise_id=enterprise.id)
    )
    records, _ = await RecordRepository(session).seen_of_activities(
        [a.id for a in found], visibility=seen
    )
    return FileContents(
        enterprise=enterprise,
        activities=list(reversed(found)),
        records=len(records),
        bytes=sum(r.size for r in records),
        hidden_dangers_found=sum(a.hidden_dangers_found for a in found),
        violations_found=sum(a.violations_found for a in found),
    )


async def _apply(
    repository: EnterpriseRepository, enterprise: Enterprise, data: EnterpriseWrite
) -> None:
    for field, value in data.model_dump().items():
        setattr(enterprise, field, value)
    enterprise.updated_at = utcnow()
    await repository.add(enterprise)
    # Its records are found by its name: keep their search text in step.
    await reindex(
        repository.session, await RecordRepository(repository.session).of_enterprise(enterprise.id)
    )


async def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    enterprise: Enterprise,
    data: EnterpriseWrite,
) -> None:
    await audit.append(
        session,
        actor=principal.subject,
        action=action,
        target=f"enterprise:{enterprise.id}",
        detail={**data.model_dump(), "external_id": enterprise.external_id},
    )
