"""Statistics (E-13, E-14, B-1) and the enterprise ranking for differentiated inspection (E-15):
figures per section, officer, activity kind or type, enterprise, region, industry or month, over
the activities that started in a period and that the caller may see."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.models import Activity, ActivityType, Enterprise, Record
from quancheng.catalog.repository import (
    ActivityFilter,
    ActivityRepository,
    EnterpriseRepository,
    StaffRepository,
)
from quancheng.catalog.service import compliance
from quancheng.catalog.service.checks import SEGMENT_KINDS
from quancheng.catalog.service.records import visibility
from quancheng.common.auth import Principal

GROUP_LABELS = {
    "section": "科室",
    "officer": "执法人员",
    "kind": "执法类别",
    "type": "执法活动类型",
    "enterprise": "企业",
    "region": "属地",
    "industry": "行业",
    "month": "月份",
}
# Inspections that count towards an enterprise's "last inspected" date.
_INSPECTING = {ActivityType.DAILY_INSPECTION, ActivityType.COMPLAINT, ActivityType.ON_SITE}


@dataclass(frozen=True)
class Figures:
    """One group's figures for the period (E-13, E-14, B-1)."""

    key: str
    label: str
    activities: int
    activity_hours: float  # time spent on ended activities
    records: int
    recorded_hours: float  # audio and video captured
    bytes: int
    compliant_activities: int
    compliance_rate: float | None
    hidden_dangers_found: int
    violations_found: int


@dataclass(frozen=True)
class Breakdown:
    group_by: str
    group_label: str
    rows: list[Figures]
    total: Figures


@dataclass(frozen=True)
class Ranked:
    """An enterprise's place in the differentiated-inspection order (E-15)."""

    rank: int
    enterprise_id: UUID
    name: str
    region: str | None
    industry: str | None
    inspections: int
    violations_found: int
    hidden_dangers_found: int
    major_hazard_sources: int
    last_inspected_at: datetime | None
    priority: str  # 重点 / 一般


async def statistics(
    session: AsyncSession,
    principal: Principal,
    wanted: ActivityFilter,
    group_by: str,
    *,
    slack: timedelta,
    zone: ZoneInfo,
) -> Breakdown:
    seen = visibility(principal)
    found = await ActivityRepository(session).matching(visibility=seen, wanted=wanted)
    checked = await compliance.check(session, seen, found, slack=slack)
    # Only the records the caller may see are counted; the compliance rate is on all of them.
    records = {str(c.activity.id): c.records for c in checked}
    clean = {c.activity.id for c in checked if c.compliant}
    enterprises = {
        e.id: e
        for e in await EnterpriseRepository(session).many(
            {a.enterprise_id for a in found if a.enterprise_id is not None}
        )
    }
    keys = _keys(group_by, enterprises, await _staff_names(session, group_by, found), zone)
    groups: dict[tuple[str, str], list[Activity]] = defaultdict(list)
    for activity in found:
        for key in keys(activity):
            groups[key].append(activity)
    rows = [
        _row(key, label, members, records, clean)
        for (key, label), members in sorted(groups.items())
    ]
    return Breakdown(
        group_by=group_by,
        group_label=GROUP_LABELS[group_by],
        rows=rows,
        total=_row("total", "合计", found, records, clean),
    )


async def _staff_names(
    session: AsyncSession, group_by: str, found: Sequence[Activity]
) -> dict[str, str]:
    """The names the registry gave the sections or officers the rows are labelled with."""
    staff = StaffRepository(session)
    if group_by == "section":
        sections = await staff.sections({a.section for a in found})
        return {code: section.name for code, section in sections.items()}
    if group_by == "officer":
        officers = await staff.officers({o for a in found for o in a.officers})
        return {officer_id: officer.name for officer_id, officer in officers.items()}
    return {}


def _keys(
    group_by: str, enterprises: dict[UUID, Enterprise], names: dict[str, str], zone: ZoneInfo
) -> Callable[[Activity], list[tuple[str, str]]]:
    """A group's key and label; a section or officer the registry never named keeps its code."""

    def enterprise_of(activity: Activity) -> Enterprise | None:
        return None if activity.enterprise_id is None else enterprises.get(activity.enterprise_id)

    def by_enterprise(activity: Activity) -> list[tuple[str, str]]:
        e = enterprise_of(activity)
        return [("", "未关联企业")] if e is None else [(str(e.id), e.name)]

    def by_industry(activity: Activity) -> list[tuple[str, str]]:
        e = enterprise_of(activity)
        industry = None if e is None else e.industry
        return [(industry or "", industry or "未注明")]

    choices: dict[str, Callable[[Activity], list[tuple[str, str]]]] = {
        "section": lambda a: [(a.section, names.get(a.section, a.section))],
        "officer": lambda a: [(o, names.get(o, o)) for o in a.officers],
        "kind": lambda a: [(a.kind.value, a.kind.label)],
        "type": lambda a: [(a.type.value, a.type.label)],
        "enterprise": by_enterprise,
        "region": lambda a: [(a.region or "", a.region or "未注明")],
        "industry": by_industry,
        "month": lambda a: [(m := a.started_at.astimezone(zone).strftime("%Y-%m"), m)],
    }
    return choices[group_by]


def _row(
    key: str,
    label: str,
    members: Sequence[Activity],
    records: dict[str, list[Record]],
    clean: set[UUID],
) -> Figures:
    own = [r for a in members for r in records[str(a.id)]]
    compliant = sum(1 for a in members if a.id in clean)
    return Figures(
        key=key,
        label=label,
        activities=len(members),
        activity_hours=_hours(a.ended_at - a.started_at for a in members if a.ended_at),
        records=len(own),
        recorded_hours=_hours(
            r.captured_until - r.captured_at
            for r in own
            # Originals only: a clip repeats part of its source.
            if r.kind in SEGMENT_KINDS
            and r.source_record_id is None
            and r.captured_at
            and r.captured_until
        ),
        bytes=sum(r.size for r in own),
        compliant_activities=compliant,
        compliance_rate=round(compliant / len(members), 4) if members else None,
        hidden_dangers_found=sum(a.hidden_dangers_found for a in members),
        violations_found=sum(a.violations_found for a in members),
    )


def _hours(spans: Iterable[timedelta]) -> float:
    return round(sum(spans, timedelta()).total_seconds() / 3600, 2)


async def ranking(
    session: AsyncSession, principal: Principal, wanted: ActivityFilter
) -> list[Ranked]:
    """Every enterprise, those to inspect first at the top: more violations, then more hidden
    dangers found in the period, then more major hazard sources, then the longest uninspected
    (over all time, not just the period)."""
    repository = ActivityRepository(session)
    seen = visibility(principal)
    by_enterprise: dict[UUID, list[Activity]] = defaultdict(list)
    for activity in await repository.matching(visibility=seen, wanted=wanted):
        if activity.enterprise_id is not None:
            by_enterprise[activity.enterprise_id].append(activity)
    last_inspected = await repository.last_started(visibility=seen, types=_INSPECTING)
    entries = []
    for enterprise in await EnterpriseRepository(session).all():
        own = by_enterprise.get(enterprise.id, [])
        entries.append(
            (
                enterprise,
                sum(1 for a in own if a.type in _INSPECTING),
                sum(a.violations_found for a in own),
                sum(a.hidden_dangers_found for a in own),
                last_inspected.get(enterprise.id),
            )
        )

    def order(entry: tuple[Enterprise, int, int, int, datetime | None]) -> tuple[object, ...]:
        enterprise, _, violations, dangers, last = entry
        never = last is None
        return (
            -violations,
            -dangers,
            -len(enterprise.major_hazard_sources),
            not never,
            last.timestamp() if last else 0.0,
            enterprise.name,
        )

    ranked = []
    for rank, (enterprise, count, violations, dangers, last) in enumerate(
        sorted(entries, key=order), start=1
    ):
        ranked.append(
            Ranked(
                rank=rank,
                enterprise_id=enterprise.id,
                name=enterprise.name,
                region=enterprise.region,
                industry=enterprise.industry,
                inspections=count,
                violations_found=violations,
                hidden_dangers_found=dangers,
                major_hazard_sources=len(enterprise.major_hazard_sources),
                last_inspected_at=last,
                priority="重点" if violations or dangers >= 3 else "一般",
            )
        )
    return ranked
