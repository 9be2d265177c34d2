"""A record above the caller's clearance shows on no read path: not in searches and lists, not in
compliance, dossiers, statistics or an enterprise's file, and not in an archive export; whoever
is cleared for it sees it on every one (B-11, D-19, E-12)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from quancheng.common.auth import Clearance, Role
from quancheng.common.events import RecordingIngested, encode
from quancheng.common.service import ServiceState
from quancheng.common.testing.kit import TokenFactory, auth

Headers = dict[str, str]
DAY = datetime(2026, 11, 23, tzinfo=UTC)
MORNING = DAY.replace(hour=9)
CASE = "JC1-2026-9"
ENTERPRISE = {"name": "华南化工（广州）有限公司", "credit_code": "91350100M000100Y43"}
# When the secret recording of the first sealing ran, in UTC and as the export writes it
# (Asia/Shanghai): odd seconds that no other time of the bureau has.
SECRET_TIMES = (
    "2026-11-23T09:17:23",
    "2026-11-23T09:19:41",
    "2026-11-23T17:17:23",
    "2026-11-23T17:19:41",
)


@dataclass(frozen=True)
class Bureau:
    """Two ended sealings of JC1 under one case and enterprise: the first recorded on an open
    camera and, for a while, on a secret one whose file breaks two rules; the second only on a
    secret camera, without fault. And a secret recording tied to no activity."""

    enterprise_id: str
    first: str
    second: str
    open_record: str
    secret_record: str  # the first sealing's
    covering: str  # the second sealing's
    classified: tuple[str, ...]  # every secret recording's id, device and officer, and when


async def record(
    catalog: FastAPI,
    *,
    filename: str,
    device: str,
    officer: str,
    activity: str | None,
    at: datetime,
    until: datetime,
    informed: bool = True,
    late: bool = False,
) -> str:
    """A recording of JC1 as ingest announces it, its bytes in the object store."""
    state: ServiceState = catalog.state.service
    data = f"{filename} {device} {at.isoformat()}".encode()
    key = f"sections/JC1/originals/{hashlib.sha256(data).hexdigest()}"
    await state.platform.store.put(key, data, retain_until=None)
    event = RecordingIngested(
        record_id=uuid4(),
        upload_id=uuid4().hex,
        object_key=key,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        filename=filename,
        kind="video",
        device_id=device,
        officer_id=officer,
        activity_id=activity,
        section="JC1",
        captured_at=at,
        captured_until=until,
        deadline_missed=late,
        party_informed=informed,
    )
    await state.consumers.handle(encode(event, {}))
    return str(event.record_id)


async def sealing(client: httpx.AsyncClient, office: Headers, start: datetime, **extra: Any) -> str:
    body = {
        "kind": "coercion",
        "type": "sealing_seizure",  # recording is mandatory
        "matter": "查封危险化学品仓库",
        "section": "JC1",
        "officers": ["officer-7"],
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(hours=1)).isoformat(),
        **extra,
    }
    created = await client.post("/api/v1/activities", json=body, headers=office)
    assert created.status_code == 201, created.text
    activity_id: str = created.json()["id"]
    return activity_id


async def describe(
    client: httpx.AsyncClient, office: Headers, record_id: str, **fields: Any
) -> None:
    described = await client.put(
        f"/api/v1/records/{record_id}/archival", json=fields, headers=office
    )
    assert described.status_code == 200, described.text


@pytest.fixture
def cleared(token: TokenFactory) -> Headers:
    """The office, cleared for secret: it sets the bureau up, and is the control."""
    return auth(token, "office-1", Role.OFFICE, clearance=Clearance.SECRET)


@pytest.fixture
async def bureau(app: FastAPI, client: httpx.AsyncClient, cleared: Headers) -> Bureau:
    enterprise = await client.post("/api/v1/enterprises", json=ENTERPRISE, headers=cleared)
    assert enterprise.status_code == 201, enterprise.text
    enterprise_id = enterprise.json()["id"]
    on_file = {"case_number": CASE, "enterprise_id": enterprise_id}
    first = await sealing(client, cleared, MORNING, **on_file)
    second = await sealing(client, cleared, MORNING + timedelta(hours=2), **on_file)
    open_record = await record(
        app,
        filename="现场.mp4",
        device="dev-open",
        officer="officer-7",
        activity=first,
        at=MORNING,
        until=MORNING + timedelta(hours=1),
    )
    secret_record = await record(
        app,
        filename="涉密现场.mp4",
        device="BC-S-0042",
        officer="officer-42",
        activity=first,
        at=MORNING + timedelta(minutes=17, seconds=23),
        until=MORNING + timedelta(minutes=19, seconds=41),
        informed=False,
        late=True,
    )
    covering = await record(
        app,
        filename="涉密全程.mp4",
        device="BC-S-0043",
        officer="officer-43",
        activity=second,
        at=MORNING + timedelta(hours=2),
        until=MORNING + timedelta(hours=3),
    )
    unassigned = await record(
        app,
        filename="涉密未关联.mp4",
        device="BC-S-0077",
        officer="officer-77",
        activity=None,
        at=MORNING + timedelta(hours=5, minutes=41, seconds=7),
        until=MORNING + timedelta(hours=5, minutes=50),
    )
    for record_id in (secret_record, covering, unassigned):
        await describe(client, cleared, record_id, secrecy="secret")
    return Bureau(
        enterprise_id=enterprise_id,
        first=first,
        second=second,
        open_record=open_record,
        secret_record=secret_record,
        covering=covering,
        classified=(
            secret_record,
            covering,
            unassigned,
            "BC-S-0042",
            "BC-S-0043",
            "BC-S-0077",
            "officer-42",
            "officer-43",
            "officer-77",
            "2026-11-23T14:41:07",
            *SECRET_TIMES,
        ),
    )


async def archive_the_case(client: httpx.AsyncClient, cleared: Headers, b: Bureau) -> None:
    for record_id in (b.secret_record, b.covering):
        await describe(client, cleared, record_id, proves="证明查封现场经过", secrecy="secret")
    await describe(client, cleared, b.open_record, proves="证明查封现场经过")
    archived = await client.post(f"/api/v1/cases/{CASE}/archive", headers=cleared)
    assert archived.status_code == 200, archived.text


PERIOD = {"started_from": DAY.isoformat(), "started_to": (DAY + timedelta(days=1)).isoformat()}


def read_paths(b: Bureau) -> list[tuple[str, dict[str, Any], bool]]:
    """Every read that shows records or what they hold: the path, its query, and whether it
    names the secret recording of the first sealing to a caller cleared for it."""
    return [
        ("/api/v1/records", {}, True),
        ("/api/v1/records", {"q": "涉密"}, True),
        ("/api/v1/records", {"activity_id": b.first}, True),
        ("/api/v1/records", {"device_id": "BC-S-0042"}, True),
        ("/api/v1/records", {"unassigned": "true"}, False),
        (f"/api/v1/records/{b.secret_record}", {}, True),
        (f"/api/v1/activities/{b.first}/compliance", {}, True),
        (f"/api/v1/activities/{b.second}/compliance", {}, False),
        ("/api/v1/compliance", PERIOD, True),
        ("/api/v1/compliance", {**PERIOD, "section": "JC1"}, True),
        (f"/api/v1/activities/{b.first}/dossier", {}, True),
        (f"/api/v1/activities/{b.second}/dossier", {}, False),
        (f"/api/v1/cases/{CASE}/dossier", {}, True),
        ("/api/v1/statistics", PERIOD, False),
        ("/api/v1/statistics", {**PERIOD, "group_by": "officer"}, False),
        ("/api/v1/archive", {"year": 2026}, False),
        (f"/api/v1/enterprises/{b.enterprise_id}/file", {}, False),
        (f"/api/v1/enterprises/{b.enterprise_id}/archive", {}, True),
        (f"/api/v1/cases/{CASE}/archive", {}, True),
    ]


def unpacked(data: bytes) -> bytes:
    """Every byte of a zip and of the zips in it (an XLSX is one), names included."""
    parts = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            body = archive.read(info)
            inner = zipfile.is_zipfile(io.BytesIO(body))
            parts += [info.filename.encode(), unpacked(body) if inner else body]
    return b"\n".join(parts)


async def body_of(
    client: httpx.AsyncClient, path: str, query: dict[str, Any], who: Headers
) -> tuple[httpx.Response, bytes]:
    """The response, and the bytes to search: the JSON text, or what the exported zip holds."""
    response = await client.get(path, params=query, headers=who)
    if response.headers["content-type"] == "application/zip":
        return response, unpacked(response.content)
    return response, response.content


@pytest.mark.req("B-11")
@pytest.mark.req("D-19")
@pytest.mark.req("E-12")
@pytest.mark.parametrize("caller", ["supervisor_and_archivist", "section_head"])
async def test_a_record_above_the_callers_clearance_shows_on_no_read_path(
    client: httpx.AsyncClient, token: TokenFactory, cleared: Headers, bureau: Bureau, caller: str
) -> None:
    await archive_the_case(client, cleared, bureau)
    if caller == "section_head":
        internal = auth(token, "head-1", Role.SECTION_HEAD, section="JC1")
    else:
        internal = auth(token, "supervisor-1", Role.SUPERVISOR, Role.ARCHIVIST)
    # Heads don't export at all; an archivist can't export an archive with a secret recording.
    export = (403, "not_archivist" if caller == "section_head" else "clearance_too_low")
    refusals = {
        f"/api/v1/records/{bureau.secret_record}": (404, "record_not_found"),
        f"/api/v1/enterprises/{bureau.enterprise_id}/archive": export,
        f"/api/v1/cases/{CASE}/archive": export,
    }

    for path, query, names_it in read_paths(bureau):
        response, body = await body_of(client, path, query, internal)
        refusal = refusals.get(path)
        if refusal is None:
            assert response.status_code == 200, (path, response.text)
        else:
            assert (response.status_code, response.json()["error"]) == refusal, path
        for secret in bureau.classified:
            assert secret.encode() not in body, f"{path} {query} shows {secret}"

        control, shown = await body_of(client, path, query, cleared)
        assert control.status_code == 200, (path, control.text)
        assert (bureau.secret_record.encode() in shown) is names_it, (path, query)


@pytest.mark.req("B-11")
@pytest.mark.req("B-12")
async def test_compliance_is_judged_on_every_recording_but_names_only_those_the_caller_may_see(
    client: httpx.AsyncClient, token: TokenFactory, cleared: Headers, bureau: Bureau
) -> None:
    supervisor = auth(token, "supervisor-1", Role.SUPERVISOR)

    async def get(path: str, who: Headers, **query: Any) -> Any:
        response = await client.get(path, params=query, headers=who)
        assert response.status_code == 200, response.text
        return response.json()

    first = f"/api/v1/activities/{bureau.first}/compliance"
    second = f"/api/v1/activities/{bureau.second}/compliance"

    def verdict(answer: dict[str, Any]) -> tuple[Any, ...]:
        findings = [f["code"] for f in answer["findings"]]
        return (
            answer["compliant"],
            findings,
            answer["withheld_records"],
            answer["withheld_findings"],
        )

    # The secret file broke two rules: the supervisor learns the sealing is not compliant, and
    # that what says why is above their clearance, not which file it is.
    assert verdict(await get(first, supervisor)) == (False, [], 1, 2)
    assert verdict(await get(first, cleared)) == (
        False,
        ["late_upload", "party_not_informed"],
        0,
        0,
    )
    # Recorded throughout, on a secret camera: compliant, not "no recording".
    assert verdict(await get(second, supervisor)) == (True, [], 1, 0)
    assert verdict(await get(second, cleared)) == (True, [], 0, 0)
    dossier = await get(f"/api/v1/activities/{bureau.first}/dossier", supervisor)
    assert [r["record_id"] for r in dossier["records"]] == [bureau.open_record]
    assert verdict(dossier["compliance"]) == (False, [], 1, 2)

    seen = await get("/api/v1/compliance", supervisor, **PERIOD)
    full = await get("/api/v1/compliance", cleared, **PERIOD)
    for report in (seen, full):
        assert (report["activities"], report["compliant_activities"], report["rate"]) == (2, 1, 0.5)
    assert (seen["counts"], seen["withheld_records"], seen["withheld_findings"]) == ({}, 2, 2)
    assert full["counts"] == {"late_upload": 1, "party_not_informed": 1, "unassigned": 1}
    assert (full["withheld_records"], full["withheld_findings"]) == (0, 0)

    # Statistics and the enterprise's file count only what the caller may see; the compliance
    # rate is the same for everyone.
    def figures(statistics: dict[str, Any]) -> tuple[Any, ...]:
        total = statistics["total"]
        return total["activities"], total["records"], total["compliance_rate"]

    assert figures(await get("/api/v1/statistics", supervisor, **PERIOD)) == (2, 1, 0.5)
    assert figures(await get("/api/v1/statistics", cleared, **PERIOD)) == (2, 3, 0.5)
    enterprise_file = f"/api/v1/enterprises/{bureau.enterprise_id}/file"
    assert (await get(enterprise_file, supervisor))["records"] == 1
    assert (await get(enterprise_file, cleared))["records"] == 3


@pytest.mark.req("B-11")
async def test_archiving_and_the_archive_count_only_name_what_the_caller_may_see(
    client: httpx.AsyncClient, token: TokenFactory, cleared: Headers, bureau: Bureau
) -> None:
    archivist = auth(token, "archivist-1", Role.ARCHIVIST)

    refused = await client.post(f"/api/v1/activities/{bureau.first}/archive", headers=archivist)

    # Neither file says what it proves: both are counted, only the open one is named.
    assert (refused.status_code, refused.json()["error"]) == (409, "archival_fields_missing")
    assert refused.json()["record_ids"] == [bureau.open_record]
    assert refused.json()["message"].startswith("2 recording(s)")
    assert bureau.secret_record not in refused.text

    await archive_the_case(client, cleared, bureau)
    exported = await client.get(f"/api/v1/cases/{CASE}/archive", headers=archivist)
    assert (exported.status_code, exported.json()["error"]) == (403, "clearance_too_low")
    for who, counts in ((archivist, [1, 0]), (cleared, [2, 1])):
        year = await client.get("/api/v1/archive", params={"year": 2026}, headers=who)
        assert year.status_code == 200, year.text
        (group,) = year.json()
        by_start = sorted(group["activities"], key=lambda entry: entry["started_at"])
        assert [entry["records"] for entry in by_start] == counts


@pytest.mark.req("B-11")
@pytest.mark.req("C-4")
async def test_describing_a_record_without_its_secrecy_keeps_the_secrecy(
    client: httpx.AsyncClient, cleared: Headers, bureau: Bureau
) -> None:
    path = f"/api/v1/records/{bureau.secret_record}/archival"

    described = await client.put(path, json={"proves": "封存现场"}, headers=cleared)
    assert described.status_code == 200, described.text
    assert (described.json()["secrecy"], described.json()["proves"]) == ("secret", "封存现场")

    nulled = await client.put(path, json={"secrecy": None, "producer": "陈静"}, headers=cleared)
    assert nulled.status_code == 200, nulled.text
    kept = nulled.json()
    assert (kept["secrecy"], kept["proves"], kept["producer"]) == ("secret", "封存现场", "陈静")
    read = await client.get(f"/api/v1/records/{bureau.secret_record}", headers=cleared)
    assert read.json()["secrecy"] == "secret"
