"""Events the gateway listens to: the registry's sections as they now are, so that a request is
approved by the head the registry names for its records' handling section (C-6b)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.access_gateway.models import SectionHead
from quancheng.access_gateway.repository import SectionRepository
from quancheng.common.events import Consumers, SectionChanged


async def on_section_changed(session: AsyncSession, event: SectionChanged) -> None:
    repository = SectionRepository(session)
    section = await repository.get(event.code)
    if section is not None and section.updated_at > event.occurred_at:
        return  # told later already
    section = section or SectionHead(code=event.code, name=event.name, updated_at=event.occurred_at)
    section.name = event.name
    section.head_officer_id = event.head_officer_id
    section.updated_at = event.occurred_at
    await repository.add(section)


def register(consumers: Consumers) -> None:
    consumers.on(SectionChanged, on_section_changed)
