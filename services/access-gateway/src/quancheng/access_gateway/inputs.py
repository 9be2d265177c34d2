"""What the gateway's API takes: the request bodies, validated at the route."""

from __future__ import annotations

from typing import Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from quancheng.access_gateway.models import AccessKind, Decision, RequesterKind
from quancheng.common.auth import Clearance, Role
from quancheng.common.errors import invalid
from quancheng.common.times import Moment

# Roles a person's account may hold; devices, integrations and external requesters get their
# tokens otherwise.
PERSON_ROLES = frozenset(
    {
        Role.OFFICER,
        Role.SECTION_HEAD,
        Role.CUSTODIAN,
        Role.OFFICE,
        Role.ARCHIVIST,
        Role.SUPERVISOR,
    }
)
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"


def _person_roles(roles: list[Role] | None) -> list[Role] | None:
    if roles is None:
        return None
    if not roles:
        raise ValueError("an account needs at least one role")
    other = sorted(set(roles) - PERSON_ROLES)
    if other:
        raise ValueError(f"a person's account can't hold {', '.join(other)}")
    return sorted(set(roles))


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(pattern=USERNAME, description="the token's subject; an officer's id")
    display_name: str = Field(min_length=1, max_length=64, description="姓名")
    roles: list[Role]
    section: str | None = Field(default=None, max_length=32)
    clearance: Clearance = Clearance.INTERNAL
    password: str = Field(max_length=256, description="first password; changed at first sign-in")

    _roles = field_validator("roles")(_person_roles)


class AccountChange(BaseModel):
    """What the office changes on an account; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    roles: list[Role] | None = None
    section: str | None = Field(default=None, max_length=32)
    clearance: Clearance | None = None
    disabled: bool | None = None
    unlock: bool = Field(default=False, description="lift a lockout after failed sign-ins")
    password: str | None = Field(
        default=None, max_length=256, description="a new password, to be changed at sign-in"
    )

    _roles = field_validator("roles")(_person_roles)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(max_length=256)


class OutsideRequester(BaseModel):
    """A requester from outside the bureau, registered on their behalf (C-5, C-7, C-8): they
    need no account."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal[RequesterKind.COUNTERPARTY, RequesterKind.VISITOR, RequesterKind.LETTER]
    name: str = Field(min_length=1, max_length=64, description="姓名（来函：经办人）")
    unit: str | None = Field(
        default=None, max_length=200, description="单位：企业、律师事务所、来函单位"
    )
    id_number: str | None = Field(default=None, max_length=64, description="证件号码")
    contact: str | None = Field(default=None, max_length=64, description="联系方式")
    clearance: Clearance = Field(
        default=Clearance.PUBLIC, description="what the requester may see; at most the registrant's"
    )

    @model_validator(mode="after")
    def _unit_named(self) -> Self:
        if self.kind != RequesterKind.COUNTERPARTY and not self.unit:
            raise invalid(
                "a visitor or a letter comes from a unit: name it",
                "外单位来人或来函须填写来函（派出）单位",
            )
        return self


class AccessRequestCreate(BaseModel):
    """A request to see or copy records (调阅申请). Without ``requester`` the caller asks for
    themselves; the approver follows from the records, never from the request."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    requester: OutsideRequester | None = None
    record_ids: list[UUID] = Field(default_factory=list, max_length=500)
    activity_id: UUID | None = None
    case_number: str | None = Field(default=None, min_length=1, max_length=64)
    enterprise_id: UUID | None = None
    purpose: str = Field(min_length=1, max_length=2000, description="调阅事由")
    legal_basis: str | None = Field(default=None, max_length=2000, description="依据")
    access: AccessKind = AccessKind.VIEW
    days: int = Field(ge=1, description="how long the grant lasts from its start; bounded")
    valid_from: Moment | None = Field(default=None, description="start later than the approval")

    @model_validator(mode="after")
    def _names_something(self) -> Self:
        if not (self.record_ids or self.activity_id or self.case_number or self.enterprise_id):
            raise invalid(
                "name the records: record_ids, an activity_id, a case_number or an enterprise_id",
                "请指明调阅的记录：记录编号、执法活动、案号或企业",
            )
        return self


class AccessDecisionCreate(BaseModel):
    """A handling section's head's decision (C-6b)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Decision
    opinion: str = Field(min_length=1, max_length=2000, description="审批意见")
    include_flagged: bool = Field(
        default=False,
        description="the grant reaches records with privacy or commercial-secret flags too",
    )


class AccessEnd(BaseModel):
    """Why a request is revoked (required) or completed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, min_length=1, max_length=2000)


class ViewingSessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    request_id: UUID
    viewer: str | None = Field(
        default=None, min_length=1, max_length=64, description="who views; default the requester"
    )


class PlaybackTicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: UUID
    record_id: UUID
    session_id: UUID | None = Field(
        default=None, description="the viewing session; none only for the section's own grant"
    )
