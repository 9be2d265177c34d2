from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlmodel import col, select

from quancheng.access_gateway.models import (
    AccessApproval,
    AccessDocument,
    AccessItem,
    AccessRequest,
    AccessStatus,
    AccessTransition,
    Account,
    PlaybackRange,
    PlaybackTicket,
    RequesterKind,
    SectionHead,
    ViewingSession,
)
from quancheng.common.db.repository import Repository
from quancheng.common.sorting import Sort, Sorting

ACCOUNT_SORTING = Sorting(
    {
        "username": col(Account.username),
        "display_name": col(Account.display_name),
        "created_at": col(Account.created_at),
        "updated_at": col(Account.updated_at),
    },
    unique=col(Account.username),
    default=[col(Account.username)],
)


class AccountRepository(Repository[Account]):
    model = Account

    async def page(
        self, *, sort: Sort | None, offset: int, limit: int
    ) -> tuple[Sequence[Account], int]:
        """By username, unless ``sort`` asks for another order."""
        return await self._paged(
            order_by=ACCOUNT_SORTING.order_by(sort), offset=offset, limit=limit
        )


@dataclass(frozen=True)
class AccessFilter:
    """Which requests a list shows; None means any."""

    status: AccessStatus | None = None
    requester_kind: RequesterKind | None = None
    section: str | None = None  # naming records of this handling section
    record_id: UUID | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None  # exclusive
    # Pending the decision of one of these sections' head (the head's approval queue).
    awaiting_sections: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AccessScope:
    """Which requests a caller may see: all, or those they made or registered, and those
    naming records of the ``sections`` they head."""

    everything: bool = False
    person: str | None = None
    sections: tuple[str, ...] = ()


ACCESS_SORTING = Sorting(
    {
        "submitted_at": col(AccessRequest.submitted_at),
        "valid_until": col(AccessRequest.valid_until),
        "status": col(AccessRequest.status),
    },
    unique=col(AccessRequest.id),
    default=[col(AccessRequest.submitted_at).desc(), col(AccessRequest.id)],
)


def _names_sections(sections: Collection[str]) -> ColumnElement[bool]:
    return exists(
        select(AccessItem.record_id).where(
            col(AccessItem.request_id) == col(AccessRequest.id),
            col(AccessItem.handling_section).in_(sections),
        )
    )


class AccessRepository(Repository[AccessRequest]):
    model = AccessRequest

    async def page(
        self,
        *,
        scope: AccessScope,
        wanted: AccessFilter,
        sort: Sort | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[AccessRequest], int]:
        conditions: list[ColumnElement[bool]] = []
        if not scope.everything:
            mine = [
                col(AccessRequest.requester_account) == scope.person,
                col(AccessRequest.registered_by) == scope.person,
            ]
            if scope.sections:
                mine.append(_names_sections(scope.sections))
            conditions.append(or_(*mine))
        for column, value in (
            (AccessRequest.status, wanted.status),
            (AccessRequest.requester_kind, wanted.requester_kind),
        ):
            if value is not None:
                conditions.append(col(column) == value)
        if wanted.section is not None:
            conditions.append(_names_sections([wanted.section]))
        if wanted.record_id is not None:
            conditions.append(
                exists(
                    select(AccessItem.record_id).where(
                        col(AccessItem.request_id) == col(AccessRequest.id),
                        col(AccessItem.record_id) == wanted.record_id,
                    )
                )
            )
        if wanted.submitted_from is not None:
            conditions.append(col(AccessRequest.submitted_at) >= wanted.submitted_from)
        if wanted.submitted_to is not None:
            conditions.append(col(AccessRequest.submitted_at) < wanted.submitted_to)
        if wanted.awaiting_sections is not None:
            conditions.append(col(AccessRequest.status) == AccessStatus.SUBMITTED)
            conditions.append(
                exists(
                    select(AccessApproval.section).where(
                        col(AccessApproval.request_id) == col(AccessRequest.id),
                        col(AccessApproval.section).in_(wanted.awaiting_sections),
                        col(AccessApproval.decision).is_(None),
                    )
                )
            )
        return await self._paged(
            *conditions, order_by=ACCESS_SORTING.order_by(sort), offset=offset, limit=limit
        )

    async def due(self, now: datetime) -> Sequence[AccessRequest]:
        """Requests whose period began or ended and that have not moved since: time's moves."""
        began = and_(
            col(AccessRequest.status) == AccessStatus.APPROVED,
            col(AccessRequest.valid_from) <= now,
        )
        ended = and_(
            col(AccessRequest.status) == AccessStatus.ACTIVE,
            col(AccessRequest.valid_until) <= now,
        )
        # Skipping rows another transaction holds: another replica is making that move.
        query = select(AccessRequest).where(or_(began, ended)).with_for_update(skip_locked=True)
        return (await self.session.exec(query)).all()

    async def locked(self, request_id: UUID) -> AccessRequest | None:
        """The request, held until the transaction ends (on PostgreSQL), so that two heads
        deciding at once see each other's decision."""
        query = select(AccessRequest).where(col(AccessRequest.id) == request_id)
        return (await self.session.exec(query.with_for_update())).first()

    async def items(self, request_ids: Collection[UUID]) -> Sequence[AccessItem]:
        query = select(AccessItem).where(col(AccessItem.request_id).in_(request_ids))
        return (await self.session.exec(query.order_by(col(AccessItem.position)))).all()

    async def documents(self, request_ids: Collection[UUID]) -> Sequence[AccessDocument]:
        query = select(AccessDocument).where(col(AccessDocument.request_id).in_(request_ids))
        return (await self.session.exec(query.order_by(col(AccessDocument.uploaded_at)))).all()

    async def document(self, document_id: UUID) -> AccessDocument | None:
        return await self.session.get(AccessDocument, document_id)

    async def approvals(self, request_ids: Collection[UUID]) -> Sequence[AccessApproval]:
        query = select(AccessApproval).where(col(AccessApproval.request_id).in_(request_ids))
        return (await self.session.exec(query.order_by(col(AccessApproval.section)))).all()

    async def transitions(self, request_id: UUID) -> Sequence[AccessTransition]:
        query = select(AccessTransition).where(col(AccessTransition.request_id) == request_id)
        return (await self.session.exec(query.order_by(col(AccessTransition.id)))).all()


class SectionRepository(Repository[SectionHead]):
    model = SectionHead

    async def headed_by(self, officer_id: str) -> list[str]:
        """The sections the registry names ``officer_id`` the head of."""
        query = select(SectionHead.code).where(col(SectionHead.head_officer_id) == officer_id)
        return sorted((await self.session.exec(query)).all())


class ViewingRepository(Repository[ViewingSession]):
    """Viewing sessions, the playback tickets issued in them (or outside one, for a handling
    section's own grant), and the ranges served under each."""

    model = ViewingSession

    async def of_requests(self, request_ids: Collection[UUID]) -> Sequence[ViewingSession]:
        query = select(ViewingSession).where(col(ViewingSession.request_id).in_(request_ids))
        return (await self.session.exec(query.order_by(col(ViewingSession.opened_at)))).all()

    async def ticket(self, ticket_hash: str) -> PlaybackTicket | None:
        return await self.session.get(PlaybackTicket, ticket_hash)

    async def tickets(self, session_id: UUID) -> Sequence[PlaybackTicket]:
        query = select(PlaybackTicket).where(col(PlaybackTicket.session_id) == session_id)
        return (await self.session.exec(query.order_by(col(PlaybackTicket.issued_at)))).all()

    async def playback_range(self, range_id: int) -> PlaybackRange | None:
        return await self.session.get(PlaybackRange, range_id)

    async def forget(self, served: PlaybackRange) -> None:
        """A range nothing was served of (the player hung up at once)."""
        await self.session.delete(served)
        await self.session.flush()

    async def ranges(self, ticket_hashes: Collection[str]) -> Sequence[PlaybackRange]:
        query = select(PlaybackRange).where(col(PlaybackRange.ticket_hash).in_(ticket_hashes))
        return (await self.session.exec(query.order_by(col(PlaybackRange.id)))).all()
