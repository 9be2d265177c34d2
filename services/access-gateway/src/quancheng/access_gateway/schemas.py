from __future__ import annotations

from pydantic import BaseModel

from quancheng.common.auth import Clearance, Principal, Role


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
