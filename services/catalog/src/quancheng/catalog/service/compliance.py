"""Compliance reports (A-5, A-9, A-10, A-11, D-10, B-12): the checks of every activity the caller
may see, with the recordings tied to none, counted per section and per officer."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.models import Activity, Duty, Exemption, Interruption, Record
from quancheng.catalog.repository import (
    ActivityFilter,
    ActivityRepository,
    ExplanationRepository,
    RecordFilter,
    RecordRepository,
)
from quancheng.catalog.schemas import ComplianceGroup, ComplianceReport, FindingRead
from quancheng.catalog.service import activities, duties
from quancheng.catalog.service.checks import Finding, check_activity, check_unassigned
from quancheng.catalog.service.records import visibility
from quancheng.common.auth import Principal


@dataclass(frozen=True)
class Checked:
    """An activity, what it was checked against, and what was found."""

    activity: Activity
    duty: Duty
    findings: list[Finding]
    records: list[Record]
    interruptions: list[Interruption]
    exemptions: list[Exemption]


async def check(
    session: AsyncSession, activity_list: Sequence[Activity], *, slack: timedelta
) -> list[Checked]:
    """Run the checks over ``activity_list`` with four queries, whatever its length."""
    ids = [a.id for a in activity_list]
    records: dict[str, list[Record]] = defaultdict(list)
    for record in await RecordRepository(session).of_activities(ids):
        records[record.activity_id or ""].append(record)
    explanations = ExplanationRepository(session)
    interruptions: dict[UUID, list[Interruption]] = defaultdict(list)
    for row in await explanations.interruptions_of(ids):
        interruptions[row.activity_id].append(row)
    exemptions: dict[UUID, list[Exemption]] = defaultdict(list)
    for ex in await explanations.exemptions_of(ids):
        exemptions[ex.activity_id].append(ex)
    duty_of = await duties.effective(session)
    checked = []
    for activity in activity_list:
        duty = duty_of[activity.type].duty
        own = (records[str(activity.id)], interruptions[activity.id], exemptions[activity.id])
        findings = check_activity(activity, duty, *own, slack=slack)
        checked.append(Checked(activity, duty, findings, *own))
    return checked


async def of_activity(
    session: AsyncSession, principal: Principal, activity_id: UUID, *, slack: timedelta
) -> Checked:
    activity = await activities.get(session, principal, activity_id)
    (checked,) = await check(session, [activity], slack=slack)
    return checked


async def report(
    session: AsyncSession,
    principal: Principal,
    wanted: ActivityFilter,
    *,
    slack: timedelta,
) -> ComplianceReport:
    """Activities that started in the period (and match the filter), checked; recordings of the
    same section, officer and period that are tied to no activity, listed too."""
    seen = visibility(principal)
    matching = await ActivityRepository(session).matching(visibility=seen, wanted=wanted)
    checked = await check(session, matching, slack=slack)
    loose: list[Finding] = []
    if wanted.enterprise_id is None and wanted.kind is None and wanted.type is None:
        records = await RecordRepository(session).unassigned(
            visibility=seen,
            wanted=RecordFilter(
                section=wanted.section,
                officer_id=wanted.officer_id,
                captured_from=wanted.started_from,
                captured_to=wanted.started_to,
            ),
        )
        for record in sorted(records, key=lambda r: (r.captured_at is None, r.captured_at)):
            loose.extend(check_unassigned(record))
    if wanted.officer_id is not None:
        # One officer's report: what they answer for, not what colleagues in the same activity do.
        officer = wanted.officer_id
        checked = [
            replace(c, findings=[f for f in c.findings if officer in f.officer_ids])
            for c in checked
        ]
        loose = [f for f in loose if officer in f.officer_ids]
    findings = [f for c in checked for f in c.findings] + loose
    compliant = sum(1 for c in checked if not c.findings)
    return ComplianceReport(
        activities=len(checked),
        compliant_activities=compliant,
        rate=round(compliant / len(checked), 4) if checked else None,
        counts=dict(sorted(Counter(f.code.value for f in findings).items())),
        by_section=_groups(checked, loose, lambda a: [a.section], lambda f: [f.section or ""]),
        by_officer=_groups(checked, loose, lambda a: a.officers, lambda f: f.officer_ids),
        findings=[FindingRead.of(f) for f in findings],
    )


def _groups(
    checked: Sequence[Checked],
    loose: Sequence[Finding],
    keys_of_activity: Callable[[Activity], Sequence[str]],
    keys_of_finding: Callable[[Finding], Sequence[str]],
) -> list[ComplianceGroup]:
    activity_count: Counter[str] = Counter()
    compliant: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for c in checked:
        for key in keys_of_activity(c.activity):
            activity_count[key] += 1
            compliant[key] += not c.findings
    for finding in [f for c in checked for f in c.findings] + list(loose):
        for key in keys_of_finding(finding):
            counts[key][finding.code.value] += 1
    return [
        ComplianceGroup(
            key=key,
            activities=activity_count[key],
            compliant_activities=compliant[key],
            findings=dict(sorted(counts[key].items())),
        )
        for key in sorted(set(activity_count) | set(counts))
    ]
