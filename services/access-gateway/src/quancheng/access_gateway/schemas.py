from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, computed_field

from quancheng.access_gateway.models import (
    AccessKind,
    AccessStatus,
    Decision,
    DocumentKind,
    RequesterKind,
    Verification,
)
from quancheng.common.auth import Clearance, Principal, Role
from quancheng.common.limits import Page
from quancheng.common.times import Instant


class RoleRead(BaseModel):
    role: Role
    label: str


class ClearanceRead(BaseModel):
    level: Clearance
    label: str


class Me(BaseModel):
    """The caller, as the token says."""

    subject: str
    issuer: str
    roles: list[RoleRead]
    section: str | None
    clearance: ClearanceRead

    @classmethod
    def of(cls, principal: Principal) -> Me:
        return cls(
            subject=principal.subject,
            issuer=principal.issuer,
            roles=[RoleRead(role=role, label=role.label) for role in sorted(principal.roles)],
            section=principal.section,
            clearance=ClearanceRead(level=principal.clearance, label=principal.clearance.label),
        )


class AccountRead(BaseModel):
    """An account as the office sees it; never its password or hash."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    roles: list[Role]
    section: str | None
    clearance: Clearance
    must_change_password: bool
    disabled: bool
    locked_until: Instant | None = Field(description="set and in the future: locked")
    password_changed_at: Instant
    updated_by: str
    updated_at: Instant

    @computed_field
    def role_labels(self) -> list[str]:
        return [role.label for role in self.roles]

    @computed_field
    def clearance_label(self) -> str:
        return self.clearance.label


class AccountPage(Page[AccountRead]):
    pass


class SignedIn(BaseModel):
    """The answer of a sign-in: a bearer token of the built-in issuer (RFC 6749 field names)."""

    model_config = ConfigDict(from_attributes=True)

    access_token: str = Field(validation_alias="token")
    token_type: str = "Bearer"  # noqa: S105 - RFC 6749 token type
    expires_in: int
    must_change_password: bool


class AccessItemRead(BaseModel):
    """A record a request names, with what the approver must see before deciding."""

    model_config = ConfigDict(from_attributes=True)

    record_id: UUID
    filename: str
    kind: str
    size: int
    sha256: str
    handling_section: str | None
    secrecy: Clearance
    privacy_flags: list[str]
    case_number: str | None
    captured_at: Instant | None
    granted: bool

    @computed_field
    def secrecy_label(self) -> str:
        return self.secrecy.label

    @computed_field
    def flagged(self) -> bool:
        return bool(self.privacy_flags)


class AccessDocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    kind: DocumentKind
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: Instant

    @computed_field
    def kind_label(self) -> str:
        return self.kind.label


class AccessApprovalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    section: str
    decision: Decision | None = Field(description="None: awaiting the section head")
    opinion: str | None
    include_flagged: bool
    decided_by: str | None
    decided_at: Instant | None

    @computed_field
    def decision_label(self) -> str:
        return "待审批" if self.decision is None else self.decision.label


class AccessTransitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: AccessStatus | None
    to_status: AccessStatus
    by: str
    at: Instant
    note: str | None

    @computed_field
    def to_status_label(self) -> str:
        return self.to_status.label


class MissingDocumentsRead(BaseModel):
    """One document still to be submitted: any one of ``kinds``."""

    model_config = ConfigDict(from_attributes=True)

    kinds: list[DocumentKind]

    @computed_field
    def label(self) -> str:
        return "或".join(kind.label for kind in self.kinds)


class AccessRequestRead(BaseModel):
    """A request (调阅申请) and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    requester_kind: RequesterKind
    requester_account: str | None
    requester_name: str
    requester_unit: str | None
    requester_id_number: str | None
    requester_contact: str | None
    clearance: Clearance
    registered_by: str
    purpose: str
    legal_basis: str | None
    access: AccessKind
    days: int
    scope: dict[str, Any] = Field(description="what it named, as it named it")
    sections: list[str] = Field(description="the records' handling sections")
    status: AccessStatus
    valid_from: Instant
    valid_until: Instant | None
    submitted_at: Instant
    updated_at: Instant
    record_count: int
    granted_count: int
    approvals: list[AccessApprovalRead]
    documents: list[AccessDocumentRead]
    missing_documents: list[MissingDocumentsRead]

    @computed_field
    def requester_kind_label(self) -> str:
        return self.requester_kind.label

    @computed_field
    def access_label(self) -> str:
        return self.access.label

    @computed_field
    def status_label(self) -> str:
        return self.status.label

    @computed_field
    def clearance_label(self) -> str:
        return self.clearance.label


class AccessRequestDetail(AccessRequestRead):
    """A request with its records and its history."""

    items: list[AccessItemRead]
    transitions: list[AccessTransitionRead]


class AccessRequestPage(Page[AccessRequestRead]):
    """A page of requests."""


class VerifiedRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    record_id: UUID
    filename: str
    expected_sha256: str = Field(description="as recorded at ingest")
    actual_sha256: str | None = Field(description="as read back at the close; None: unreadable")
    unchanged: bool


class ViewedRecord(BaseModel):
    """A record played in a session, and which parts of it."""

    model_config = ConfigDict(from_attributes=True)

    record_id: UUID
    filename: str
    kind: str
    size: int
    tickets: int
    played: list[tuple[int, int]] = Field(description="byte ranges served, merged, inclusive")

    @computed_field
    def played_bytes(self) -> int:
        return sum(last - first + 1 for first, last in self.played)


class ViewingSessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    request_id: UUID
    viewer: str
    accompanied_by: str
    opened_at: Instant
    closed_by: str | None
    closed_at: Instant | None
    verification: Verification | None = Field(description="None: still open")
    verified: list[VerifiedRecord]
    records: list[ViewedRecord]

    @computed_field
    def verification_label(self) -> str:
        if self.verification is None:
            return "进行中"
        if self.verification == Verification.UNCHANGED:
            return f"核验无误：{len(self.verified)} 条记录与入库时的 SHA-256 一致"
        altered = sum(1 for v in self.verified if not v.unchanged)
        return f"核验不符：{altered} 条记录与入库时的 SHA-256 不一致，已报警"


class ViewingSessionList(BaseModel):
    items: list[ViewingSessionRead]


class PlaybackTicketRead(BaseModel):
    """Where a ``<video>``, ``<audio>`` or ``<img>`` element plays the record: the URL works
    only in the browser that asked for it (a cookie binds it), until ``expires_at``."""

    url: str
    expires_at: Instant
    request_id: UUID
    record_id: UUID
    session_id: UUID | None
    viewer: str
    filename: str
    kind: str
    content_type: str
