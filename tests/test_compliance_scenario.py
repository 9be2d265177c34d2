"""The compliance report end to end: a bureau of two sections, a week of enforcement activities,
recordings uploaded through ingest's tus endpoint; every finding shows exactly where it should
(the office's report, the section heads', the officer's, the activity's own) and nowhere else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from quancheng.common.auth import Role
from quancheng.common.testing.kit import (
    Embedded,
    TokenFactory,
    appoint,
    issued_device,
    seed_staff,
    upload_recording,
)

# name: (section, type, kind, officers, day (Mon = 0), from, until)
ACTIVITIES: dict[str, tuple[str, str, str, list[str], int, str, str]] = {
    "A1": ("JC1", "daily_inspection", "inspection", ["officer-7"], 0, "09:00", "10:00"),
    "A2": ("JC1", "sealing_seizure", "coercion", ["officer-7", "officer-8"], 1, "14:00", "15:00"),
    "A3": ("JC1", "sealing_seizure", "coercion", ["officer-8"], 2, "10:00", "11:00"),
    "A4": ("JC1", "forced_demolition", "coercion", ["officer-7"], 3, "10:00", "11:00"),
    "A5": ("JC1", "complaint", "inspection", ["officer-8"], 4, "10:00", "10:30"),
    "B1": ("JC2", "evidence_collection", "penalty", ["officer-9"], 0, "10:00", "10:40"),
    "B2": ("JC2", "sealing_seizure", "coercion", ["officer-9"], 2, "09:00", "10:00"),
}
# record name: (officer, device, activity, from, until, back from a remote mission 2 h ago)
UPLOADS: dict[str, tuple[str, str, str, str, str, bool]] = {
    "A1-1": ("officer-7", "BC-1", "A1", "09:00", "09:30", True),
    "A1-2": ("officer-7", "BC-1", "A1", "09:30:05", "10:00", True),  # split files, not a gap
    "A2-BC2": ("officer-8", "BC-2", "A2", "14:00", "15:00", True),
    "A2-1": ("officer-7", "BC-1", "A2", "14:00", "14:20", True),
    "A2-2": ("officer-7", "BC-1", "A2", "14:35", "15:00", True),  # 15 min unexplained
    "A5-1": ("officer-8", "BC-2", "A5", "10:00", "10:30", False),  # days late
    "B1-1": ("officer-9", "BC-3", "B1", "10:00", "10:40", True),
    "B1-2": ("officer-9", "BC-3", "B1", "11:30", "11:40", True),  # after the activity ended
    "B2-1": ("officer-9", "BC-3", "B2", "09:00", "09:20", True),
    "B2-2": ("officer-9", "BC-3", "B2", "09:40", "10:00", True),  # gap explained
}
# What the compliance checks must find once A4's exemption is acknowledged: (code, activity,
# record); "-" when the finding is about the activity as a whole.
FINDINGS = {
    "A2": [("unexplained_gap", "A2", "A2-2")],
    "A3": [("no_recording", "A3", "-")],
    "A5": [("late_upload", "A5", "A5-1")],
    "B1": [("after_the_fact", "B1", "B1-2")],
}
LABELS = {
    "no_recording": ("无记录", "A-10"),
    "unexplained_gap": ("中断", "D-10a"),
    "after_the_fact": ("补录", "D-10b"),
    "late_upload": ("24小时", "A-11"),
    "exemption_pending": ("待科室负责人确认", "A-5"),
}
JC1 = {"A1", "A2", "A3", "A4", "A5"}
MANDATORY = {"sealing_seizure", "forced_demolition"}

Row = tuple[str, str, str]


@pytest.mark.req("A-5")
@pytest.mark.req("A-10")
@pytest.mark.req("A-11")
@pytest.mark.req("D-10a")
@pytest.mark.req("D-10b")
@pytest.mark.req("E-10")
async def test_a_week_of_two_sections_shows_each_finding_exactly_where_it_belongs(
    embedded: Embedded, token: TokenFactory
) -> None:
    e = embedded
    now = datetime.now(UTC)
    base = (now - timedelta(days=8)).replace(hour=9, minute=0, second=0, microsecond=0)

    def at(day: int, clock: str) -> datetime:
        h, m, *s = (int(x) for x in clock.split(":"))
        return base.replace(hour=h, minute=m, second=s[0] if s else 0) + timedelta(days=day)

    office = e.auth(token("office-1", Role.OFFICE))
    heads = {
        "JC1": e.auth(token("head-1", Role.SECTION_HEAD, section="JC1")),
        "JC2": e.auth(token("head-2", Role.SECTION_HEAD, section="JC2")),
    }
    officers = {
        o: e.auth(token(o, Role.OFFICER, section=s))
        for o, s in (("officer-7", "JC1"), ("officer-8", "JC1"), ("officer-9", "JC2"))
    }
    await seed_staff(e.client, office)
    await appoint(e.client, office, "JC1", head="head-1")
    await appoint(e.client, office, "JC2", head="head-2")
    devices = {
        serial: await issued_device(
            e.client, office, officers[o], serial=serial, officer_id=o, section=s
        )
        for serial, o, s in (
            ("BC-1", "officer-7", "JC1"),
            ("BC-2", "officer-8", "JC1"),
            ("BC-3", "officer-9", "JC2"),
        )
    }

    ids: dict[str, str] = {}  # activity and record names -> ids
    for name, (section, type_, kind, crew, day, start, end) in ACTIVITIES.items():
        body = {
            "kind": kind,
            "type": type_,
            "matter": f"{name} 现场执法",
            "section": section,
            "officers": crew,
            "started_at": at(day, start).isoformat(),
            "ended_at": at(day, end).isoformat(),
        }
        created = await e.client.post("/api/v1/activities", json=body, headers=heads[section])
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]

    returned = (now - timedelta(hours=2)).isoformat()
    for name, (o, serial, activity, start, end, back) in UPLOADS.items():
        day = ACTIVITIES[activity][4]
        meta = {
            "filename": f"{name}.mp4",
            "device_id": devices[serial],
            "officer_id": o,
            "kind": "video",
            "captured_at": at(day, start).isoformat(),
            "captured_until": at(day, end).isoformat(),
            "party_informed": "true",
            "activity_id": ids[activity],
        }
        if back:
            meta["returned_at"] = returned
        ids[name] = await upload_recording(
            e.client, officers[o], meta, f"recording {name}".encode()
        )
    names = {v: k for k, v in ids.items()}

    for _ in range(100):  # the events travel through the outbox relay
        listed = await e.client.get("/api/v1/records", params={"limit": 100}, headers=office)
        if listed.json()["total"] == len(UPLOADS):
            break
        await asyncio.sleep(0.1)
    assert {names[r["record_id"]] for r in listed.json()["items"]} == set(UPLOADS)
    assert {(names[r["record_id"]], r["activity_id"]) for r in listed.json()["items"]} == {
        (n, ids[u[2]]) for n, u in UPLOADS.items()
    }

    interruption = {
        "device_id": devices["BC-3"],
        "stopped_at": at(2, "09:20").isoformat(),
        "resumed_at": at(2, "09:40").isoformat(),
        "reason": "battery",
        "explanation": "电池耗尽，更换电池",
    }
    filed = await e.client.post(
        f"/api/v1/activities/{ids['B2']}/interruptions",
        json=interruption,
        headers=officers["officer-9"],
    )
    assert filed.status_code == 201, filed.text

    exemption = {
        "reason": "explosion_hazard",
        "basis": "现场为易燃易爆区域，本局无防爆执法记录仪",
        "work_record": "强制拆除过程由李明以文字记录，当事人签字确认。",
    }
    a4 = f"/api/v1/activities/{ids['A4']}"
    filed = await e.client.post(f"{a4}/exemptions", json=exemption, headers=officers["officer-7"])
    assert filed.status_code == 201, filed.text
    exemption_id = filed.json()["id"]
    assert filed.json()["acknowledged_at"] is None

    def rows(findings: list[dict[str, Any]]) -> list[Row]:
        return sorted(
            (f["code"], names[f["activity_id"]], names.get(f["record_id"] or "", "-"))
            for f in findings
        )

    period = {
        "started_from": (base - timedelta(hours=9)).isoformat(),
        "started_to": (base + timedelta(days=5)).isoformat(),
    }

    async def report(who: dict[str, str], **extra: str) -> dict[str, Any]:
        got = await e.client.get("/api/v1/compliance", params={**period, **extra}, headers=who)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    async def of_activity(name: str) -> dict[str, Any]:
        got = await e.client.get(f"/api/v1/activities/{ids[name]}/compliance", headers=office)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    everything = sorted(row for found in FINDINGS.values() for row in found)

    # Filed but not acknowledged: A4 is unrecorded and its work record is waiting.
    pending = [("exemption_pending", "A4", "-"), ("no_recording", "A4", "-")]
    assert rows((await of_activity("A4"))["findings"]) == pending
    assert rows((await report(office))["findings"]) == sorted(everything + pending)
    waiting = next(f for f in (await of_activity("A4"))["findings"] if f["code"] == pending[0][0])
    assert waiting["officer_ids"] == ["officer-7"]

    # Only the head of A4's section acknowledges it: officer-8 and head-2 do not even see A4,
    # its own officer and the office see it but may not acknowledge it.
    ack = f"{a4}/exemptions/{exemption_id}/acknowledge"
    for who, status in (
        (officers["officer-8"], 404),
        (heads["JC2"], 404),
        (officers["officer-7"], 403),
        (office, 403),
    ):
        refused = await e.client.post(ack, headers=who)
        assert refused.status_code == status, refused.text
    assert rows((await of_activity("A4"))["findings"]) == pending
    acknowledged = await e.client.post(ack, headers=heads["JC1"])
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["acknowledged_by"] == "head-1"

    # 1. The office's report of the week: exactly the four findings.
    week = await report(office)
    assert rows(week["findings"]) == everything
    assert (week["activities"], week["compliant_activities"]) == (7, 3)  # A1, A4, B2
    assert week["rate"] == pytest.approx(3 / 7, abs=1e-4)
    assert week["counts"] == {row[0]: 1 for row in everything}
    assert [
        (g["key"], g["activities"], g["compliant_activities"], g["findings"])
        for g in week["by_section"]
    ] == [
        ("JC1", 5, 2, {"late_upload": 1, "no_recording": 1, "unexplained_gap": 1}),
        ("JC2", 2, 1, {"after_the_fact": 1}),
    ]
    assert [
        (g["key"], g["activities"], g["compliant_activities"], g["findings"])
        for g in week["by_officer"]
    ] == [
        ("officer-7", 3, 2, {"unexplained_gap": 1}),
        ("officer-8", 3, 0, {"late_upload": 1, "no_recording": 1}),
        ("officer-9", 2, 1, {"after_the_fact": 1}),
    ]
    for finding in week["findings"]:
        words, requirement = LABELS[finding["code"]]
        assert words in finding["label"], finding
        assert finding["requirement"] == requirement, finding
        assert finding["section"] == ("JC1" if names[finding["activity_id"]] in JC1 else "JC2")
    (gap,) = (f for f in week["findings"] if f["code"] == "unexplained_gap")
    assert gap["device_id"] == devices["BC-1"]
    assert gap["officer_ids"] == ["officer-7"]
    assert datetime.fromisoformat(gap["start"]) == at(1, "14:20")
    assert datetime.fromisoformat(gap["end"]) == at(1, "14:35")
    (late,) = (f for f in week["findings"] if f["code"] == "late_upload")
    assert late["officer_ids"] == ["officer-8"]

    # 2. Each section head sees their own section's; an officer's report names only them.
    head_1, head_2 = await report(heads["JC1"]), await report(heads["JC2"])
    assert rows(head_1["findings"]) == [r for r in everything if r[1] in JC1]
    assert (head_1["activities"], head_1["compliant_activities"]) == (5, 2)
    assert rows(head_2["findings"]) == [r for r in everything if r[1] not in JC1]
    assert (head_2["activities"], head_2["compliant_activities"]) == (2, 1)
    assert [g["key"] for g in head_2["by_section"]] == ["JC2"]
    officer_8 = [("late_upload", "A5", "A5-1"), ("no_recording", "A3", "-")]
    officer_reports: list[dict[str, Any]] = []
    for who in (office, officers["officer-8"]):
        theirs = await report(who, officer_id="officer-8")
        assert rows(theirs["findings"]) == officer_8
        assert all("officer-8" in f["officer_ids"] for f in theirs["findings"])
        # A2, A3, A5; A2 is clean for officer-8 (the gap there is officer-7's)
        assert (theirs["activities"], theirs["compliant_activities"]) == (3, 1)
        assert theirs["counts"] == {"late_upload": 1, "no_recording": 1}
        officer_reports.append(theirs)

    # 3. Each activity's own check agrees, under its type's duty.
    for name, (_, type_, *_rest) in ACTIVITIES.items():
        checked = await of_activity(name)
        assert checked["duty"] == ("mandatory" if type_ in MANDATORY else "situational"), name
        assert rows(checked["findings"]) == FINDINGS.get(name, []), name
        assert checked["compliant"] is (name not in FINDINGS), name

    # 4. Two sections (E-10): JC2 cannot see JC1's recordings, its head lists only JC2's.
    for who in (officers["officer-9"], heads["JC2"]):
        hidden = await e.client.get(f"/api/v1/records/{ids['A1-1']}", headers=who)
        assert hidden.status_code == 404, hidden.text
    seen = await e.client.get("/api/v1/records", params={"limit": 100}, headers=heads["JC2"])
    assert sorted(names[r["record_id"]] for r in seen.json()["items"]) == [
        "B1-1",
        "B1-2",
        "B2-1",
        "B2-2",
    ]
    assert {r["section"] for r in seen.json()["items"]} == {"JC2"}
    mine = await e.client.get(f"/api/v1/records/{ids['B1-1']}", headers=officers["officer-9"])
    assert mine.status_code == 200, mine.text

    # 5. An officer's report counts, per section and per officer, the findings it lists: not
    # officer-7's gap in A2, which officer-8 took part in but which does not name them.
    for theirs in officer_reports:
        assert [(g["key"], g["findings"]) for g in theirs["by_section"]] == [
            ("JC1", theirs["counts"])
        ]
        assert {g["key"]: g["findings"] for g in theirs["by_officer"] if g["findings"]} == {
            "officer-8": theirs["counts"]
        }
