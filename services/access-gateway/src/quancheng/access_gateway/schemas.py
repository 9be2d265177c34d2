from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field

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
