"""The registry's staff as the catalog knows them from the ``staff`` stream (A-6a): an activity
names only active officers of its own section, and a ``section_head`` (or ``custodian``) token
acts for a section only if the registry names its subject so. The registry is the source: an
officer must be registered there before an activity names them (its events reach the catalog
within about a second in embedded mode)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.repository import StaffRepository
from quancheng.common.auth import Principal, Role
from quancheng.common.errors import ApiError

_POSTS = {Role.SECTION_HEAD: ("head", "负责人"), Role.CUSTODIAN: ("device custodian", "设备专管员")}


async def check_officers(
    session: AsyncSession,
    section: str,
    officers: Sequence[str],
    *,
    already: Collection[str] = (),
) -> None:
    """Refuse (422) an activity of ``section`` naming an officer the registry does not have, one
    off duty, or one of another section; every such officer is named. Officers in ``already``
    (those the activity named before, in the same section) are not checked again: an officer
    who has left since still took part."""
    wanted = [o for o in officers if o not in already]
    if not wanted:
        return
    known = await StaffRepository(session).officers(wanted)
    problems: list[dict[str, str]] = []
    for index, officer_id in enumerate(officers):
        if officer_id not in wanted:
            continue
        officer = known.get(officer_id)
        if officer is None:
            reason = "unknown"
            problem = (
                f"{officer_id} is not an officer of the device registry: register them there "
                "first (if you just did, send this again in a moment)"
            )
            problem_zh = f"人员 {officer_id} 未在设备登记中登记，请先登记（刚登记的请稍后重试）"
        elif not officer.active:
            reason = "inactive"
            problem = f"{officer.name} ({officer_id}) is not on duty"
            problem_zh = f"{officer.name}（{officer_id}）不在岗"
        elif officer.section != section:
            reason = "other_section"
            problem = (
                f"{officer.name} ({officer_id}) belongs to section {officer.section}, "
                f"the activity to {section}"
            )
            problem_zh = (
                f"{officer.name}（{officer_id}）属于科室 {officer.section}，"
                f"不属于执法活动所属科室 {section}"
            )
        else:
            continue
        problems.append(
            {
                "field": f"body.officers.{index}",
                "officer_id": officer_id,
                "reason": reason,
                "problem": problem,
                "problem_zh": problem_zh,
            }
        )
    if problems:
        raise ApiError(
            422,
            "invalid_officers",
            "the activity names officers it may not: " + "; ".join(p["problem"] for p in problems),
            "执法活动所列执法人员有误：" + "；".join(p["problem_zh"] for p in problems),
            extra={"problems": problems},
        )


async def acts_for_section(
    session: AsyncSession, principal: Principal, section: str | None, *roles: Role
) -> bool:
    """Whether the caller acts for ``section`` in one of ``roles`` (``section_head``,
    ``custodian``): their token claims the role for that section and the registry names its
    subject the section's head or custodian. A claim for the section that the registry does
    not back is refused (403) with the reason; a token claiming nothing for it gets False."""
    claimed = [role for role in roles if principal.has_any(role)]
    if not claimed or section is None or principal.section != section:
        return False
    known = await StaffRepository(session).section(section)
    if known is not None and (
        (Role.SECTION_HEAD in claimed and known.head_officer_id == principal.subject)
        or (Role.CUSTODIAN in claimed and known.custodian_officer_id == principal.subject)
    ):
        return True
    posts = [_POSTS[role] for role in claimed]
    post = " or ".join(en for en, _ in posts)
    post_zh = "或".join(zh for _, zh in posts)
    raise ApiError(
        403,
        "section_role_not_named",
        f"the registry does not name {principal.subject} as {post} of section {section}; "
        "a token's role alone does not make anyone act for a section",
        f"设备登记中 {principal.subject} 不是科室 {section} 的{post_zh}，"
        "仅凭令牌中的角色不能代表该科室操作",
        extra={"section": section, "subject": principal.subject},
    )
