"""The compliance checks themselves: plain functions of an activity, its duty and what was
recorded and filed for it. Nothing here touches the database."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from quancheng.catalog.models import (
    Activity,
    Duty,
    Exemption,
    FindingCode,
    Interruption,
    Record,
)

# Recordings of the activity as it happened; photos and scans are documents, not segments.
SEGMENT_KINDS = ("video", "audio")


@dataclass(frozen=True)
class Segment:
    """A stretch of audio or video of one device, by the device's clock."""

    start: datetime
    end: datetime
    record: Record


@dataclass(frozen=True)
class Finding:
    code: FindingCode
    section: str | None
    activity_id: UUID | None = None
    record_id: UUID | None = None
    device_id: str | None = None
    officer_ids: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    detail: str = ""
    # Every record whose id, device, officer or times the finding shows: it is withheld from
    # a caller whose clearance doesn't reach one of them (B-11).
    evidence: frozenset[UUID] = frozenset()


def check_activity(
    activity: Activity,
    duty: Duty,
    records: Sequence[Record],
    interruptions: Sequence[Interruption],
    exemptions: Sequence[Exemption],
    *,
    slack: timedelta,
) -> list[Finding]:
    """Everything wrong with how ``activity`` was recorded, oldest moment first."""
    findings: list[Finding] = []
    originals = [r for r in records if r.source_record_id is None]
    segments = sorted(
        (
            Segment(r.captured_at, r.captured_until or r.captured_at, r)
            for r in originals
            if r.kind in SEGMENT_KINDS and r.captured_at is not None
        ),
        key=lambda s: (s.start, s.record.record_id),
    )
    ended_at = activity.ended_at
    after_the_fact = [
        r
        for r in originals
        if ended_at is not None and r.captured_at is not None and r.captured_at > ended_at + slack
    ]
    # What was captured afterwards is reported as such, not as a gap in, or cover of, the activity.
    late = {r.record_id for r in after_the_fact}
    segments = [s for s in segments if s.record.record_id not in late]

    exempted = any(e.acknowledged_at is not None for e in exemptions)
    for exemption in exemptions:
        if exemption.acknowledged_at is None:
            findings.append(
                _on(
                    activity,
                    FindingCode.EXEMPTION_PENDING,
                    officer_ids=[exemption.filed_by],
                    start=exemption.filed_at,
                    detail=f"filed by {exemption.filed_by}: {exemption.reason.value}",
                )
            )
    if duty is Duty.MANDATORY and not exempted and ended_at is not None:
        if not segments:
            findings.append(
                _on(
                    activity,
                    FindingCode.NO_RECORDING,
                    start=activity.started_at,
                    end=ended_at,
                    detail="a mandatory activity with no audio or video recording",
                )
            )
        else:
            findings.extend(_coverage(activity, ended_at, segments, interruptions, slack))
    findings.extend(_gaps(activity, segments, interruptions, slack))
    for record in after_the_fact:
        findings.append(
            _on(
                activity,
                FindingCode.AFTER_THE_FACT,
                record_id=record.record_id,
                device_id=record.device_id,
                officer_ids=[record.officer_id],
                start=record.captured_at,
                detail=f"captured after the activity ended at {ended_at}",
                evidence=frozenset({record.record_id}),
            )
        )
    for record in originals:
        findings.extend(_record_findings(record, activity.id))
    return sorted(findings, key=_order)


def check_unassigned(record: Record) -> list[Finding]:
    """A recording tied to no activity: that itself, and what is wrong with it alone."""
    return [
        Finding(
            FindingCode.UNASSIGNED,
            record.section,
            record_id=record.record_id,
            device_id=record.device_id,
            officer_ids=[record.officer_id],
            start=record.captured_at,
            detail="not tied to any enforcement activity; the section head reviews it",
            evidence=frozenset({record.record_id}),
        ),
        *_record_findings(record, None),
    ]


def _record_findings(record: Record, activity_id: UUID | None) -> Iterable[Finding]:
    def finding(code: FindingCode, detail: str) -> Finding:
        return Finding(
            code,
            record.section,
            activity_id,
            record_id=record.record_id,
            device_id=record.device_id,
            officer_ids=[record.officer_id],
            start=record.captured_at,
            detail=detail,
            evidence=frozenset({record.record_id}),
        )

    is_segment = record.kind in SEGMENT_KINDS and record.source_record_id is None
    if is_segment and record.party_informed is not True:
        said = "not stated" if record.party_informed is None else "no"
        yield finding(FindingCode.PARTY_NOT_INFORMED, f"party informed: {said}")
    if record.deadline_missed:
        yield finding(
            FindingCode.LATE_UPLOAD,
            f"uploaded {record.ingested_at.isoformat()}, past the deadline",
        )


def _on(
    activity: Activity,
    code: FindingCode,
    *,
    record_id: UUID | None = None,
    device_id: str | None = None,
    officer_ids: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    detail: str,
    evidence: frozenset[UUID] = frozenset(),
) -> Finding:
    """A finding about the activity; its officers answer for it unless others are named."""
    return Finding(
        code,
        activity.section,
        activity.id,
        record_id=record_id,
        device_id=device_id,
        officer_ids=list(activity.officers) if officer_ids is None else officer_ids,
        start=start,
        end=end,
        detail=detail,
        evidence=evidence,
    )


def _coverage(
    activity: Activity,
    ended_at: datetime,
    segments: Sequence[Segment],
    interruptions: Sequence[Interruption],
    slack: timedelta,
) -> Iterable[Finding]:
    """Whether the recordings, taken together, span the activity from start to end. Recording
    that stopped for good, with the written report D-10a asks for, ends the span early."""
    opening = min(segments, key=lambda s: s.start)
    closing = max(segments, key=lambda s: s.end)
    first, last = opening.start, closing.end
    if first > activity.started_at + slack:
        yield _on(
            activity,
            FindingCode.NOT_COVERED,
            start=activity.started_at,
            end=first,
            detail="recording began after the activity started",
            evidence=frozenset({opening.record.record_id}),
        )
    reported = any(
        i.resumed_at is None and i.written_report and i.stopped_at <= last + slack
        for i in interruptions
    )
    if last < ended_at - slack and not reported:
        yield _on(
            activity,
            FindingCode.NOT_COVERED,
            start=last,
            end=ended_at,
            detail="recording ended before the activity did",
            evidence=frozenset({closing.record.record_id}),
        )


def _gaps(
    activity: Activity,
    segments: Sequence[Segment],
    interruptions: Sequence[Interruption],
    slack: timedelta,
) -> Iterable[Finding]:
    """Gaps between consecutive segments of one device that no interruption explains (D-10a)."""
    by_device: dict[str, list[Segment]] = defaultdict(list)
    for segment in segments:
        by_device[segment.record.device_id].append(segment)
    for device, own in by_device.items():
        explained = [i for i in interruptions if i.device_id == device]
        # The segment that reached furthest: a device may record audio and video at once, so
        # files overlap.
        reaching = own[0]
        for before, after in itertools.pairwise(own):
            reaching = max(reaching, before, key=lambda s: s.end)
            stopped, resumed = reaching.end, after.start
            if resumed - stopped <= slack:
                continue
            if any(_covers(i, stopped, resumed, slack) for i in explained):
                continue
            yield Finding(
                FindingCode.UNEXPLAINED_GAP,
                activity.section,
                activity.id,
                record_id=after.record.record_id,
                device_id=device,
                officer_ids=[after.record.officer_id],
                start=stopped,
                end=resumed,
                detail=f"device {device} stopped for {int((resumed - stopped).total_seconds())} s",
                evidence=frozenset({reaching.record.record_id, after.record.record_id}),
            )


def _covers(interruption: Interruption, start: datetime, end: datetime, slack: timedelta) -> bool:
    """The explanation accounts for the whole gap, give or take the slack."""
    resumed = interruption.resumed_at or interruption.stopped_at
    return interruption.stopped_at <= start + slack and resumed >= end - slack


def _order(finding: Finding) -> tuple[datetime, str, str]:
    return (
        finding.start or datetime.max.replace(tzinfo=UTC),
        finding.code.value,
        str(finding.record_id or ""),
    )
