"""What the gateway's API takes: the request bodies, validated at the route."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from quancheng.common.auth import Clearance, Role

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
