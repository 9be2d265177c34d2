from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from quancheng.common.auth import Clearance, Role
from quancheng.common.db import enum_column, utc_column
from quancheng.common.labels import LabelledEnum


class Account(SQLModel, table=True):
    """A person's local account with the built-in issuer: signing in with its password yields
    the same RS256 token the API accepts from any trusted issuer."""

    __tablename__ = "accounts"

    # The token's subject: for an officer, the officer's id in the registry.
    username: str = Field(primary_key=True, max_length=128)
    display_name: str = Field(max_length=64)
    roles: list[Role] = Field(sa_column=Column(JSON, nullable=False))
    section: str | None = Field(default=None, max_length=32)
    clearance: Clearance = Field(sa_column=enum_column(Clearance))
    password_hash: str = Field(max_length=256)  # argon2id, PHC string
    # Set when the office gave the password: the holder is asked to choose their own.
    must_change_password: bool = True
    disabled: bool = False
    failed_attempts: int = 0  # since the last successful sign-in
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    password_changed_at: datetime = Field(sa_column=utc_column())
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=utc_column())
    updated_by: str = Field(max_length=128)
    updated_at: datetime = Field(sa_column=utc_column())

    def role_list(self) -> list[Role]:
        """The roles as enum members (the JSON column gives back their values)."""
        return [Role(role) for role in self.roles]


class RequesterKind(LabelledEnum):
    """Who asks to see records (C-5..C-8): what they must submit and who must approve follow."""

    OWN_SECTION = "own_section", "承办科室"
    OTHER_SECTION = "other_section", "其他科室"
    COUNTERPARTY = "counterparty", "相对人"
    VISITOR = "visitor", "外单位来人"
    LETTER = "letter", "外单位来函"


# Requesters from outside the bureau: the office or an archivist registers them.
OUTSIDE_KINDS = (RequesterKind.COUNTERPARTY, RequesterKind.VISITOR, RequesterKind.LETTER)


class AccessKind(LabelledEnum):
    VIEW = "view", "查看"
    COPY = "copy", "复制"


class AccessStatus(LabelledEnum):
    """Where a request is; the allowed moves are in
    :data:`quancheng.access_gateway.lifecycle.TRANSITIONS`."""

    SUBMITTED = "submitted", "待审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已驳回"
    ACTIVE = "active", "调阅中"
    COMPLETED = "completed", "已完成"
    EXPIRED = "expired", "已过期"
    REVOKED = "revoked", "已撤销"


class DocumentKind(LabelledEnum):
    BUSINESS_LICENCE = "business_licence", "营业执照"
    IDENTITY_DOCUMENT = "identity_document", "身份证件"
    POWER_OF_ATTORNEY = "power_of_attorney", "授权委托书"
    INTRODUCTION_LETTER = "introduction_letter", "介绍信"
    WORK_ID = "work_id", "工作证"
    INCOMING_LETTER = "incoming_letter", "来函"
    HANDOVER = "handover", "签收单"


class Decision(LabelledEnum):
    APPROVED = "approved", "同意"
    REJECTED = "rejected", "不同意"


class AccessRequest(SQLModel, table=True):
    """One request to see or copy records (调阅申请), and the grant it becomes."""

    __tablename__ = "access_requests"

    id: UUID = Field(primary_key=True)
    requester_kind: RequesterKind = Field(sa_column=enum_column(RequesterKind, index=True))
    # The account of a requester inside the bureau; None for one from outside.
    requester_account: str | None = Field(default=None, max_length=128, index=True)
    requester_name: str = Field(max_length=128)  # an account, or an outside requester's name
    requester_unit: str | None = Field(default=None, max_length=200)  # unit, or section code
    requester_id_number: str | None = Field(default=None, max_length=64)  # 证件号码
    requester_contact: str | None = Field(default=None, max_length=64)
    clearance: Clearance = Field(sa_column=enum_column(Clearance))
    registered_by: str = Field(max_length=128)
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    legal_basis: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    access: AccessKind = Field(sa_column=enum_column(AccessKind))
    days: int  # how long the grant is to last, from its start
    # What it named (record ids, an activity, a case number, an enterprise), as it named it.
    scope: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # The records' handling sections; those whose head must approve have an AccessApproval.
    sections: list[str] = Field(sa_column=Column(JSON, nullable=False))
    status: AccessStatus = Field(sa_column=enum_column(AccessStatus, index=True))
    valid_from: datetime = Field(sa_column=utc_column(index=True))
    valid_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    submitted_at: datetime = Field(sa_column=utc_column(index=True))
    updated_at: datetime = Field(sa_column=utc_column())


class AccessItem(SQLModel, table=True):
    """A record a request names, as the catalog described it when the request was made: the
    grant reaches it only if ``granted``."""

    __tablename__ = "access_items"

    request_id: UUID = Field(primary_key=True, foreign_key="access_requests.id")
    record_id: UUID = Field(primary_key=True, index=True)
    position: int  # the catalog's order: capture time
    filename: str = Field(max_length=512)
    kind: str = Field(max_length=16)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    object_key: str = Field(max_length=512)
    handling_section: str | None = Field(default=None, max_length=32)
    secrecy: Clearance = Field(sa_column=enum_column(Clearance))
    privacy_flags: list[str] = Field(sa_column=Column(JSON, nullable=False))
    case_number: str | None = Field(default=None, max_length=64)
    captured_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    granted: bool = False


class AccessDocument(SQLModel, table=True):
    """A document kept with a request (licence, ID, letter, the signed hand-over …): stored
    write-once like an original, with its SHA-256."""

    __tablename__ = "access_documents"

    id: UUID = Field(primary_key=True)
    request_id: UUID = Field(foreign_key="access_requests.id", index=True)
    kind: DocumentKind = Field(sa_column=enum_column(DocumentKind))
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=128)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    object_key: str = Field(max_length=512)
    uploaded_by: str = Field(max_length=128)
    uploaded_at: datetime = Field(sa_column=utc_column())


class AccessApproval(SQLModel, table=True):
    """The approval a request needs from one handling section's head (C-6b): made with the
    request, pending until the head decides."""

    __tablename__ = "access_approvals"

    request_id: UUID = Field(primary_key=True, foreign_key="access_requests.id")
    section: str = Field(primary_key=True, max_length=32, index=True)
    decision: Decision | None = Field(default=None, sa_column=enum_column(Decision, nullable=True))
    opinion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # 审批意见
    include_flagged: bool = False  # the approval reaches records with privacy flags too
    decided_by: str | None = Field(default=None, max_length=128)
    decided_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class AccessTransition(SQLModel, table=True):
    """A request's history: every move, who made it, when and why."""

    __tablename__ = "access_transitions"

    id: int | None = Field(default=None, primary_key=True)
    request_id: UUID = Field(foreign_key="access_requests.id", index=True)
    from_status: AccessStatus | None = Field(
        default=None, sa_column=enum_column(AccessStatus, nullable=True)
    )
    to_status: AccessStatus = Field(sa_column=enum_column(AccessStatus))
    by: str = Field(max_length=128)
    at: datetime = Field(sa_column=utc_column())
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SectionHead(SQLModel, table=True):
    """The gateway's view of a registry section, kept from ``section.changed``: the head it
    names approves requests for the section's records (C-6b)."""

    __tablename__ = "section_heads"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64)
    head_officer_id: str | None = Field(default=None, max_length=128)
    updated_at: datetime = Field(sa_column=utc_column())  # when the registry told it


class Verification(LabelledEnum):
    """What re-hashing a session's records from storage found when it closed (C-9)."""

    UNCHANGED = "unchanged", "核验无误"
    ALTERED = "altered", "核验不符"


class ViewingSession(SQLModel, table=True):
    """An accompanied viewing (C-9): an archivist opens it for a grant's viewer on the bureau's
    terminal and closes it; what was played is in its tickets' ranges."""

    __tablename__ = "viewing_sessions"

    id: UUID = Field(primary_key=True)
    request_id: UUID = Field(foreign_key="access_requests.id", index=True)
    viewer: str = Field(max_length=128)  # who views
    accompanied_by: str = Field(max_length=128)  # the archivist
    opened_at: datetime = Field(sa_column=utc_column(index=True))
    closed_by: str | None = Field(default=None, max_length=128)
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    verification: Verification | None = Field(
        default=None, sa_column=enum_column(Verification, nullable=True)
    )
    # Per record viewed: the SHA-256 recorded at ingest and the one read back at the close.
    verified: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class PlaybackTicket(SQLModel, table=True):
    """Leave to play one record of one grant, for one person, for a short while: what a
    ``<video>`` element presents instead of a bearer token. Only hashes are kept: of the ticket
    in the URL, and of the cookie that binds it to the browser it was issued to."""

    __tablename__ = "playback_tickets"

    ticket_hash: str = Field(primary_key=True, max_length=64)
    cookie_hash: str = Field(max_length=64)
    request_id: UUID = Field(foreign_key="access_requests.id", index=True)
    record_id: UUID
    session_id: UUID | None = Field(default=None, foreign_key="viewing_sessions.id", index=True)
    viewer: str = Field(max_length=128)
    issued_by: str = Field(max_length=128)
    issued_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    last_used_at: datetime = Field(sa_column=utc_column())
    ended_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class PlaybackRange(SQLModel, table=True):
    """A part of a record served under a ticket: which bytes, when (C-9)."""

    __tablename__ = "playback_ranges"

    id: int | None = Field(default=None, primary_key=True)
    ticket_hash: str = Field(foreign_key="playback_tickets.ticket_hash", index=True)
    record_id: UUID
    first_byte: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_byte: int = Field(sa_column=Column(BigInteger, nullable=False))
    served_at: datetime = Field(sa_column=utc_column())
