"""The archive export (E-17, C-4, B-7) end to end: recordings uploaded through ingest, described,
archived with their activity, and exported as a BagIt bag that the Library of Congress's
validator accepts, with a detail table that matches the catalog."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import os
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import bagit
import pytest
from openpyxl import load_workbook

from quancheng.catalog.service.export import AlteredObjectError
from quancheng.common.auth import Role
from quancheng.common.testing.kit import (
    Embedded,
    TokenFactory,
    appoint,
    issued_device,
    seed_staff,
    upload_recording,
)

ZONE = ZoneInfo("Asia/Shanghai")

ENTERPRISE = {
    "name": "华南化工（广州）有限公司",
    "credit_code": "91350100M000100Y43",
    "industry": "危险化学品",
    "region": "黄埔区",
}


async def archived_enterprise(embedded: Embedded, token: TokenFactory) -> dict[str, Any]:
    """An enterprise with one archived sealing and its three recordings (two named alike)."""
    office = embedded.auth(token("office-1", Role.OFFICE))
    officer = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    head = embedded.auth(token("head-1", Role.SECTION_HEAD, section="JC1"))
    await seed_staff(embedded.client, office)
    await appoint(embedded.client, office, "JC1", head="head-1")
    device_id = await issued_device(embedded.client, office, officer, serial="BC-1")
    enterprise = (
        await embedded.client.post("/api/v1/enterprises", json=ENTERPRISE, headers=office)
    ).json()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    activity = await embedded.client.post(
        "/api/v1/activities",
        headers=head,
        json={
            "kind": "coercion",
            "type": "sealing_seizure",
            "matter": "查封危险化学品仓库",
            "case_number": "穗应急罚〔2026〕12号",
            "enterprise_id": enterprise["id"],
            "section": "JC1",
            "officers": ["officer-7"],
            "started_at": start.isoformat(),
        },
    )
    assert activity.status_code == 201, activity.text
    activity_id = activity.json()["id"]
    files = [
        ("查封.mp4", b"video " * 5000),
        ("查封.mp4", b"second part " * 3000),  # a camera that names every file alike
        ("询问笔录.jpg", b"\xff\xd8 a scanned record"),
    ]
    record_ids = []
    for n, (name, data) in enumerate(files):
        meta = {
            "filename": name,
            "device_id": device_id,
            "officer_id": "officer-7",
            "kind": "photo" if name.endswith(".jpg") else "video",
            "captured_at": (start + timedelta(minutes=20 * n)).isoformat(),
            "captured_until": (start + timedelta(minutes=20 * n + 20)).isoformat(),
            "party_informed": "true",
            "activity_id": activity_id,
        }
        record_ids.append(await upload_recording(embedded.client, officer, meta, data))
    for _ in range(100):  # the records travel through the outbox relay
        listed = await embedded.client.get(
            "/api/v1/records", params={"activity_id": activity_id}, headers=office
        )
        if listed.json()["total"] == len(files):
            break
        await asyncio.sleep(0.1)
    ended = await embedded.client.post(
        f"/api/v1/activities/{activity_id}/end",
        json={"ended_at": (start + timedelta(hours=1)).isoformat()},
        headers=head,
    )
    assert ended.status_code == 200, ended.text
    return {
        "office": office,
        "head": head,
        "enterprise": enterprise,
        "activity_id": activity_id,
        "record_ids": record_ids,
        "files": [data for _, data in files],
        "start": start,
    }


@pytest.mark.req("C-2")
@pytest.mark.req("C-3")
@pytest.mark.req("B-7")
@pytest.mark.req("C-4")
async def test_an_activity_is_archived_only_when_its_recordings_say_what_they_prove(
    embedded: Embedded, token: TokenFactory
) -> None:
    bureau = await archived_enterprise(embedded, token)
    head, activity_id = bureau["head"], bureau["activity_id"]
    first = bureau["record_ids"][0]

    refused = await embedded.client.post(f"/api/v1/activities/{activity_id}/archive", headers=head)
    assert (refused.status_code, refused.json()["error"]) == (409, "archival_fields_missing")
    assert sorted(refused.json()["record_ids"]) == sorted(bureau["record_ids"])
    assert "证明内容" in refused.json()["message_zh"]

    for record_id in bureau["record_ids"]:
        described = await embedded.client.put(
            f"/api/v1/records/{record_id}/archival",
            json={"proves": "证明查封现场经过", "secrecy": "internal"},
            headers=head,
        )
        assert described.status_code == 200, described.text
    archived = await embedded.client.post(f"/api/v1/activities/{activity_id}/archive", headers=head)

    assert (archived.status_code, archived.json()["status_label"]) == (200, "已归档")
    record = (await embedded.client.get(f"/api/v1/records/{first}", headers=head)).json()
    # C-4: the section, the producer and the production time are filled in on archiving.
    assert (record["handling_section"], record["producer"], record["proves"]) == (
        "JC1",
        "officer-7",
        "证明查封现场经过",
    )
    assert record["production_time"] == record["captured_at"]
    again = await embedded.client.put(
        f"/api/v1/records/{first}/archival", json={"proves": "改写"}, headers=head
    )
    assert (again.status_code, again.json()["error"]) == (409, "record_archived")
    changed = await embedded.client.put(
        f"/api/v1/activities/{activity_id}",
        headers=head,
        json={
            "kind": "coercion",
            "type": "sealing_seizure",
            "matter": "改",
            "section": "JC1",
            "officers": ["officer-7"],
            "started_at": bureau["start"].isoformat(),
        },
    )
    assert (changed.status_code, changed.json()["error"]) == (409, "activity_archived")
    year = bureau["start"].year
    catalogue = (
        await embedded.client.get("/api/v1/archive", params={"year": year}, headers=head)
    ).json()
    assert [(g["year"], g["matter"]) for g in catalogue] == [(year, "查封扣押")]
    assert [(e["matter"], e["records"]) for e in catalogue[0]["activities"]] == [
        ("查封危险化学品仓库", 3)
    ]
    dossier = (
        await embedded.client.get(f"/api/v1/activities/{activity_id}/dossier", headers=head)
    ).json()
    assert [r["record_id"] for r in dossier["records"]] == bureau["record_ids"]
    assert dossier["activity"]["status"] == "archived"


async def _describe_and_archive(embedded: Embedded, bureau: dict[str, Any]) -> None:
    for record_id in bureau["record_ids"]:
        described = await embedded.client.put(
            f"/api/v1/records/{record_id}/archival",
            json={"proves": "证明查封现场经过"},
            headers=bureau["head"],
        )
        assert described.status_code == 200, described.text
    archived = await embedded.client.post(
        f"/api/v1/activities/{bureau['activity_id']}/archive", headers=bureau["head"]
    )
    assert archived.status_code == 200, archived.text


@pytest.mark.req("E-17")
async def test_an_enterprise_archive_is_a_valid_bag_whose_detail_table_matches_the_catalog(
    embedded: Embedded, token: TokenFactory, tmp_path: Path
) -> None:
    bureau = await archived_enterprise(embedded, token)
    await _describe_and_archive(embedded, bureau)
    archivist = embedded.auth(token("archivist-1", Role.ARCHIVIST))

    response = await embedded.client.get(
        f"/api/v1/enterprises/{bureau['enterprise']['id']}/archive", headers=archivist
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path / "received")
    (bag_dir,) = (tmp_path / "received").iterdir()
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # raises BagValidationError on any missing, extra or altered file
    assert bag.info["Source-Organization"] == "应急管理局"
    assert bag.info["Contact-Name"] == "archivist-1"

    # 企业名称 / 时间 / 事项, and the detail table at the payload's root.
    day = bureau["start"].astimezone(ZONE).strftime("%Y-%m-%d")
    folder = f"{ENTERPRISE['name']}/{day}/查封危险化学品仓库"
    with (bag_dir / "data" / "存储信息明细表.csv").open(encoding="utf-8-sig") as table:
        rows = list(csv.DictReader(table))
    paths = [row["文件路径"] for row in rows]
    assert paths[0] == f"{folder}/查封.mp4"
    assert paths[1].startswith(f"{folder}/")
    assert paths[1].endswith("_查封.mp4")  # the second of two alike, kept apart
    assert paths[2] == f"{folder}/询问笔录.jpg"
    office = bureau["office"]
    for row, record_id, data in zip(rows, bureau["record_ids"], bureau["files"], strict=True):
        record = (await embedded.client.get(f"/api/v1/records/{record_id}", headers=office)).json()
        stored = (bag_dir / "data" / row["文件路径"]).read_bytes()
        assert stored == data
        assert (row["记录编号"], row["SHA-256"], int(row["大小（字节）"])) == (
            record["record_id"],
            record["sha256"],
            record["size"],
        )
        assert row["SHA-256"] == hashlib.sha256(data).hexdigest()
        assert (row["企业名称"], row["承办科室"], row["制作人"], row["证明内容"]) == (
            ENTERPRISE["name"],
            "JC1",
            "officer-7",
            "证明查封现场经过",
        )
        assert (row["案号"], row["执法活动类型"], row["密级"]) == (
            "穗应急罚〔2026〕12号",
            "查封扣押",
            "内部",
        )
    sheet = load_workbook(bag_dir / "data" / "存储信息明细表.xlsx", read_only=True).active
    assert sheet is not None
    xlsx = [[str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert xlsx[0] == list(rows[0].keys())
    assert [r[1] for r in xlsx[1:]] == paths

    by_case = await embedded.client.get(
        "/api/v1/cases/穗应急罚〔2026〕12号/archive", headers=archivist
    )
    assert by_case.status_code == 200
    with zipfile.ZipFile(io.BytesIO(by_case.content)) as archive:
        names = archive.namelist()
    assert sum(n.endswith(".mp4") or n.endswith(".jpg") for n in names) == 3


async def test_only_archivists_and_the_office_export_and_an_altered_recording_stops_the_export(
    embedded: Embedded, token: TokenFactory
) -> None:
    bureau = await archived_enterprise(embedded, token)
    url = f"/api/v1/enterprises/{bureau['enterprise']['id']}/archive"
    refused = await embedded.client.get(url, headers=bureau["head"])
    assert (refused.status_code, refused.json()["error"]) == (403, "not_archivist")
    assert "档案管理员" in refused.json()["message_zh"]
    missing = await embedded.client.get(
        "/api/v1/enterprises/00000000-0000-0000-0000-000000000000/archive",
        headers=bureau["office"],
    )
    assert missing.status_code == 404

    # Someone with access to the disk rewrites a stored original behind the platform's back.
    objects = embedded.settings.data_dir
    (victim,) = [
        p for p in objects.rglob("*") if p.is_file() and p.read_bytes() == bureau["files"][2]
    ]
    os.chmod(victim, stat.S_IWUSR | stat.S_IRUSR)
    victim.write_bytes(b"\xff\xd8 a forged record!!")

    with pytest.raises(AlteredObjectError, match=r"询问笔录\.jpg"):
        await embedded.client.get(url, headers=bureau["office"])


@pytest.mark.req("B-7")
async def test_closing_a_case_archives_all_its_activities_or_none(
    embedded: Embedded, token: TokenFactory
) -> None:
    bureau = await archived_enterprise(embedded, token)
    head, case = bureau["head"], "穗应急罚〔2026〕12号"
    hearing = await embedded.client.post(
        "/api/v1/activities",
        headers=head,
        json={
            "kind": "penalty",
            "type": "hearing",
            "matter": "听证",
            "case_number": case,
            "section": "JC1",
            "officers": ["officer-7"],
            "started_at": bureau["start"].isoformat(),
        },
    )
    assert hearing.status_code == 201, hearing.text
    for record_id in bureau["record_ids"]:
        described = await embedded.client.put(
            f"/api/v1/records/{record_id}/archival", json={"proves": "证明查封经过"}, headers=head
        )
        assert described.status_code == 200, described.text

    refused = await embedded.client.post(f"/api/v1/cases/{case}/archive", headers=head)
    sealing = await embedded.client.get(f"/api/v1/activities/{bureau['activity_id']}", headers=head)
    assert (refused.status_code, refused.json()["error"]) == (409, "activity_open")
    assert sealing.json()["status"] == "closed"  # nothing archived: all or none

    ended = await embedded.client.post(
        f"/api/v1/activities/{hearing.json()['id']}/end", json={}, headers=head
    )
    assert ended.status_code == 200, ended.text
    closed = await embedded.client.post(f"/api/v1/cases/{case}/archive", headers=head)
    dossier = await embedded.client.get(f"/api/v1/cases/{case}/dossier", headers=head)

    assert closed.status_code == 200, closed.text
    assert [a["status"] for a in closed.json()] == ["archived", "archived"]
    assert sorted(len(d["records"]) for d in dossier.json()) == [0, 3]
    unknown = await embedded.client.post("/api/v1/cases/无此案/archive", headers=head)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "case_not_found")
