"""Who is calling: the principal a verified token describes, its roles and its clearance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quancheng.common.labels import LabelledEnum


class Role(LabelledEnum):
    OFFICER = "officer", "执法人员"
    SECTION_HEAD = "section_head", "科室负责人"
    CUSTODIAN = "custodian", "设备专管员"
    OFFICE = "office", "办公室"
    ARCHIVIST = "archivist", "档案管理员"
    SUPERVISOR = "supervisor", "执法监督"
    EXTERNAL = "external", "外部调阅人"
    INTEGRATION = "integration", "系统对接"
    DEVICE = "device", "采集设备"


class Clearance(LabelledEnum):
    """Secrecy levels, lowest first (B-11, D-19, E-12)."""

    PUBLIC = "public", "公开"
    INTERNAL = "internal", "内部"
    SECRET = "secret", "秘密"
    CONFIDENTIAL = "confidential", "机密"
    TOP_SECRET = "top_secret", "绝密"

    @property
    def rank(self) -> int:
        return list(Clearance).index(self)

    def allows(self, level: Clearance) -> bool:
        return self.rank >= level.rank


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
