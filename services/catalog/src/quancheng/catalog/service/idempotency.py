"""``Idempotency-Key`` on creating calls (the IETF httpapi draft's header): the platform, or any
client, may send a POST again after a timeout without making a second activity or enterprise."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.models import IdempotencyKey
from quancheng.catalog.repository import IdempotencyRepository
from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError

T = TypeVar("T")


async def once(
    session: AsyncSession,
    principal: Principal,
    key: str | None,
    body: BaseModel,
    *,
    resource: str,
    create: Callable[[], Awaitable[T]],
    load: Callable[[UUID], Awaitable[T]],
    id_of: Callable[[T], UUID],
) -> tuple[T, bool]:
    """``create()`` the first time ``key`` comes from this caller; the same resource after.
    Returns it and whether it was created now."""
    if key is None:
        return await create(), True
    digest = hashlib.sha256(
        json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()
    try:
        async with session.begin_nested():
            return await _once(session, principal, key, digest, resource, create, load, id_of)
    except IntegrityError:
        # The same key in a concurrent call, committed first: this one repeats it.
        return await _once(session, principal, key, digest, resource, create, load, id_of)


async def _once(
    session: AsyncSession,
    principal: Principal,
    key: str,
    digest: str,
    resource: str,
    create: Callable[[], Awaitable[T]],
    load: Callable[[UUID], Awaitable[T]],
    id_of: Callable[[T], UUID],
) -> tuple[T, bool]:
    repository = IdempotencyRepository(session)
    seen = await repository.get((principal.subject, key))
    if seen is not None:
        if (seen.resource, seen.request_sha256) != (resource, digest):
            raise _reused(key)
        return await load(seen.resource_id), False
    created = await create()
    await repository.add(
        IdempotencyKey(
            caller=principal.subject,
            key=key,
            request_sha256=digest,
            resource=resource,
            resource_id=id_of(created),
            created_at=utcnow(),
        )
    )
    return created, True


def _reused(key: str) -> ApiError:
    extra: dict[str, Any] = {"idempotency_key": key}
    return ApiError(
        422,
        "idempotency_key_reused",
        "this Idempotency-Key was already used for a different request",
        "该幂等键已用于另一个不同的请求",
        extra=extra,
    )
