"""The access request's life (C-5..C-9), in one place.

Allowed moves::

    submitted -> approved (every handling section's head agreed, or none needed to)
                 | rejected (a head disagreed) | revoked (withdrawn before a decision)
    approved  -> active (its period began) | revoked
    active    -> completed (the viewing is over; a 来函's copies were signed for)
                 | expired (its period ended, by itself) | revoked (ended early)
    rejected, completed, expired, revoked -> nothing: they are final

Every move is made by a named person ("system" for the moves time makes: activation and
expiry), and leaves a transition row, an audit entry and, where others care, an event.
"""

from __future__ import annotations

from quancheng.access_gateway.models import AccessStatus, DocumentKind, RequesterKind

S = AccessStatus

TRANSITIONS: dict[AccessStatus, tuple[AccessStatus, ...]] = {
    S.SUBMITTED: (S.APPROVED, S.REJECTED, S.REVOKED),
    S.APPROVED: (S.ACTIVE, S.REVOKED),
    S.ACTIVE: (S.COMPLETED, S.EXPIRED, S.REVOKED),
    S.REJECTED: (),
    S.COMPLETED: (),
    S.EXPIRED: (),
    S.REVOKED: (),
}

# Audit action for arriving in each status.
AUDIT_ACTIONS: dict[AccessStatus, str] = {
    S.SUBMITTED: "access.request",
    S.APPROVED: "access.approve",
    S.REJECTED: "access.reject",
    S.ACTIVE: "access.activate",
    S.COMPLETED: "access.complete",
    S.EXPIRED: "access.expire",
    S.REVOKED: "access.revoke",
}

# Who acts for time: activation at the start of a grant's period and expiry at its end.
SYSTEM = "system"


def allowed(current: AccessStatus, target: AccessStatus) -> bool:
    return target in TRANSITIONS[current]


D = DocumentKind

# What each requester from outside submits before a grant: every group needs one document of
# its kinds (C-5, C-7, C-8; D-17).
REQUIRED_DOCUMENTS: dict[RequesterKind, tuple[tuple[DocumentKind, ...], ...]] = {
    RequesterKind.OWN_SECTION: (),
    RequesterKind.OTHER_SECTION: (),
    RequesterKind.COUNTERPARTY: ((D.BUSINESS_LICENCE, D.IDENTITY_DOCUMENT),),
    RequesterKind.VISITOR: ((D.INTRODUCTION_LETTER,), (D.WORK_ID,)),
    RequesterKind.LETTER: ((D.INCOMING_LETTER,),),
}

# What must be kept before a request counts as completed: a 来函's copies are sent against a
# signed hand-over (C-8).
REQUIRED_TO_COMPLETE: dict[RequesterKind, tuple[DocumentKind, ...]] = {
    RequesterKind.LETTER: (D.HANDOVER,),
}


def missing_documents(
    kind: RequesterKind, kept: set[DocumentKind]
) -> list[tuple[DocumentKind, ...]]:
    """The groups of :data:`REQUIRED_DOCUMENTS` of which ``kept`` has none."""
    return [group for group in REQUIRED_DOCUMENTS[kind] if kept.isdisjoint(group)]
