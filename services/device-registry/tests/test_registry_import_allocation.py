"""The office's bulk import (A-6a) and the allocation report (A-7), through the registry on its
own. The sample bureau is ``fixtures/sample-bureau.xlsx``; the shortfalls it should show are
written out below as literal numbers (see ``fixtures/README.md``)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import Workbook

from quancheng.common.auth import Role
from quancheng.common.testing.kit import TokenFactory, bearer, client_of

IMPORTS = "/api/v1/imports"
ALLOCATION = "/api/v1/allocation"
SECTIONS = "/api/v1/sections"
OFFICERS = "/api/v1/officers"
DEVICES = "/api/v1/devices"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAMPLE_BUREAU = Path(__file__).parent / "fixtures" / "sample-bureau.xlsx"

KINDS = ("body_camera", "camera", "voice_recorder", "camcorder")
KIND_LABELS = {
    "body_camera": "执法记录仪",
    "camera": "照相机",
    "voice_recorder": "录音笔",
    "camcorder": "摄像机",
}
# What the sample bureau should show: per section, per kind (required, in service, shortfall).
# JC1 has 2 frontline officers on duty (a third is off duty) and no camcorder; JC2 has one
# frontline officer without a body camera, no voice recorder and a spare camera (which does not
# make up for anything elsewhere); ZD has 3 frontline officers and 2 body cameras; BGS owes
# nothing and holds a camera and a voice recorder.
EXPECTED_SECTIONS: dict[str, dict[str, Any]] = {
    "BGS": {
        "name": "办公室",
        "supervisory": False,
        "frontline_officers": 0,
        "lines": {
            "body_camera": (0, 0, 0),
            "camera": (0, 1, 0),
            "voice_recorder": (0, 1, 0),
            "camcorder": (0, 0, 0),
        },
        "shortfall": 0,
    },
    "JC1": {
        "name": "监管一科",
        "supervisory": True,
        "frontline_officers": 2,
        "lines": {
            "body_camera": (2, 2, 0),
            "camera": (1, 1, 0),
            "voice_recorder": (1, 1, 0),
            "camcorder": (1, 0, 1),
        },
        "shortfall": 1,
    },
    "JC2": {
        "name": "监管二科",
        "supervisory": True,
        "frontline_officers": 1,
        "lines": {
            "body_camera": (1, 0, 1),
            "camera": (1, 2, 0),
            "voice_recorder": (1, 0, 1),
            "camcorder": (1, 1, 0),
        },
        "shortfall": 2,
    },
    "ZD": {
        "name": "执法大队",
        "supervisory": False,
        "frontline_officers": 3,
        "lines": {
            "body_camera": (3, 2, 1),
            "camera": (0, 1, 0),
            "voice_recorder": (0, 0, 0),
            "camcorder": (0, 0, 0),
        },
        "shortfall": 1,
    },
}
EXPECTED_TOTALS: dict[str, tuple[int, int, int]] = {
    "body_camera": (6, 4, 2),
    "camera": (2, 5, 0),
    "voice_recorder": (2, 2, 1),
    "camcorder": (2, 1, 1),
}


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an empty registry: each test imports the bureau it needs."""
    async with client_of(app) as client:
        yield client


def sample_bureau() -> bytes:
    return SAMPLE_BUREAU.read_bytes()


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    """An XLSX file with one sheet per entry, the first list being the header row."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def import_file(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    body: bytes,
    *,
    content_type: str = XLSX,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        IMPORTS,
        content=body,
        params=params or {},
        headers={**headers, "Content-Type": content_type},
    )


async def import_sample_bureau(client: httpx.AsyncClient, office: dict[str, str]) -> None:
    response = await import_file(client, office, sample_bureau())
    assert response.status_code == 200, response.text


async def allocation(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(ALLOCATION, headers=headers)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def lines_of(entry: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """A section's (or the totals') lines as kind → (required, in service, shortfall), after
    checking each line carries its kind's Chinese label."""
    lines: list[dict[str, Any]] = entry["lines"] if "lines" in entry else entry["totals"]
    for line in lines:
        assert line["kind_label"] == KIND_LABELS[line["kind"]]
    assert [line["kind"] for line in lines] == list(KINDS)
    return {
        line["kind"]: (line["required"], line["in_service"], line["shortfall"]) for line in lines
    }


def sections_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        s["code"]: {
            "name": s["name"],
            "supervisory": s["supervisory"],
            "frontline_officers": s["frontline_officers"],
            "lines": lines_of(s),
            "shortfall": s["shortfall"],
        }
        for s in report["sections"]
    }


async def everything(client: httpx.AsyncClient, office: dict[str, str]) -> dict[str, Any]:
    """What the office sees of the registry: section codes, officer ids, device serials."""
    sections = (await client.get(SECTIONS, headers=office)).json()["items"]
    officers = (await client.get(OFFICERS, params={"limit": 500}, headers=office)).json()
    devices = (await client.get(DEVICES, params={"limit": 500}, headers=office)).json()
    return {
        "sections": sorted(s["code"] for s in sections),
        "officers": sorted(o["id"] for o in officers["items"]),
        "officers_total": officers["total"],
        "devices": sorted(d["serial_number"] for d in devices["items"]),
        "devices_total": devices["total"],
    }


NOTHING: dict[str, Any] = {
    "sections": [],
    "officers": [],
    "officers_total": 0,
    "devices": [],
    "devices_total": 0,
}


async def device_ids(client: httpx.AsyncClient, office: dict[str, str]) -> dict[str, str]:
    response = await client.get(DEVICES, params={"limit": 500}, headers=office)
    assert response.status_code == 200, response.text
    return {d["serial_number"]: d["id"] for d in response.json()["items"]}


async def move(
    client: httpx.AsyncClient, office: dict[str, str], device_id: str, *targets: str
) -> None:
    for target in targets:
        response = await client.post(
            f"{DEVICES}/{device_id}/transitions", json={"to": target}, headers=office
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target


def counted(report: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """An import's answer as (created, updated, unchanged) for each sheet it had."""
    return {
        sheet: (c["created"], c["updated"], c["unchanged"])
        for sheet, c in report.items()
        if isinstance(c, dict)
    }


# --- the sample bureau ------------------------------------------------------------------------


@pytest.mark.req("A-6a")
async def test_the_sample_bureau_workbook_imports_in_one_request(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    response = await import_file(client, office, sample_bureau())

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["dry_run"] is False
    assert counted(report) == {"sections": (4, 0, 0), "officers": (11, 0, 0), "devices": (12, 0, 0)}
    sections = {s["code"]: s for s in (await client.get(SECTIONS, headers=office)).json()["items"]}
    # The answer names what was made: no paging to find the bureau's ids.
    assert report["sections"]["created_ids"] == ["JC1", "JC2", "ZD", "BGS"]
    assert report["sections"]["updated_ids"] == []
    listed_officers = (await client.get(OFFICERS, params={"limit": 500}, headers=office)).json()
    assert sorted(report["officers"]["created_ids"]) == sorted(
        o["id"] for o in listed_officers["items"]
    )
    listed_devices = (await client.get(DEVICES, params={"limit": 500}, headers=office)).json()
    assert sorted(report["devices"]["created_ids"]) == sorted(
        d["id"] for d in listed_devices["items"]
    )
    assert {
        code: (s["name"], s["supervisory"], s["head_officer_id"], s["custodian_officer_id"])
        for code, s in sections.items()
    } == {
        "BGS": ("办公室", False, None, "bgs-chen"),
        "JC1": ("监管一科", True, "jc1-zhao", "jc1-qian"),
        "JC2": ("监管二科", True, "jc2-zhou", None),
        "ZD": ("执法大队", False, "zd-wu", "zd-zheng"),
    }
    officers = (await client.get(OFFICERS, params={"limit": 500}, headers=office)).json()
    assert officers["total"] == 11
    by_id = {o["id"]: o for o in officers["items"]}
    assert (by_id["jc1-li"]["frontline"], by_id["jc1-li"]["active"]) == (True, False)
    assert (by_id["zd-wang"]["frontline"], by_id["zd-wang"]["active"]) == (True, True)
    assert (by_id["jc1-qian"]["certificate_number"], by_id["jc1-qian"]["frontline"]) == (
        None,
        False,
    )
    assert (by_id["jc1-zhao"]["name"], by_id["jc1-zhao"]["certificate_number"]) == (
        "赵强",
        "44020001",
    )
    devices = (await client.get(DEVICES, params={"limit": 500}, headers=office)).json()
    by_serial = {d["serial_number"]: d for d in devices["items"]}
    assert devices["total"] == 12
    # A serial number Excel kept as a number comes in as the digits the office typed.
    assert "20240302" in by_serial
    assert (by_serial["BC-102"]["kind"], by_serial["BC-102"]["explosion_proof"]) == (
        "body_camera",
        True,
    )
    assert (by_serial["CC-201"]["kind_label"], by_serial["CC-201"]["asset_number"]) == (
        "摄像机",
        "ZC-2024-007",
    )
    assert (by_serial["VR-401"]["kind"], by_serial["VR-401"]["section"]) == (
        "voice_recorder",
        "BGS",
    )
    assert {d["status"] for d in devices["items"]} == {"registered"}


@pytest.mark.req("A-7")
async def test_the_allocation_report_shows_the_sample_bureaus_shortfall(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)

    report = await allocation(client, office)

    assert [s["code"] for s in report["sections"]] == ["BGS", "JC1", "JC2", "ZD"]
    assert sections_of(report) == EXPECTED_SECTIONS
    assert lines_of(report) == EXPECTED_TOTALS
    assert report["generated_at"]


@pytest.mark.req("A-7")
async def test_losing_or_retiring_a_device_widens_the_shortfall_but_maintenance_does_not(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    ids = await device_ids(client, office)

    await move(client, office, ids["BC-101"], "in_stock", "lost")
    await move(client, office, ids["CAM-101"], "retired")
    await move(client, office, ids["VR-101"], "in_stock", "in_maintenance")
    # JC2 has a spare camera: retiring one leaves it covered.
    await move(client, office, ids["CAM-202"], "in_stock", "retired")

    report = sections_of(await allocation(client, office))
    assert report["JC1"]["lines"] == {
        "body_camera": (2, 1, 1),
        "camera": (1, 0, 1),
        "voice_recorder": (1, 1, 0),
        "camcorder": (1, 0, 1),
    }
    assert report["JC1"]["shortfall"] == 3
    assert report["JC2"]["lines"]["camera"] == (1, 1, 0)
    assert report["JC2"]["shortfall"] == 2
    assert report["ZD"] == EXPECTED_SECTIONS["ZD"]
    assert report["BGS"] == EXPECTED_SECTIONS["BGS"]
    totals = lines_of(await allocation(client, office))
    assert totals == {
        "body_camera": (6, 3, 3),
        "camera": (2, 3, 1),
        "voice_recorder": (2, 2, 1),
        "camcorder": (2, 1, 1),
    }


@pytest.mark.req("A-7")
async def test_a_lost_device_found_again_counts_again(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    ids = await device_ids(client, office)
    await move(client, office, ids["BC-301"], "in_stock", "lost")
    assert sections_of(await allocation(client, office))["ZD"]["lines"]["body_camera"] == (3, 1, 2)

    await move(client, office, ids["BC-301"], "in_stock")

    assert sections_of(await allocation(client, office))["ZD"] == EXPECTED_SECTIONS["ZD"]


@pytest.mark.req("A-6a")
async def test_reimporting_the_same_workbook_changes_nothing(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    before = await everything(client, office)
    sections_before = (await client.get(SECTIONS, headers=office)).json()["items"]

    response = await import_file(client, office, sample_bureau())

    assert response.status_code == 200, response.text
    assert response.json()["dry_run"] is False
    assert counted(response.json()) == {
        "sections": (0, 0, 4),
        "officers": (0, 0, 11),
        "devices": (0, 0, 12),
    }
    assert all(not v["created_ids"] and not v["updated_ids"] for v in response.json().values() if v)
    assert await everything(client, office) == before
    assert (await client.get(SECTIONS, headers=office)).json()["items"] == sections_before
    report = await allocation(client, office)
    assert sections_of(report) == EXPECTED_SECTIONS
    assert lines_of(report) == EXPECTED_TOTALS


@pytest.mark.req("A-6a")
async def test_reimporting_an_edited_workbook_updates_sections_and_officers(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    # ZD becomes a supervisory section and jc1-li comes back on duty.
    sections_csv = "code,name,supervisory\nZD,执法大队,yes\nJC1,监管一科,yes\n"
    officers_csv = "id,name,certificate_number,section,frontline,active\n"
    officers_csv += "jc1-li,李刚,44020003,JC1,yes,yes\n"

    updated_sections = await import_file(
        client,
        office,
        sections_csv.encode(),
        content_type="text/csv",
        params={"kind": "sections"},
    )
    updated_officers = await import_file(
        client,
        office,
        officers_csv.encode(),
        content_type="text/csv",
        params={"kind": "officers"},
    )

    assert updated_sections.status_code == 200, updated_sections.text
    assert counted(updated_sections.json()) == {"sections": (0, 1, 1)}
    assert updated_sections.json()["sections"]["updated_ids"] == ["ZD"]
    assert updated_officers.status_code == 200, updated_officers.text
    assert counted(updated_officers.json()) == {"officers": (0, 1, 0)}
    assert updated_officers.json()["officers"]["updated_ids"] == ["jc1-li"]
    report = sections_of(await allocation(client, office))
    assert report["JC1"]["frontline_officers"] == 3
    assert report["JC1"]["lines"]["body_camera"] == (3, 2, 1)
    assert report["ZD"]["supervisory"] is True
    assert report["ZD"]["lines"] == {
        "body_camera": (3, 2, 1),
        "camera": (1, 1, 0),
        "voice_recorder": (1, 0, 1),
        "camcorder": (1, 0, 1),
    }
    assert report["ZD"]["shortfall"] == 3


# --- refused files ----------------------------------------------------------------------------

BAD_WORKBOOK: dict[str, list[list[Any]]] = {
    "科室": [
        ["科室代码", "科室名称", "监管科室"],
        ["NEW1", "新设一科", "是"],
        ["NEW2", "新设二科", "可能"],  # row 3: not 是/否
    ],
    "人员": [
        ["账号", "姓名", "执法证号", "科室代码", "一线执法"],
        ["p-1", "甲", "44990001", "NEW1", "是"],
        ["p-2", "乙", "44990002", "XX", "是"],  # row 3: no such section
        ["p-3", "丙", None, "NEW1", "是"],  # row 4: frontline without a certificate
        ["p-4", "丁", "44990004", "NEW1", "有"],  # row 5: not 是/否
    ],
    "设备": [
        ["设备类型", "序列号", "型号", "资产编号", "防爆", "所属科室"],
        ["执法记录仪", "SN-A", "DSJ-V9", None, "否", "NEW1"],
        ["执法记录仪", "SN-A", "DSJ-V9", None, "否", "NEW1"],  # row 3: serial twice
        ["对讲机", "SN-B", "T-1", None, "否", "NEW1"],  # row 4: not a recording device
        ["照相机", "SN-C", "EOS-R8", None, "否", "NOPE"],  # row 5: no such section
    ],
}


def where(errors: list[dict[str, Any]]) -> list[tuple[str, str, int, str | None]]:
    return [(e["sheet"], e["sheet_label"], e["row"], e["column"]) for e in errors]


@pytest.mark.req("A-6a")
async def test_a_workbook_with_bad_rows_is_refused_whole_with_each_row_named(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    response = await import_file(client, office, workbook(BAD_WORKBOOK))

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "import_rejected"
    assert body["message_zh"] == "发现 7 处问题，未导入任何数据"
    assert where(body["errors"]) == [
        ("sections", "科室", 3, "监管科室"),
        ("officers", "人员", 3, "科室代码"),
        ("officers", "人员", 4, "执法证号"),
        ("officers", "人员", 5, "一线执法"),
        ("devices", "设备", 3, "序列号"),
        ("devices", "设备", 4, "设备类型"),
        ("devices", "设备", 5, "所属科室"),
    ]
    for error in body["errors"]:
        assert error["message"]
        assert error["message_zh"]
    messages_zh = [e["message_zh"] for e in body["errors"]]
    assert "可能" in messages_zh[0]
    assert "XX" in messages_zh[1]
    assert "执法证号" in messages_zh[2]
    assert "第 2 行" in messages_zh[4]
    assert "对讲机" in messages_zh[5]
    assert "NOPE" in messages_zh[6]
    # The good rows before and between the bad ones were not kept either.
    assert await everything(client, office) == NOTHING
    assert (await allocation(client, office))["sections"] == []


@pytest.mark.req("A-6a")
async def test_a_bad_file_leaves_an_imported_bureau_as_it_was(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    before = await everything(client, office)
    rows = "账号,姓名,执法证号,科室代码,一线执法\n"
    rows += "jc2-new,新人,44029999,JC2,是\n"  # good, and would owe JC2 a second body camera
    rows += "zd-bad,坏行,,ZD,是\n"  # frontline without a certificate

    response = await import_file(
        client, office, rows.encode(), content_type="text/csv", params={"kind": "officers"}
    )

    assert response.status_code == 422, response.text
    assert where(response.json()["errors"]) == [("officers", "人员", 3, "执法证号")]
    assert await everything(client, office) == before
    assert sections_of(await allocation(client, office)) == EXPECTED_SECTIONS


@pytest.mark.req("A-6a")
async def test_an_unknown_column_is_refused_on_the_header_row(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    rows = "科室代码,科室名称,监管科室,联系电话\nJC1,监管一科,是,12345\n"

    response = await import_file(
        client, office, rows.encode(), content_type="text/csv", params={"kind": "sections"}
    )

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert where(errors) == [("sections", "科室", 1, "联系电话")]
    assert "联系电话" in errors[0]["message_zh"]
    assert await everything(client, office) == NOTHING


@pytest.mark.req("A-6a")
async def test_a_missing_required_column_is_refused_on_the_header_row(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    book = workbook({"设备": [["设备类型", "序列号", "所属科室"], ["照相机", "CAM-9", "JC1"]]})

    response = await import_file(client, office, book)

    assert response.status_code == 422, response.text
    assert where(response.json()["errors"]) == [("devices", "设备", 1, "型号")]


@pytest.mark.req("A-6a")
async def test_a_registered_device_whose_row_disagrees_is_refused_naming_the_model_column(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    rows = "设备类型,序列号,型号,资产编号,防爆,所属科室\n"
    rows += "照相机,CAM-999,EOS-R8,,否,JC1\n"  # new and fine
    rows += "执法记录仪,BC-101,DSJ-V10,ZC-2024-001,否,JC1\n"  # registered as a DSJ-V9

    response = await import_file(
        client, office, rows.encode(), content_type="text/csv", params={"kind": "devices"}
    )

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert where(errors) == [("devices", "设备", 3, "型号")]
    assert "BC-101" in errors[0]["message_zh"]
    ids = await device_ids(client, office)
    assert "CAM-999" not in ids
    fetched = (await client.get(f"{DEVICES}/{ids['BC-101']}", headers=office)).json()
    assert fetched["model"] == "DSJ-V9"


# --- dry run ----------------------------------------------------------------------------------


@pytest.mark.req("A-6a")
async def test_a_dry_run_reports_the_counts_and_keeps_nothing(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    response = await import_file(client, office, sample_bureau(), params={"dry_run": "true"})

    assert response.status_code == 200, response.text
    assert response.json()["dry_run"] is True
    assert counted(response.json()) == {
        "sections": (4, 0, 0),
        "officers": (11, 0, 0),
        "devices": (12, 0, 0),
    }
    # Sections and officers are named as they would be; devices get their ids only when kept.
    assert response.json()["sections"]["created_ids"] == ["JC1", "JC2", "ZD", "BGS"]
    assert response.json()["devices"]["created_ids"] == []
    assert await everything(client, office) == NOTHING
    assert (await allocation(client, office))["sections"] == []
    # The real import afterwards still creates everything.
    real = await import_file(client, office, sample_bureau())
    assert counted(real.json())["devices"] == (12, 0, 0)


@pytest.mark.req("A-6a")
async def test_a_dry_run_of_a_bad_file_reports_the_errors(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    response = await import_file(client, office, workbook(BAD_WORKBOOK), params={"dry_run": "true"})

    assert response.status_code == 422, response.text
    assert len(response.json()["errors"]) == 7
    assert await everything(client, office) == NOTHING


# --- file formats and callers -----------------------------------------------------------------


@pytest.mark.req("A-6a")
async def test_a_gb18030_csv_with_chinese_headers_imports(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    """What Excel on a Chinese Windows saves as "CSV (逗号分隔)"."""
    sections = "科室代码,科室名称,监管科室\r\nJC1,监管一科,是\r\nZD,执法大队,否\r\n"
    officers = "账号,姓名,执法证号,科室代码,一线执法,在岗\r\nzd-wu,吴军,44020007,ZD,是,是\r\n"
    body = sections.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # the test really sends GB18030, not UTF-8

    first = await import_file(
        client, office, body, content_type="text/csv", params={"kind": "sections"}
    )
    second = await import_file(
        client,
        office,
        officers.encode("gb18030"),
        content_type="text/csv; charset=gb18030",
        params={"kind": "officers"},
    )

    assert first.status_code == 200, first.text
    assert (first.json()["officers"], first.json()["devices"]) == (None, None)
    assert counted(first.json()) == {"sections": (2, 0, 0)}
    assert second.status_code == 200, second.text
    assert counted(second.json()) == {"officers": (1, 0, 0)}
    listed = (await client.get(SECTIONS, headers=office)).json()["items"]
    assert [(s["code"], s["name"], s["supervisory"]) for s in listed] == [
        ("JC1", "监管一科", True),
        ("ZD", "执法大队", False),
    ]
    officer = (await client.get(f"{OFFICERS}/zd-wu", headers=office)).json()
    assert (officer["name"], officer["section"], officer["frontline"]) == ("吴军", "ZD", True)


@pytest.mark.req("A-6a")
async def test_a_utf8_csv_with_a_byte_order_mark_imports(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    body = "科室代码,科室名称,监管科室\nJC1,监管一科,是\n".encode("utf-8-sig")

    response = await import_file(
        client, office, body, content_type="text/csv", params={"kind": "sections"}
    )

    assert response.status_code == 200, response.text
    listed = (await client.get(SECTIONS, headers=office)).json()["items"]
    assert [(s["code"], s["name"]) for s in listed] == [("JC1", "监管一科")]


@pytest.mark.req("A-6a")
async def test_a_csv_without_its_kind_is_refused(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    body = "科室代码,科室名称\nJC1,监管一科\n".encode()

    response = await import_file(client, office, body, content_type="text/csv")

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "unreadable_file"
    assert "kind" in response.json()["message"]
    assert await everything(client, office) == NOTHING


@pytest.mark.req("A-6a")
@pytest.mark.parametrize("content_type", ["application/json", "application/vnd.ms-excel"])
async def test_a_file_of_another_type_is_refused(
    client: httpx.AsyncClient, office: dict[str, str], content_type: str
) -> None:
    response = await import_file(client, office, sample_bureau(), content_type=content_type)

    assert response.status_code == 415, response.text
    assert response.json()["error"] == "unsupported_media_type"
    assert await everything(client, office) == NOTHING


@pytest.mark.req("A-6a")
async def test_garbage_sent_as_xlsx_is_unreadable(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    response = await import_file(client, office, b"\x00\x01not a workbook at all\xff" * 50)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "unreadable_file"
    assert response.json()["message_zh"] == "无法读取该 XLSX 文件"


@pytest.mark.req("A-6a")
async def test_a_workbook_without_a_known_sheet_needs_its_kind(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    book = workbook({"Sheet1": [["code", "name", "supervisory"], ["JC1", "监管一科", "yes"]]})

    without_kind = await import_file(client, office, book)
    with_kind = await import_file(client, office, book, params={"kind": "sections"})

    assert without_kind.status_code == 400, without_kind.text
    assert without_kind.json()["error"] == "unreadable_file"
    assert with_kind.status_code == 200, with_kind.text
    assert counted(with_kind.json())["sections"] == (1, 0, 0)
    listed = (await client.get(SECTIONS, headers=office)).json()["items"]
    assert [(s["code"], s["supervisory"]) for s in listed] == [("JC1", True)]


@pytest.mark.req("A-6a")
async def test_a_file_over_the_size_limit_is_refused(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    body = b"code,name\n" + b"X" * (20 * 1024 * 1024)

    response = await import_file(
        client, office, body, content_type="text/csv", params={"kind": "sections"}
    )

    assert response.status_code == 413, response.text
    assert response.json()["error"] == "file_too_large"


@pytest.mark.req("A-6a")
@pytest.mark.parametrize("role", [Role.SECTION_HEAD, Role.CUSTODIAN, Role.SUPERVISOR, Role.OFFICER])
async def test_only_the_office_may_import(
    client: httpx.AsyncClient,
    office: dict[str, str],
    token: TokenFactory,
    role: Role,
) -> None:
    caller = bearer(token("someone", role, section="JC1"))

    response = await import_file(client, caller, sample_bureau())

    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden"
    assert await everything(client, office) == NOTHING


# --- who sees the allocation report -----------------------------------------------------------


@pytest.mark.req("A-7")
@pytest.mark.parametrize(
    ("role", "section"),
    [(Role.SECTION_HEAD, "JC2"), (Role.CUSTODIAN, "ZD"), (Role.SECTION_HEAD, "JC1")],
)
async def test_a_section_head_or_custodian_sees_only_their_own_section(
    client: httpx.AsyncClient,
    office: dict[str, str],
    token: TokenFactory,
    role: Role,
    section: str,
) -> None:
    await import_sample_bureau(client, office)
    named = {"JC1": "jc1-zhao", "JC2": "jc2-zhou", "ZD": "zd-zheng"}  # as the workbook names them

    report = await allocation(client, bearer(token(named[section], role, section=section)))

    assert sections_of(report) == {section: EXPECTED_SECTIONS[section]}
    expected = EXPECTED_SECTIONS[section]["lines"]
    assert lines_of(report) == expected


@pytest.mark.req("A-7")
async def test_a_supervisor_sees_every_section(
    client: httpx.AsyncClient, office: dict[str, str], token: TokenFactory
) -> None:
    await import_sample_bureau(client, office)

    report = await allocation(client, bearer(token("inspector", Role.SUPERVISOR)))

    assert sections_of(report) == EXPECTED_SECTIONS
    assert lines_of(report) == EXPECTED_TOTALS


@pytest.mark.req("A-7")
@pytest.mark.parametrize(
    ("role", "section"),
    [(Role.OFFICER, "JC1"), (Role.OFFICER, None), (Role.SECTION_HEAD, None)],
    ids=["officer-of-a-section", "officer", "head-without-a-section"],
)
async def test_officers_may_not_see_the_allocation_report(
    client: httpx.AsyncClient,
    office: dict[str, str],
    token: TokenFactory,
    role: Role,
    section: str | None,
) -> None:
    await import_sample_bureau(client, office)

    response = await client.get(
        ALLOCATION, headers=bearer(token("jc1-zhao", role, section=section))
    )

    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden"


@pytest.mark.req("A-7")
async def test_the_allocation_report_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(ALLOCATION)

    assert response.status_code == 401


async def test_a_section_row_without_a_code_is_reported_not_a_server_error(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    book = workbook({"科室": [["科室代码", "科室名称", "负责人"], [None, "无代码科", "someone"]]})

    response = await import_file(client, office, book)

    assert response.status_code == 422, response.text
    assert where(response.json()["errors"]) == [("sections", "科室", 2, "科室代码")]


async def test_a_custodian_who_is_not_of_the_section_is_reported_in_the_custodian_column(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    book = workbook(
        {"科室": [["科室代码", "科室名称", "设备专管员"], ["JC1", "监管一科", "zd-wang"]]}
    )

    response = await import_file(client, office, book)

    assert response.status_code == 422, response.text
    assert where(response.json()["errors"]) == [("sections", "科室", 2, "设备专管员")]


async def test_a_sheet_without_the_supervisory_column_leaves_the_flag_alone(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    rows = "科室代码,科室名称\nJC1,监管一科\n"

    response = await import_file(
        client, office, rows.encode(), content_type="text/csv", params={"kind": "sections"}
    )

    assert response.status_code == 200, response.text
    assert counted(response.json())["sections"] == (0, 0, 1)
    assert sections_of(await allocation(client, office))["JC1"]["supervisory"] is True


async def test_a_new_head_or_custodian_alone_counts_as_an_update(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    sections = (await client.get(SECTIONS, headers=office)).json()["items"]
    jc1 = next(s for s in sections if s["code"] == "JC1")
    officers = (await client.get(f"{OFFICERS}?section=JC1", headers=office)).json()["items"]
    other = next(o["id"] for o in officers if o["active"] and o["id"] != jc1["head_officer_id"])
    book = workbook({"科室": [["科室代码", "科室名称", "负责人"], ["JC1", "监管一科", other]]})

    response = await import_file(client, office, book)

    assert response.status_code == 200, response.text
    assert counted(response.json())["sections"] == (0, 1, 0)
    sections = (await client.get(SECTIONS, headers=office)).json()["items"]
    assert next(s for s in sections if s["code"] == "JC1")["head_officer_id"] == other


async def test_an_officer_going_off_duty_while_heading_a_section_is_reported_at_the_duty_column(
    client: httpx.AsyncClient, office: dict[str, str]
) -> None:
    await import_sample_bureau(client, office)
    sections = (await client.get(SECTIONS, headers=office)).json()["items"]
    head = next(s["head_officer_id"] for s in sections if s["head_officer_id"])
    officer = (await client.get(f"{OFFICERS}/{head}", headers=office)).json()
    rows = (
        "账号,姓名,执法证号,科室代码,一线执法,在岗\n"
        f"{head},{officer['name']},{officer['certificate_number'] or ''},{officer['section']},"
        f"{'是' if officer['frontline'] else '否'},否\n"
    )

    response = await import_file(
        client, office, rows.encode(), content_type="text/csv", params={"kind": "officers"}
    )

    assert response.status_code == 422, response.text
    assert where(response.json()["errors"]) == [("officers", "人员", 2, "在岗")]
