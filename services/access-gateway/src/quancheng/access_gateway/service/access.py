"""The access (调阅) workflow (B-9, C-5..C-8, B-11): who may ask for what, who approves, and the
grant that follows. The approver is found from the records' handling sections, never chosen by
the requester; a grant never reaches a record above the requester's clearance, nor one with
privacy flags unless its approval says so; and it always ends."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.access_gateway import lifecycle
from quancheng.access_gateway.inputs import AccessDecisionCreate, AccessRequestCreate
from quancheng.access_gateway.models import (
    AccessApproval,
    AccessDocument,
    AccessItem,
    AccessRequest,
    AccessStatus,
    AccessTransition,
    Decision,
    DocumentKind,
    RequesterKind,
)
from quancheng.access_gateway.repository import (
    AccessFilter,
    AccessRepository,
    AccessScope,
    AccountRepository,
    SectionRepository,
)
from quancheng.access_gateway.service.selection import RecordSelector, SelectedRecord
from quancheng.common import audit
from quancheng.common.auth import Principal, Role
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.events import (
    AccessActivated,
    AccessEnded,
    AccessGranted,
    AccessRejected,
    AccessRequested,
    record,
)
from quancheng.common.settings import Settings
from quancheng.common.sorting import Sort
from quancheng.common.storage.base import ObjectStore

S = AccessStatus

# The office and archivists register requesters from outside and keep their documents; they and
# supervisors see every request.
REGISTRARS = (Role.OFFICE, Role.ARCHIVIST)
SEE_ALL = (Role.OFFICE, Role.ARCHIVIST, Role.SUPERVISOR)
# Who may ask for themselves: the bureau's people.
PEOPLE = (
    Role.OFFICER,
    Role.SECTION_HEAD,
    Role.CUSTODIAN,
    Role.OFFICE,
    Role.ARCHIVIST,
    Role.SUPERVISOR,
)
# What a document may be: scans and photos, as the bureau's scanners and phones make them.
DOCUMENT_TYPES = frozenset(
    {"application/pdf", "image/jpeg", "image/png", "image/tiff", "application/ofd"}
)


@dataclass(frozen=True)
class MissingDocuments:
    """A document still to be submitted: any one of ``kinds``."""

    kinds: tuple[DocumentKind, ...]


@dataclass(frozen=True)
class RequestView:
    """A request with everything kept with it; it reads as the request itself too."""

    request: AccessRequest
    items: Sequence[AccessItem]
    documents: Sequence[AccessDocument]
    approvals: Sequence[AccessApproval]
    transitions: Sequence[AccessTransition]

    def __getattr__(self, name: str) -> Any:
        if name == "request":  # not set yet (a copy being made): not the request's to answer
            raise AttributeError(name)
        return getattr(self.request, name)

    @property
    def record_count(self) -> int:
        return len(self.items)

    @property
    def granted_count(self) -> int:
        return sum(1 for item in self.items if item.granted)

    @property
    def missing_documents(self) -> list[MissingDocuments]:
        kept = {d.kind for d in self.documents}
        missing = lifecycle.missing_documents(self.request.requester_kind, kept)
        return [MissingDocuments(kinds=group) for group in missing]


def _flagged(item: AccessItem | SelectedRecord) -> bool:
    return bool(item.privacy_flags)


def _target(request_id: UUID) -> str:
    return f"access-request:{request_id}"


async def _move(
    session: AsyncSession,
    request: AccessRequest,
    to: AccessStatus,
    by: str,
    note: str | None = None,
) -> None:
    """One move of :data:`lifecycle.TRANSITIONS`, with its history row and audit entry."""
    if not lifecycle.allowed(request.status, to):
        raise ApiError(
            409,
            "invalid_transition",
            f"a request that is {request.status} can't become {to}",
            f"调阅申请当前为“{request.status.label}”，不能变为“{to.label}”",
        )
    now = utcnow()
    await AccessRepository(session).keep(
        AccessTransition(
            request_id=request.id,
            from_status=request.status,
            to_status=to,
            by=by,
            at=now,
            note=note,
        )
    )
    await audit.append(
        session,
        actor=by,
        action=lifecycle.AUDIT_ACTIONS[to],
        target=_target(request.id),
        detail={"from": request.status.value, "to": to.value, "note": note},
    )
    request.status = to
    request.updated_at = now
    await AccessRepository(session).add(request)


async def catch_up(session: AsyncSession) -> None:
    """Time's moves: an approved grant whose period began becomes active, an active one whose
    period ended expires. Run before every read and decision, so nobody sees a stale grant."""
    now = utcnow()
    for request in await AccessRepository(session).due(now):
        await _follow_time(session, request)


async def _follow_time(session: AsyncSession, request: AccessRequest) -> None:
    now = utcnow()
    if request.status == S.APPROVED and request.valid_from <= now:
        await _move(session, request, S.ACTIVE, lifecycle.SYSTEM, "调阅期限开始")
        if request.valid_until is not None:  # an approved grant always has its end
            record(
                session,
                AccessActivated(
                    request_id=request.id,
                    valid_from=request.valid_from,
                    valid_until=request.valid_until,
                ),
            )
    if (
        request.status == S.ACTIVE
        and request.valid_until is not None
        and request.valid_until <= now
    ):
        await _move(session, request, S.EXPIRED, lifecycle.SYSTEM, "调阅期限届满")
        record(session, AccessEnded(request_id=request.id, how=S.EXPIRED, by=lifecycle.SYSTEM))


async def create(
    session: AsyncSession,
    principal: Principal,
    selector: RecordSelector,
    settings: Settings,
    body: AccessRequestCreate,
) -> AccessRequest:
    outside = body.requester
    if outside is not None and not principal.has_any(*REGISTRARS):
        raise ApiError(
            403,
            "registrar_only",
            "a requester from outside the bureau is registered by the office or an archivist",
            "外部调阅人的申请须由办公室或档案管理员代为登记",
        )
    if outside is None and not principal.has_any(*PEOPLE):
        raise ApiError(
            403,
            "forbidden",
            "only the bureau's staff ask for access with their own account",
            "只有本局工作人员可以本人账户申请调阅",
        )
    if outside is not None and not principal.clearance.allows(outside.clearance):
        raise ApiError(
            422,
            "clearance_above_registrant",
            "a requester can't be registered with a clearance above your own",
            f"登记的调阅人密级不得高于您本人的密级（{principal.clearance.label}）",
        )
    limit = settings.gateway.max_grant_days
    if body.days > limit:
        raise ApiError(
            422,
            "grant_too_long",
            f"a grant lasts at most {limit} days",
            f"调阅期限最长 {limit} 天",
        )
    scope: dict[str, Any] = {
        "record_ids": [str(r) for r in body.record_ids],
        "activity_id": None if body.activity_id is None else str(body.activity_id),
        "case_number": body.case_number,
        "enterprise_id": None if body.enterprise_id is None else str(body.enterprise_id),
    }
    selection = await selector.select(scope)
    if selection.missing:
        raise ApiError(
            422,
            "records_not_found",
            f"{len(selection.missing)} of the records named do not exist",
            f"所列记录中有 {len(selection.missing)} 条不存在",
            extra={"missing": [str(r) for r in selection.missing]},
        )
    records = selection.records
    if not records:
        raise ApiError(
            422,
            "nothing_selected",
            "what the request names holds no records",
            "所指明的范围内没有任何记录",
        )
    clearance = principal.clearance if outside is None else outside.clearance
    above = [r for r in records if not clearance.allows(r.secrecy)]
    if above:
        raise ApiError(
            403,
            "above_clearance",
            f"{len(above)} of the records are classified above the requester's clearance",
            f"其中 {len(above)} 条记录的密级高于调阅人的密级（{clearance.label}），不能调阅",
        )
    unhandled = [r for r in records if r.handling_section is None]
    if unhandled:
        raise ApiError(
            409,
            "no_handling_section",
            f"{len(unhandled)} of the records have no handling section to approve their access",
            f"其中 {len(unhandled)} 条记录尚无承办科室，无法确定审批人，请先补录承办科室",
        )
    sections = sorted({r.handling_section for r in records if r.handling_section})
    if outside is None:
        own = principal.section
        kind = (
            RequesterKind.OWN_SECTION
            if own is not None and sections == [own]
            else RequesterKind.OTHER_SECTION
        )
        # B-9: the handling section's own look needs no approval, unless it reaches what is
        # private (C-6b, D-19).
        needed = [
            s
            for s in sections
            if s != own or any(_flagged(r) for r in records if r.handling_section == s)
        ]
    else:
        kind = RequesterKind(outside.kind)
        needed = sections
    now = utcnow()
    request = AccessRequest(
        id=uuid4(),
        requester_kind=kind,
        requester_account=None if outside is not None else principal.subject,
        requester_name=outside.name if outside is not None else await _name_of(session, principal),
        requester_unit=principal.section if outside is None else outside.unit,
        requester_id_number=None if outside is None else outside.id_number,
        requester_contact=None if outside is None else outside.contact,
        clearance=clearance,
        registered_by=principal.subject,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        access=body.access,
        days=body.days,
        scope=scope,
        sections=sections,
        status=S.SUBMITTED,
        valid_from=max(body.valid_from or now, now),
        submitted_at=now,
        updated_at=now,
    )
    repository = AccessRepository(session)
    await repository.add(request)
    await repository.keep(
        *(
            AccessItem(
                request_id=request.id,
                record_id=r.record_id,
                position=n,
                filename=r.filename,
                kind=r.kind,
                size=r.size,
                sha256=r.sha256,
                object_key=r.object_key,
                handling_section=r.handling_section,
                secrecy=r.secrecy,
                privacy_flags=r.privacy_flags,
                case_number=r.case_number,
                captured_at=r.captured_at,
            )
            for n, r in enumerate(records)
        ),
        *(AccessApproval(request_id=request.id, section=s) for s in needed),
    )
    await repository.keep(
        AccessTransition(
            request_id=request.id,
            from_status=None,
            to_status=S.SUBMITTED,
            by=principal.subject,
            at=now,
        )
    )
    await audit.append(
        session,
        actor=principal.subject,
        action=lifecycle.AUDIT_ACTIONS[S.SUBMITTED],
        target=_target(request.id),
        detail={
            "requester": request.requester_name,
            "requester_kind": kind.value,
            "records": len(records),
            "sections": sections,
            "approvals_needed": needed,
            "access": body.access.value,
            "days": body.days,
        },
    )
    record(
        session,
        AccessRequested(
            request_id=request.id,
            requester=request.requester_name,
            requester_kind=kind,
            registered_by=principal.subject,
            record_ids=[r.record_id for r in records],
            sections=sections,
            approvers_needed=needed,
            access=body.access,
            purpose=body.purpose,
        ),
    )
    if not needed:
        await _grant(session, request, principal.subject, "承办科室调阅，登记即准")
    return request


async def _name_of(session: AsyncSession, principal: Principal) -> str:
    """A requester inside the bureau by name: their local account's, else the token's subject."""
    account = await AccountRepository(session).get(principal.subject)
    return principal.subject if account is None else account.display_name


async def _grant(session: AsyncSession, request: AccessRequest, by: str, note: str) -> None:
    """Approve: the grant reaches every record but flagged ones whose section's approval did
    not include them; its period starts now or later and always ends."""
    repository = AccessRepository(session)
    approvals = {a.section: a for a in await repository.approvals([request.id])}
    items = await repository.items([request.id])
    for item in items:
        approval = approvals.get(item.handling_section or "")
        item.granted = not _flagged(item) or (approval is not None and approval.include_flagged)
    granted = [i for i in items if i.granted]
    if not granted:
        raise ApiError(
            422,
            "grant_empty",
            "every record named has privacy flags: approve them explicitly (include_flagged) "
            "or reject the request",
            "所列记录均含隐私或商业秘密标记：如同意调阅，请勾选“包含敏感记录”，否则请驳回",
        )
    await repository.keep(*items)
    request.valid_from = max(request.valid_from, utcnow())
    request.valid_until = request.valid_from + timedelta(days=request.days)
    await _move(session, request, S.APPROVED, by, note)
    record(
        session,
        AccessGranted(
            request_id=request.id,
            approvers=[a.decided_by for a in approvals.values() if a.decided_by],
            record_ids=[i.record_id for i in granted],
            access=request.access,
            valid_from=request.valid_from,
            valid_until=request.valid_until,
        ),
    )
    await _follow_time(session, request)


async def _request(session: AsyncSession, request_id: UUID) -> AccessRequest:
    """The request, brought up to date with time and held for the rest of the transaction."""
    await catch_up(session)
    request = await AccessRepository(session).locked(request_id)
    if request is None:
        raise ApiError(404, "access_request_not_found", "no such request", "未找到该调阅申请")
    return request


async def _heads(session: AsyncSession, principal: Principal) -> list[str]:
    """The sections the caller heads, as the registry names them (a token's role alone is not
    enough)."""
    if not principal.has_any(Role.SECTION_HEAD):
        return []
    return await SectionRepository(session).headed_by(principal.subject)


async def _may_read(session: AsyncSession, principal: Principal, request: AccessRequest) -> bool:
    if principal.has_any(*SEE_ALL):
        return True
    if principal.subject in (request.requester_account, request.registered_by):
        return True
    return bool(set(await _heads(session, principal)) & set(request.sections))


async def readable(session: AsyncSession, principal: Principal, request_id: UUID) -> AccessRequest:
    """The request, if the caller may see it (one they may not is as good as absent)."""
    request = await _request(session, request_id)
    if not await _may_read(session, principal, request):
        raise ApiError(404, "access_request_not_found", "no such request", "未找到该调阅申请")
    return request


async def view(session: AsyncSession, principal: Principal, request_id: UUID) -> RequestView:
    return await _view(session, await readable(session, principal, request_id))


async def _view(session: AsyncSession, request: AccessRequest) -> RequestView:
    repository = AccessRepository(session)
    return RequestView(
        request=request,
        items=await repository.items([request.id]),
        documents=await repository.documents([request.id]),
        approvals=await repository.approvals([request.id]),
        transitions=await repository.transitions(request.id),
    )


async def page(
    session: AsyncSession,
    principal: Principal,
    wanted: AccessFilter,
    *,
    awaiting_me: bool,
    sort: Sort | None,
    offset: int,
    limit: int,
) -> tuple[list[RequestView], int]:
    await catch_up(session)
    heads = await _heads(session, principal)
    scope = AccessScope(
        everything=principal.has_any(*SEE_ALL), person=principal.subject, sections=tuple(heads)
    )
    if awaiting_me:
        wanted = AccessFilter(**{**wanted.__dict__, "awaiting_sections": tuple(heads)})
    repository = AccessRepository(session)
    rows, total = await repository.page(
        scope=scope, wanted=wanted, sort=sort, offset=offset, limit=limit
    )
    ids = [r.id for r in rows]
    approvals = await repository.approvals(ids)
    documents = await repository.documents(ids)
    items = await repository.items(ids)
    views = [
        RequestView(
            request=r,
            items=[i for i in items if i.request_id == r.id],
            documents=[d for d in documents if d.request_id == r.id],
            approvals=[a for a in approvals if a.request_id == r.id],
            transitions=[],
        )
        for r in rows
    ]
    return views, total


async def decide(
    session: AsyncSession, principal: Principal, request_id: UUID, body: AccessDecisionCreate
) -> RequestView:
    """A handling section's head decides for their section; the last approval grants."""
    request = await _request(session, request_id)
    repository = AccessRepository(session)
    approvals = await repository.approvals([request.id])
    heads = set(await _heads(session, principal))
    mine = [a for a in approvals if a.section in heads]
    if not mine:
        awaited = "、".join(a.section for a in approvals) or "无"
        raise ApiError(
            403,
            "not_the_head",
            "only the head the registry names for a handling section of these records decides",
            f"只有所涉记录承办科室（{awaited}）的负责人可以审批此申请",
        )
    if request.requester_account == principal.subject:
        raise ApiError(
            403,
            "own_request",
            "nobody approves their own request",
            "不能审批本人提出的调阅申请",
        )
    if request.status != S.SUBMITTED:
        raise ApiError(
            409,
            "not_pending",
            f"the request is {request.status} already",
            f"该申请已{request.status.label}，不能再审批",
        )
    pending = [a for a in mine if a.decision is None]
    if not pending:
        raise ApiError(
            409, "already_decided", "your section has decided already", "本科室已审批过该申请"
        )
    missing = lifecycle.missing_documents(
        request.requester_kind, {d.kind for d in await repository.documents([request.id])}
    )
    if missing and body.decision == Decision.APPROVED:
        names = "；".join("或".join(k.label for k in group) for group in missing)
        raise ApiError(
            409,
            "documents_missing",
            "the requester's documents must be kept before an approval: "
            + "; ".join(" or ".join(group) for group in missing),
            f"尚缺调阅人的材料，不能批准：{names}",
            extra={"missing": [[k.value for k in group] for group in missing]},
        )
    now = utcnow()
    for approval in pending:
        approval.decision = body.decision
        approval.opinion = body.opinion
        approval.include_flagged = body.include_flagged
        approval.decided_by = principal.subject
        approval.decided_at = now
    await repository.keep(*pending)
    sections = [a.section for a in pending]
    await audit.append(
        session,
        actor=principal.subject,
        action="access.decide",
        target=_target(request.id),
        detail={
            "sections": sections,
            "decision": body.decision.value,
            "opinion": body.opinion,
            "include_flagged": body.include_flagged,
        },
    )
    if body.decision == Decision.REJECTED:
        await _move(session, request, S.REJECTED, principal.subject, body.opinion)
        record(
            session,
            AccessRejected(
                request_id=request.id,
                by=principal.subject,
                section=",".join(sections),
                opinion=body.opinion,
            ),
        )
    elif all(a.decision == Decision.APPROVED for a in approvals):
        await _grant(session, request, principal.subject, body.opinion)
    return await _view(session, request)


async def revoke(
    session: AsyncSession, principal: Principal, request_id: UUID, reason: str | None
) -> RequestView:
    """Withdrawn by its requester or registrant before it is in force; ended early by the office
    or a head who approved it."""
    request = await _request(session, request_id)
    approvers = {a.decided_by for a in await AccessRepository(session).approvals([request.id])}
    own = principal.subject in (request.requester_account, request.registered_by)
    may = (
        principal.has_any(Role.OFFICE)
        or (own and request.status in (S.SUBMITTED, S.APPROVED))
        or (principal.subject in approvers and request.status in (S.APPROVED, S.ACTIVE))
    )
    if not may:
        if not await _may_read(session, principal, request):
            raise ApiError(404, "access_request_not_found", "no such request", "未找到该调阅申请")
        raise ApiError(
            403,
            "forbidden",
            "the office, a head who approved it, or (before it is in force) its requester revokes",
            "只有办公室、批准该申请的科室负责人，或（生效前）申请人本人可以撤销",
        )
    if not reason:
        raise ApiError(422, "reason_required", "say why it is revoked", "请填写撤销理由")
    await _move(session, request, S.REVOKED, principal.subject, reason)
    record(
        session,
        AccessEnded(request_id=request.id, how=S.REVOKED, by=principal.subject, reason=reason),
    )
    return await _view(session, request)


async def complete(
    session: AsyncSession, principal: Principal, request_id: UUID, reason: str | None
) -> RequestView:
    """The viewing is over, or the copies were handed over: a 来函 only against the signed
    hand-over (C-8)."""
    request = await readable(session, principal, request_id)
    if not (principal.has_any(*REGISTRARS) or principal.subject == request.requester_account):
        raise ApiError(
            403,
            "forbidden",
            "the office, an archivist or the requester completes a request",
            "只有办公室、档案管理员或申请人本人可以办结调阅",
        )
    kept = {d.kind for d in await AccessRepository(session).documents([request.id])}
    lacking = [
        k for k in lifecycle.REQUIRED_TO_COMPLETE.get(request.requester_kind, ()) if k not in kept
    ]
    if lacking:
        raise ApiError(
            409,
            "handover_missing",
            "a letter's request is completed only once the signed hand-over is kept",
            "外单位来函须上传经签收的移交单后方可办结",
        )
    await _move(session, request, S.COMPLETED, principal.subject, reason)
    record(
        session,
        AccessEnded(request_id=request.id, how=S.COMPLETED, by=principal.subject, reason=reason),
    )
    return await _view(session, request)


async def attach_document(
    session: AsyncSession,
    principal: Principal,
    store: ObjectStore,
    settings: Settings,
    request_id: UUID,
    *,
    kind: DocumentKind,
    filename: str,
    content_type: str,
    data: bytes,
) -> AccessDocument:
    """Keep a document with a request, write-once, with its SHA-256: what the requester submits
    before the decision; the signed hand-over once the grant is in force."""
    request = await readable(session, principal, request_id)
    if not (principal.has_any(*REGISTRARS) or principal.subject == request.registered_by):
        raise ApiError(
            403,
            "forbidden",
            "the office, an archivist or whoever registered the request keeps its documents",
            "只有办公室、档案管理员或登记人可以上传调阅材料",
        )
    wanted = S.ACTIVE if kind == DocumentKind.HANDOVER else S.SUBMITTED
    if request.status != wanted:
        raise ApiError(
            409,
            "document_not_now",
            f"a {kind} is kept while the request is {wanted}",
            f"“{kind.label}”须在申请“{wanted.label}”时上传（当前为“{request.status.label}”）",
        )
    if content_type not in DOCUMENT_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"a document is one of: {', '.join(sorted(DOCUMENT_TYPES))}",
            "材料须为 PDF、OFD、JPEG、PNG 或 TIFF 文件",
        )
    if not data:
        raise ApiError(422, "empty_document", "the document is empty", "上传的材料为空文件")
    document_id = uuid4()
    key = f"access/{request.id}/{document_id}"
    now = utcnow()
    retain_until = now + timedelta(days=settings.object_store.default_retention_days)
    await store.put(key, data, retain_until=retain_until)
    document = AccessDocument(
        id=document_id,
        request_id=request.id,
        kind=kind,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        object_key=key,
        uploaded_by=principal.subject,
        uploaded_at=now,
    )
    await AccessRepository(session).keep(document)
    await audit.append(
        session,
        actor=principal.subject,
        action="access.document",
        target=_target(request.id),
        detail={"kind": kind.value, "filename": filename, "sha256": document.sha256},
    )
    return document


async def document(
    session: AsyncSession, principal: Principal, document_id: UUID
) -> AccessDocument:
    found = await AccessRepository(session).document(document_id)
    if found is None or not await _may_read(
        session, principal, await _request(session, found.request_id)
    ):
        raise ApiError(404, "document_not_found", "no such document", "未找到该材料")
    return found
