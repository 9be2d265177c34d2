"""Who sees and acts on what (A-6a): the office manages every section; a section's head and its
device custodian see and act within their section; officers see what is theirs."""

from __future__ import annotations

from quancheng.common.auth import Principal, Role
from quancheng.common.errors import ApiError

# Roles that see every section (office staff act; supervisors only see).
ALL_SECTIONS = frozenset({Role.OFFICE, Role.SUPERVISOR})
# Roles that see and act on their own section.
OWN_SECTION = frozenset({Role.SECTION_HEAD, Role.CUSTODIAN})
# Roles that may act on devices: the office anywhere, head and custodian in their section.
KEEPERS = (Role.OFFICE, Role.SECTION_HEAD, Role.CUSTODIAN)


def sees_all(principal: Principal) -> bool:
    return principal.has_any(*ALL_SECTIONS)


def own_section(principal: Principal) -> str | None:
    """The section a head or custodian looks after; None for everyone else."""
    return principal.section if principal.has_any(*OWN_SECTION) and principal.section else None


def may_keep(principal: Principal, section: str) -> bool:
    """Whether the caller may act on the devices and credentials of ``section``."""
    return principal.has_any(Role.OFFICE) or own_section(principal) == section


def keepers_only() -> ApiError:
    return ApiError(
        403,
        "forbidden",
        "only office staff, or the head or device custodian of the section, may do this",
        "只有办公室、或所属科室的负责人或设备专管员可以执行此操作",
    )
