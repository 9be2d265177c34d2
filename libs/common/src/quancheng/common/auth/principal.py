"""Who is calling: the principal a verified token describes, its roles and its clearance."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    OFFICER = "officer"
    SECTION_HEAD = "section_head"
    CUSTODIAN = "custodian"
    OFFICE = "office"
    ARCHIVIST = "archivist"
    SUPERVISOR = "supervisor"
    EXTERNAL = "external"
    INTEGRATION = "integration"
    DEVICE = "device"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.OFFICER: "执法人员",
    Role.SECTION_HEAD: "科室负责人",
    Role.CUSTODIAN: "设备专管员",
    Role.OFFICE: "办公室",
    Role.ARCHIVIST: "档案管理员",
    Role.SUPERVISOR: "执法监督",
    Role.EXTERNAL: "外部调阅人",
    Role.INTEGRATION: "系统对接",
    Role.DEVICE: "采集设备",
}


class Clearance(StrEnum):
    """Secrecy levels, lowest first (B-11, D-19, E-12)."""

    PUBLIC = "public"
    INTERNAL = "internal"
    SECRET = "secret"  # noqa: S105 - a secrecy level, not a password
    CONFIDENTIAL = "confidential"
    TOP_SECRET = "top_secret"  # noqa: S105 - a secrecy level, not a password

    @property
    def rank(self) -> int:
        return list(Clearance).index(self)

    @property
    def label(self) -> str:
        return CLEARANCE_LABELS[self]

    def allows(self, level: Clearance) -> bool:
        return self.rank >= level.rank


CLEARANCE_LABELS: dict[Clearance, str] = {
    Clearance.PUBLIC: "公开",
    Clearance.INTERNAL: "内部",
    Clearance.SECRET: "秘密",
    Clearance.CONFIDENTIAL: "机密",
    Clearance.TOP_SECRET: "绝密",
}


@dataclass(frozen=True)
class Principal:
    subject: str
    issuer: str
    roles: frozenset[Role]
    section: str | None = None
    clearance: Clearance = Clearance.PUBLIC
    # Set in the upload tokens of devices and docking stations (OAuth 2.0 client credentials;
    # ``client_id`` as in RFC 9068): the client, and the device or station it stands for.
    client_id: str | None = None
    device_id: str | None = None
    station_id: str | None = None

    def has_any(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """Unknown roles are ignored and a missing clearance is the lowest: deny by default."""
        raw_roles = claims.get("roles")
        if isinstance(raw_roles, str):
            raw_roles = [raw_roles]
        if not isinstance(raw_roles, list | tuple):
            raw_roles = []
        known = {r.value for r in Role}
        roles = frozenset(Role(r) for r in raw_roles if isinstance(r, str) and r in known)
        clearance_claim = claims.get("clearance")
        clearance = (
            Clearance(clearance_claim)
            if isinstance(clearance_claim, str) and clearance_claim in {c.value for c in Clearance}
            else Clearance.PUBLIC
        )
        return cls(
            subject=str(claims["sub"]),
            issuer=str(claims["iss"]),
            roles=roles,
            section=_text(claims, "section"),
            clearance=clearance,
            client_id=_text(claims, "client_id"),
            device_id=_text(claims, "device_id"),
            station_id=_text(claims, "station_id"),
        )


def _text(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None
