"""Compliance reports (A-5, A-9, A-10, A-11, D-10, B-12): the checks of every activity the caller
may see, with the recordings tied to none, counted per section and per officer."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    Visibility,
)
from quancheng.catalog.service import activities, duties
from quancheng.catalog.service.checks import Finding, check_activity, check_unassigned
from quancheng.catalog.service.records import visibility
from quancheng.common.auth import Principal


@dataclass(frozen=True)
class Checked:
    """An activity, what it was checked against, and what the caller may see of the outcome.
    The checks run on every recording of the activity, so ``compliant`` is true to it; the
    recordings above the caller's clearance, and the findings that would show them, are only
    counted (B-11)."""

    activity: Activity
    duty: Duty
    compliant: bool
    findings: list[Finding]
    records: list[Record]
    interruptions: list[Interruption]
    exemptions: list[Exemption]
    withheld_records: int
    withheld_findings: int

    @property
    def activity_id(self) -> UUID:
        return self.activity.id


@dataclass(frozen=True)
class Group:
    """One section's or officer's share: activities checked, how many had no finding."""

    key: str
    activities: int
    compliant_activities: int
    findings: dict[str, int]


@dataclass(frozen=True)
class Report:
    activities: int
    compliant_activities: int
    rate: float | None
    counts: dict[str, int]
    by_section: list[Group]
    by_officer: list[Group]
    findings: list[Finding]
    withheld_records: int
    withheld_findings: int


async def check(
    session: AsyncSession,
    seen: Visibility,
    activity_list: Sequence[Activity],
    *,
    slack: timedelta,
    answering: str | None = None,
) -> list[Checked]:
    """Run the checks over ``activity_list`` (activities the caller may see) with four queries,
    whatever its length. With ``answering``, only the findings that officer answers for count."""
    ids = [a.id for a in activity_list]
    shown, withheld = await RecordRepository(session).seen_of_activities(ids, visibility=seen)
    records: dict[str, list[Record]] = defaultdict(list)
    hidden: dict[str, list[Record]] = defaultdict(list)
    for record in shown:
        records[record.activity_id or ""].append(record)
    for record in withheld:
        hidden[record.activity_id or ""].append(record)
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
        own, unseen = records[str(activity.id)], hidden[str(activity.id)]
        filed = (interruptions[activity.id], exemptions[activity.id])
        findings = check_activity(activity, duty, own + unseen, *filed, slack=slack)
        if answering is not None:
            findings = [f for f in findings if answering in f.officer_ids]
        unseen_ids = {r.record_id for r in unseen}
        shown_findings = [f for f in findings if not f.evidence & unseen_ids]
        checked.append(
            Checked(
                activity,
                duty,
                not findings,
                shown_findings,
                own,
                *filed,
                withheld_records=len(unseen),
                withheld_findings=len(findings) - len(shown_findings),
            )
        )
    return checked


async def of_activity(
    session: AsyncSession, principal: Principal, activity_id: UUID, *, slack: timedelta
) -> Checked:
    activity = await activities.get(session, principal, activity_id)
    (checked,) = await check(session, visibility(principal), [activity], slack=slack)
    return checked


async def report(
    session: AsyncSession,
    principal: Principal,
    wanted: ActivityFilter,
    *,
    slack: timedelta,
) -> Report:
    """Activities that started in the period (and match the filter), checked; recordings of the
    same section, officer and period that are tied to no activity, listed too."""
    seen = visibility(principal)
    matching = await ActivityRepository(session).matching(visibility=seen, wanted=wanted)
    # One officer's report: what they answer for, not what colleagues in the same activity do.
    checked = await check(session, seen, matching, slack=slack, answering=wanted.officer_id)
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
        loose = [f for f in loose if wanted.officer_id in f.officer_ids]
    findings = [f for c in checked for f in c.findings] + loose
    compliant = sum(1 for c in checked if c.compliant)
    return Report(
        activities=len(checked),
        compliant_activities=compliant,
        rate=round(compliant / len(checked), 4) if checked else None,
        counts=dict(sorted(Counter(f.code.value for f in findings).items())),
        by_section=_groups(checked, loose, lambda a: [a.section], lambda f: [f.section or ""]),
        by_officer=_groups(checked, loose, lambda a: a.officers, lambda f: f.officer_ids),
        findings=findings,
        withheld_records=sum(c.withheld_records for c in checked),
        withheld_findings=sum(c.withheld_findings for c in checked),
    )


def _groups(
    checked: Sequence[Checked],
    loose: Sequence[Finding],
    keys_of_activity: Callable[[Activity], Sequence[str]],
    keys_of_finding: Callable[[Finding], Sequence[str]],
) -> list[Group]:
    activity_count: Counter[str] = Counter()
    compliant: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for c in checked:
        for key in keys_of_activity(c.activity):
            activity_count[key] += 1
            compliant[key] += c.compliant
    for finding in [f for c in checked for f in c.findings] + list(loose):
        for key in keys_of_finding(finding):
            counts[key][finding.code.value] += 1
    return [
        Group(
            key=key,
            activities=activity_count[key],
            compliant_activities=compliant[key],
            findings=dict(sorted(counts[key].items())),
        )
        for key in sorted(set(activity_count) | set(counts))
    ]
