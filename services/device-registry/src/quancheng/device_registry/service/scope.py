"""Who sees and acts on what (A-6a): the office manages every section; a section's head and its
device custodian see and act within their section; officers see what is theirs.

A token's ``section_head`` or ``custodian`` role and its ``section`` are only a claim: the person
acts for the section only if the registry names them its head (``head_officer_id``) or its
device custodian (``custodian_officer_id``). A claim the registry does not back is refused (403)
with the reason, not quietly narrowed. Office staff and supervisors are not section-bound."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.auth import Principal, Role
from quancheng.common.errors import ApiError
from quancheng.device_registry.models import Section
from quancheng.device_registry.repository import SectionRepository

# Roles that see every section (office staff act; supervisors only see).
ALL_SECTIONS = frozenset({Role.OFFICE, Role.SUPERVISOR})
# Roles that see and act on their own section, once the registry names the person to it.
OWN_SECTION = frozenset({Role.SECTION_HEAD, Role.CUSTODIAN})
# Roles that may act on devices: the office anywhere, head and custodian in their section.
KEEPERS = (Role.OFFICE, Role.SECTION_HEAD, Role.CUSTODIAN)


def sees_all(principal: Principal) -> bool:
    return principal.has_any(*ALL_SECTIONS)


def _named(principal: Principal, section: Section) -> bool:
    return (
        principal.has_any(Role.SECTION_HEAD) and section.head_officer_id == principal.subject
    ) or (principal.has_any(Role.CUSTODIAN) and section.custodian_officer_id == principal.subject)


async def own_section(session: AsyncSession, principal: Principal) -> str | None:
    """The section a head or custodian looks after; None for everyone else (no section-bound
    role, or no section in the token). Raises 403 if the registry does not name the token's
    subject as that section's head or custodian."""
    if not (principal.has_any(*OWN_SECTION) and principal.section):
        return None
    section = await SectionRepository(session).get(principal.section)
    if section is None or not _named(principal, section):
        raise not_named(principal, principal.section)
    return section.code


def not_named(principal: Principal, code: str) -> ApiError:
    """The refusal of a head's or custodian's token the registry does not back."""
    posts = [
        post
        for role, post in (
            (Role.SECTION_HEAD, ("head", "负责人")),
            (Role.CUSTODIAN, ("device custodian", "设备专管员")),
        )
        if principal.has_any(role)
    ]
    post = " or ".join(en for en, _ in posts)
    post_zh = "或".join(zh for _, zh in posts)
    return ApiError(
        403,
        "section_role_not_named",
        f"the registry does not name {principal.subject} as {post} of section {code}; "
        "a token's role alone does not make anyone act for a section",
        f"设备登记中 {principal.subject} 不是科室 {code} 的{post_zh}，"
        f"仅凭令牌中的角色不能代表该科室操作",
        extra={"section": code, "subject": principal.subject},
    )


async def may_keep(session: AsyncSession, principal: Principal, section: str) -> bool:
    """Whether the caller may act on the devices and credentials of ``section``."""
    return principal.has_any(Role.OFFICE) or await own_section(session, principal) == section


def keepers_only() -> ApiError:
    return ApiError(
        403,
        "forbidden",
        "only office staff, or the head or device custodian of the section, may do this",
        "只有办公室、或所属科室的负责人或设备专管员可以执行此操作",
    )
