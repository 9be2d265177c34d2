"""The compliance checks on their own: an activity, its duty and what was recorded and filed for
it go in, findings come out (A-3, A-5, A-9, A-10, A-11, D-10). No database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from quancheng.catalog.models import (
    Activity,
    ActivityKind,
    ActivityType,
    Duty,
    Exemption,
    ExemptionReason,
    FindingCode,
    Interruption,
    InterruptionReason,
    Record,
)
from quancheng.catalog.service.checks import Finding, check_activity, check_unassigned

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
SLACK = timedelta(seconds=10)
OFFICERS = ["officer-7", "officer-8"]


def t(minutes: float = 0, seconds: float = 0) -> datetime:
    """A moment of the activity, counted from its start."""
    return START + timedelta(minutes=minutes, seconds=seconds)


def activity(*, ended: bool = True) -> Activity:
    return Activity(
        id=uuid4(),
        kind=ActivityKind.COERCION,
        type=ActivityType.SEALING_SEIZURE,
        matter="查封违规储存的危险化学品",
        section="JC1",
        officers=list(OFFICERS),
        started_at=START,
        ended_at=END if ended else None,
        created_by="office-1",
        created_at=START,
        updated_at=START,
    )


def rec(
    begin: datetime | None,
    until: datetime | None = None,
    *,
    kind: str = "video",
    device: str = "dev-1",
    officer: str = "officer-7",
    party_informed: bool | None = True,
    deadline_missed: bool = False,
    source: UUID | None = None,
) -> Record:
    return Record(
        record_id=uuid4(),
        upload_id=uuid4().hex,
        object_key="sections/JC1/originals/x",
        sha256="ab" * 32,
        size=1234,
        filename="现场.mp4",
        kind=kind,
        device_id=device,
        officer_id=officer,
        section="JC1",
        captured_at=begin,
        captured_until=until,
        deadline_missed=deadline_missed,
        party_informed=party_informed,
        source_record_id=source,
        ingested_at=END + timedelta(hours=2),
    )


def whole(
    *, kind: str = "video", party_informed: bool | None = True, deadline_missed: bool = False
) -> Record:
    """A recording covering the whole activity."""
    return rec(
        START, END, kind=kind, party_informed=party_informed, deadline_missed=deadline_missed
    )


def interruption(device: str, stopped: datetime, resumed: datetime | None) -> Interruption:
    return Interruption(
        id=uuid4(),
        activity_id=uuid4(),
        device_id=device,
        stopped_at=stopped,
        resumed_at=resumed,
        reason=InterruptionReason.BATTERY,
        explanation="电池耗尽，更换后继续录制",
        filed_by="officer-7",
        filed_at=END,
    )


def exemption(*, acknowledged: bool, filed_at: datetime = END) -> Exemption:
    return Exemption(
        id=uuid4(),
        activity_id=uuid4(),
        reason=ExemptionReason.EXPLOSION_HAZARD,
        basis="防爆区域",
        work_record="现场为防爆区域，无防爆执法记录仪",
        filed_by="officer-8",
        filed_at=filed_at,
        acknowledged_by="head-1" if acknowledged else None,
        acknowledged_at=filed_at + timedelta(hours=1) if acknowledged else None,
    )


def check(
    records: Sequence[Record] = (),
    interruptions: Sequence[Interruption] = (),
    exemptions: Sequence[Exemption] = (),
    *,
    duty: Duty = Duty.MANDATORY,
    of: Activity | None = None,
) -> list[Finding]:
    return check_activity(of or activity(), duty, records, interruptions, exemptions, slack=SLACK)


def codes(findings: Sequence[Finding]) -> list[FindingCode]:
    return [f.code for f in findings]


NO_RECORDING = FindingCode.NO_RECORDING
NOT_COVERED = FindingCode.NOT_COVERED
GAP = FindingCode.UNEXPLAINED_GAP


@pytest.mark.req("D-6")
@pytest.mark.req("B-4a")
@pytest.mark.req("A-10")
def test_a_mandatory_activity_that_ended_with_no_audio_or_video_is_flagged_once() -> None:
    the_activity = activity()
    documents = [rec(t(5), kind="photo"), rec(t(6), kind="scan")]

    (finding,) = check(documents, of=the_activity)
    assert check(of=the_activity) == [finding]
    assert (finding.code, finding.activity_id, finding.section) == (
        NO_RECORDING,
        the_activity.id,
        "JC1",
    )
    assert (finding.start, finding.end, finding.officer_ids) == (START, END, OFFICERS)
    assert check([whole()], of=the_activity) == []
    assert codes(check([whole(kind="audio")], of=the_activity)) == []


@pytest.mark.req("A-10")
def test_an_activity_still_open_is_not_flagged_yet() -> None:
    assert check(of=activity(ended=False)) == []


@pytest.mark.req("A-10")
@pytest.mark.parametrize("duty", [Duty.SITUATIONAL, Duty.TEXT])
def test_an_activity_without_a_full_recording_duty_may_go_unrecorded(duty: Duty) -> None:
    assert check(duty=duty) == []
    assert check([rec(t(30), t(31))], duty=duty) == []  # nor need it be covered


@pytest.mark.req("A-5")
def test_an_acknowledged_exemption_excuses_the_missing_recording() -> None:
    assert check(exemptions=[exemption(acknowledged=True)]) == []


@pytest.mark.req("A-5")
def test_an_exemption_not_yet_acknowledged_is_pending_and_excuses_nothing() -> None:
    filed = END + timedelta(hours=3)

    findings = check(exemptions=[exemption(acknowledged=False, filed_at=filed)])

    assert codes(findings) == [NO_RECORDING, FindingCode.EXEMPTION_PENDING]
    pending = findings[1]
    assert (pending.start, pending.officer_ids) == (filed, ["officer-8"])
    assert "explosion_hazard" in pending.detail


@pytest.mark.req("A-10")
@pytest.mark.parametrize(
    ("begin", "until", "gaps"),
    [
        (t(seconds=11), END, [(START, t(seconds=11))]),
        (START, END - timedelta(seconds=11), [(END - timedelta(seconds=11), END)]),
        (t(5), t(50), [(START, t(5)), (t(50), END)]),
        (t(seconds=10), END - SLACK, []),
    ],
    ids=["starts-late", "ends-early", "both", "within-slack"],
)
def test_recordings_must_cover_the_activity_from_start_to_end(
    begin: datetime, until: datetime, gaps: list[tuple[datetime, datetime]]
) -> None:
    findings = check([rec(begin, until)])

    assert codes(findings) == [NOT_COVERED] * len(gaps)
    assert [(f.start, f.end) for f in findings] == gaps
    assert all(f.officer_ids == OFFICERS for f in findings)


@pytest.mark.req("A-10")
def test_the_devices_together_cover_the_activity() -> None:
    first_half = rec(START, t(30), device="dev-1")
    second_half = rec(t(30), END, device="dev-2", officer="officer-8")

    assert check([second_half, first_half]) == []


@pytest.mark.req("D-10a")
def test_a_gap_between_two_segments_of_one_device_needs_an_explanation() -> None:
    before = rec(START, t(20))
    after = rec(t(20, 11), END, officer="officer-8")

    (gap,) = check([after, before])

    assert (gap.code, gap.device_id, gap.start, gap.end) == (GAP, "dev-1", t(20), t(20, 11))
    assert (gap.record_id, gap.officer_ids) == (after.record_id, ["officer-8"])
    assert "11 s" in gap.detail
    assert check([before, rec(t(20, 10), END)]) == []  # a device splitting its files


@pytest.mark.req("D-10a")
def test_a_gap_is_measured_from_the_furthest_a_device_has_recorded() -> None:
    # One device recording video throughout and audio in two stretches: its files overlap.
    video = rec(START, END)
    audio = [rec(t(10), t(20), kind="audio"), rec(t(30), END, kind="audio")]

    assert check([video, *audio]) == []


@pytest.mark.req("D-10a")
def test_recording_that_could_not_go_on_ends_the_activity_early_with_a_written_report() -> None:
    stopped_for_good = interruption("dev-1", t(40), None)
    reported = Interruption.model_validate(
        {**stopped_for_good.model_dump(), "written_report": "执法记录仪损坏，无法继续录制"}
    )
    segments = [rec(START, t(40))]

    assert codes(check(segments, [stopped_for_good])) == [NOT_COVERED]  # no report: not enough
    assert check(segments, [reported]) == []


@pytest.mark.req("D-10a")
@pytest.mark.parametrize(
    ("explanation", "explained"),
    [
        (interruption("dev-1", t(20), t(40)), True),
        (interruption("dev-1", t(19), t(41)), True),
        (interruption("dev-1", t(20, 10), t(39, 50)), True),  # give or take the slack
        (interruption("dev-1", t(20, 11), t(40)), False),  # stopped earlier than it says
        (interruption("dev-1", t(20), t(39, 49)), False),  # resumed later than it says
        (interruption("dev-1", t(25), t(30)), False),  # part of the gap only
        (interruption("dev-1", t(20), None), False),  # "never resumed", yet it did
        (interruption("dev-2", t(20), t(40)), False),  # another device's
        (interruption("dev-1", t(45), t(50)), False),  # another moment's
    ],
    ids=[
        "same-span",
        "wider",
        "within-slack",
        "late-stop",
        "early-resume",
        "inside",
        "open-ended",
        "other-device",
        "elsewhere",
    ],
)
def test_an_interruption_of_that_device_explains_the_gap_it_spans(
    explanation: Interruption, explained: bool
) -> None:
    segments = [rec(START, t(20)), rec(t(40), END)]

    findings = check(segments, [explanation])

    assert codes(findings) == ([] if explained else [GAP])


@pytest.mark.req("D-10a")
def test_gaps_are_looked_for_device_by_device() -> None:
    # dev-2 recorded all along while dev-1 stopped: dev-1's stop still needs an explanation.
    dev_1 = [rec(START, t(20)), rec(t(40), END)]
    dev_2 = rec(START, END, device="dev-2", officer="officer-8")
    # Another device's short file between dev-1's two is not a gap of either.
    interleaved = [rec(START, t(30)), rec(t(1), t(2), device="dev-2"), rec(t(30), END)]

    (gap,) = check([*dev_1, dev_2])

    assert (gap.code, gap.device_id, gap.start, gap.end) == (GAP, "dev-1", t(20), t(40))
    assert check(interleaved) == []


@pytest.mark.req("D-10b")
def test_a_recording_made_after_the_activity_ended_is_flagged_and_nothing_else() -> None:
    during = rec(START, t(30))
    afterwards = rec(END + timedelta(minutes=1), END + timedelta(minutes=20), officer="officer-8")

    findings = check([during, afterwards])

    # Neither a gap from t(30) to it, nor does it make up for the missing last half hour.
    assert codes(findings) == [NOT_COVERED, FindingCode.AFTER_THE_FACT]
    assert (findings[0].start, findings[0].end) == (t(30), END)
    late = findings[1]
    assert (late.record_id, late.device_id, late.officer_ids) == (
        afterwards.record_id,
        "dev-1",
        ["officer-8"],
    )
    assert late.start == END + timedelta(minutes=1)


@pytest.mark.req("D-10b")
def test_only_after_the_fact_recordings_leave_the_activity_unrecorded() -> None:
    afterwards = rec(END + timedelta(minutes=5), END + timedelta(minutes=6))
    within_slack = rec(START, END + SLACK)

    assert codes(check([afterwards])) == [NO_RECORDING, FindingCode.AFTER_THE_FACT]
    assert check([rec(START, END), rec(END + SLACK, END + timedelta(minutes=1))]) == []
    assert check([within_slack]) == []


@pytest.mark.req("D-9")
@pytest.mark.req("A-9")
@pytest.mark.parametrize(
    ("record", "said"),
    [
        (whole(party_informed=False), "no"),
        (whole(kind="audio", party_informed=None), "not stated"),
        (whole(party_informed=True), None),
        (rec(t(5), kind="photo", party_informed=False), None),
        (rec(t(5), t(6), party_informed=False, source=uuid4()), None),  # a clip
    ],
    ids=["video-not-told", "audio-unstated", "told", "photo", "derived"],
)
def test_the_party_must_be_told_of_audio_and_video(record: Record, said: str | None) -> None:
    findings = check([record], duty=Duty.SITUATIONAL)

    if said is None:
        assert findings == []
    else:
        (finding,) = findings
        assert finding.code is FindingCode.PARTY_NOT_INFORMED
        assert (finding.record_id, finding.officer_ids) == (record.record_id, ["officer-7"])
        assert finding.detail == f"party informed: {said}"


@pytest.mark.req("A-11")
def test_a_recording_uploaded_past_its_deadline_is_late() -> None:
    late = whole(deadline_missed=True)

    (finding,) = check([late])

    assert (finding.code, finding.record_id, finding.start) == (
        FindingCode.LATE_UPLOAD,
        late.record_id,
        START,
    )
    assert check([whole(deadline_missed=False)]) == []


@pytest.mark.req("A-3")
def test_a_recording_tied_to_no_activity_is_unassigned_and_checked_on_its_own() -> None:
    loose = rec(t(5), t(6), party_informed=False, deadline_missed=True)

    findings = check_unassigned(loose)

    assert codes(findings) == [
        FindingCode.UNASSIGNED,
        FindingCode.PARTY_NOT_INFORMED,
        FindingCode.LATE_UPLOAD,
    ]
    assert all(
        (f.record_id, f.activity_id, f.section, f.officer_ids, f.start)
        == (loose.record_id, None, "JC1", ["officer-7"], t(5))
        for f in findings
    )
    assert codes(check_unassigned(rec(t(5), kind="photo"))) == [FindingCode.UNASSIGNED]


def test_findings_come_oldest_moment_first() -> None:
    records = [
        rec(None, kind="photo", deadline_missed=True),  # no time: last
        rec(t(40), t(59, 55), device="dev-1"),
        rec(t(45), t(46), device="dev-2", deadline_missed=True),
        rec(t(5), t(20), device="dev-1", party_informed=False),
    ]
    pending = exemption(acknowledged=False, filed_at=t(50))

    findings = check(records, exemptions=[pending])

    assert codes(findings) == [
        NOT_COVERED,  # from START
        FindingCode.PARTY_NOT_INFORMED,  # t(5)
        GAP,  # t(20)
        FindingCode.LATE_UPLOAD,  # t(45)
        FindingCode.EXEMPTION_PENDING,  # t(50)
        FindingCode.LATE_UPLOAD,  # no time
    ]
    assert findings[-1].start is None
    times = [f.start for f in findings[:-1]]
    assert times == sorted(t for t in times if t is not None)
