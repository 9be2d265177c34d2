"""The access (调阅) workflow through the gateway, for each requester type: what each must
submit, who must approve, what the grant then reaches; refused when a document or the approval is
missing, when the grant has expired, when a record is above the requester's clearance, and when a
section head decides for another section's records (B-9, C-5..C-8, B-11, D-17, D-19, E-12)."""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from quancheng.access_gateway.main import grant_sweeper
from quancheng.access_gateway.service import access as access_service
from quancheng.common.auth import Role
from quancheng.common.testing.kit import (
    ACCESS_DOCUMENTS,
    ACCESS_REQUESTS,
    SCANNED_PDF,
    AccessBureau,
    Embedded,
    TokenFactory,
    ask_for,
    attach_document,
    decide_request,
    submitted_request,
    told_and_audited,
    told_payloads,
)


@pytest.mark.req("B-9")
@pytest.mark.req("C-6a")
async def test_the_handling_section_sees_its_own_records_at_once_still_registered(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    request = await submitted_request(embedded, bureau.officer8, ask_for(bureau.open1))

    assert request["requester_kind"] == "own_section"
    assert request["requester_kind_label"] == "承办科室"
    assert request["status"] == "active"
    assert request["approvals"] == []
    assert [t["to_status"] for t in request["transitions"]] == ["submitted", "approved", "active"]
    assert request["transitions"][1]["by"] == "officer-8"
    until = datetime.fromisoformat(request["valid_until"])
    since = datetime.fromisoformat(request["valid_from"])
    assert until - since == timedelta(days=7)
    assert [i["granted"] for i in request["items"]] == [True]
    events, actions = await told_and_audited(embedded, request["id"])
    assert events == ["access.requested", "access.granted", "access.activated"]
    assert actions == ["access.request", "access.approve", "access.activate"]

    # Its own records with private content still go to its head (D-19).
    private = await submitted_request(embedded, bureau.officer8, ask_for(bureau.flagged1))
    assert private["status"] == "submitted"
    assert [a["section"] for a in private["approvals"]] == ["JC1"]


@pytest.mark.req("C-6b")
async def test_another_section_needs_the_handling_heads_approval_and_no_one_elses(
    embedded: Embedded, bureau: AccessBureau, token: TokenFactory
) -> None:
    client = embedded.client
    request = await submitted_request(embedded, bureau.officer9, ask_for(bureau.open1))
    assert request["requester_kind"] == "other_section"
    assert request["status"] == "submitted"
    assert request["approvals"][0]["decision_label"] == "待审批"

    queue = await client.get(ACCESS_REQUESTS, params={"awaiting_me": True}, headers=bureau.head1)
    assert [r["id"] for r in queue.json()["items"]] == [request["id"]]
    other_queue = await client.get(
        ACCESS_REQUESTS, params={"awaiting_me": True}, headers=bureau.head2
    )
    assert other_queue.json()["items"] == []

    # The head of another section, and a token that only claims the role, are refused.
    refused = await decide_request(embedded, bureau.head2, request["id"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "not_the_head"
    assert "JC1" in refused.json()["message_zh"]
    pretender = embedded.auth(token("officer-8", Role.SECTION_HEAD, section="JC1"))
    assert (await decide_request(embedded, pretender, request["id"])).status_code == 403
    # The requester sees no grant before the approval.
    mine = await client.get(f"{ACCESS_REQUESTS}/{request['id']}", headers=bureau.officer9)
    assert mine.json()["status"] == "submitted"

    approved = await decide_request(embedded, bureau.head1, request["id"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.json()["approvals"][0]["decided_by"] == "head-1"
    again = await decide_request(embedded, bureau.head1, request["id"])
    assert again.status_code == 409
    after = await client.get(ACCESS_REQUESTS, params={"awaiting_me": True}, headers=bureau.head1)
    assert after.json()["items"] == []
    events, _ = await told_and_audited(embedded, request["id"])
    assert events == ["access.requested", "access.granted", "access.activated"]


@pytest.mark.req("C-6b")
async def test_a_request_spanning_two_sections_needs_both_heads(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    request = await submitted_request(embedded, bureau.office, ask_for(bureau.open1, bureau.open2))
    assert sorted(a["section"] for a in request["approvals"]) == ["JC1", "JC2"]

    first = await decide_request(embedded, bureau.head1, request["id"])
    assert first.json()["status"] == "submitted"
    second = await decide_request(embedded, bureau.head2, request["id"])
    assert second.json()["status"] == "active"
    assert second.json()["granted_count"] == 2

    rejected = await submitted_request(embedded, bureau.office, ask_for(bureau.open1, bureau.open2))
    await decide_request(embedded, bureau.head1, rejected["id"])
    no = await decide_request(embedded, bureau.head2, rejected["id"], "rejected")
    assert no.json()["status"] == "rejected"
    assert no.json()["granted_count"] == 0
    late = await decide_request(embedded, bureau.head1, rejected["id"])
    assert late.status_code == 409
    assert late.json()["error"] == "not_pending"
    events, _ = await told_and_audited(embedded, rejected["id"])
    assert events == ["access.requested", "access.rejected"]


@pytest.mark.req("C-5")
@pytest.mark.req("D-17")
async def test_a_counterparty_is_registered_and_needs_a_licence_or_id_and_the_approval(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    client = embedded.client
    counterparty = {
        "kind": "counterparty",
        "name": "张律师",
        "unit": "华南化工（广州）有限公司",
        "clearance": "internal",
    }
    # Only the office or an archivist registers someone from outside.
    by_officer = await client.post(
        ACCESS_REQUESTS, json=ask_for(bureau.open1, requester=counterparty), headers=bureau.officer8
    )
    assert by_officer.status_code == 403
    request = await submitted_request(
        embedded, bureau.archivist, ask_for(bureau.open1, requester=counterparty)
    )
    assert request["requester_kind_label"] == "相对人"
    assert request["registered_by"] == "archivist-1"
    assert request["requester_account"] is None
    assert request["missing_documents"][0]["label"] == "营业执照或身份证件"

    without = await decide_request(embedded, bureau.head1, request["id"])
    assert without.status_code == 409, without.text
    assert without.json()["error"] == "documents_missing"
    assert "营业执照" in without.json()["message_zh"]

    uploaded = await attach_document(embedded, bureau.archivist, request["id"], "business_licence")
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["sha256"] == hashlib.sha256(SCANNED_PDF).hexdigest()
    assert uploaded.json()["kind_label"] == "营业执照"
    # The approver reads the document as it was submitted.
    read = await client.get(f"{ACCESS_DOCUMENTS}/{uploaded.json()['id']}", headers=bureau.head1)
    assert read.status_code == 200
    assert read.content == SCANNED_PDF

    approved = await decide_request(embedded, bureau.head1, request["id"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.json()["documents"][0]["filename"] == "business_licence.pdf"
    # Nothing but the hand-over is kept once the decision is made.
    late = await attach_document(embedded, bureau.archivist, request["id"], "identity_document")
    assert late.status_code == 409


@pytest.mark.req("C-7")
async def test_a_visitor_needs_a_letter_of_introduction_and_a_work_id(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    visitor = {"kind": "visitor", "name": "周警官", "unit": "区公安分局", "clearance": "internal"}
    request = await submitted_request(
        embedded, bureau.office, ask_for(bureau.open2, requester=visitor)
    )
    assert request["requester_kind_label"] == "外单位来人"
    await attach_document(embedded, bureau.office, request["id"], "introduction_letter")

    refused = await decide_request(embedded, bureau.head2, request["id"])
    assert refused.status_code == 409
    assert refused.json()["missing"] == [["work_id"]]
    assert "工作证" in refused.json()["message_zh"]

    await attach_document(embedded, bureau.office, request["id"], "work_id")
    approved = await decide_request(embedded, bureau.head2, request["id"])
    assert approved.json()["status"] == "active"


@pytest.mark.req("C-8")
@pytest.mark.req("A-13b")
@pytest.mark.req("D-18b")
async def test_a_letter_is_completed_only_against_the_signed_hand_over(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    letter = {"kind": "letter", "name": "刘科长<b>", "unit": "市纪委监委", "clearance": "internal"}
    body = ask_for(bureau.open1, requester=letter, access="copy", legal_basis="《监察法》第十八条")
    request = await submitted_request(embedded, bureau.office, body)
    assert request["access_label"] == "复制"
    early = await attach_document(embedded, bureau.office, request["id"], "handover")
    assert early.status_code == 409  # nothing has been handed over before a grant
    assert (await decide_request(embedded, bureau.head1, request["id"])).status_code == 409
    await attach_document(embedded, bureau.office, request["id"], "incoming_letter")
    assert (await decide_request(embedded, bureau.head1, request["id"])).json()[
        "status"
    ] == "active"

    # The hand-over form lists what is sent, with the SHA-256 to check it by, for signing.
    client = embedded.client
    form = await client.get(
        f"{ACCESS_REQUESTS}/{request['id']}/handover-form", headers=bureau.office
    )
    assert form.status_code == 200
    assert form.headers["content-type"].startswith("text/html")
    record = (await client.get(f"/api/v1/records/{bureau.open1}", headers=bureau.office)).json()
    assert record["sha256"] in form.text
    assert record["filename"] in form.text
    assert "刘科长&lt;b&gt;" in form.text  # what was typed in is text, not markup
    assert "接收人（签名）" in form.text
    view_only = await submitted_request(embedded, bureau.officer8, ask_for(bureau.open1))
    refused = await client.get(
        f"{ACCESS_REQUESTS}/{view_only['id']}/handover-form", headers=bureau.officer8
    )
    assert refused.status_code == 409

    path = f"{ACCESS_REQUESTS}/{request['id']}/completion"
    incomplete = await embedded.client.post(path, json={}, headers=bureau.office)
    assert incomplete.status_code == 409
    assert incomplete.json()["error"] == "handover_missing"
    signed = await attach_document(
        embedded, bureau.office, request["id"], "handover", b"%PDF signed"
    )
    assert signed.status_code == 201
    done = await embedded.client.post(path, json={"reason": "已移交复制件"}, headers=bureau.office)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    events, _ = await told_and_audited(embedded, request["id"])
    assert events == ["access.requested", "access.granted", "access.activated", "access.ended"]


@pytest.mark.req("B-11")
@pytest.mark.req("D-19")
@pytest.mark.req("E-12")
async def test_no_grant_reaches_above_the_clearance_nor_flagged_records_unless_approved_so(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    client = embedded.client
    above = await client.post(
        ACCESS_REQUESTS, json=ask_for(bureau.secret1), headers=bureau.officer9
    )
    assert above.status_code == 403
    assert above.json()["error"] == "above_clearance"
    assert "1 条" in above.json()["message_zh"]
    assert "内部" in above.json()["message_zh"]  # the requester's clearance
    # An outside requester is registered at the lowest level unless the registrant says more.
    public = {"kind": "visitor", "name": "周警官", "unit": "区公安分局"}
    refused = await client.post(
        ACCESS_REQUESTS, json=ask_for(bureau.open1, requester=public), headers=bureau.office
    )
    assert refused.status_code == 403
    assert "公开" in refused.json()["message_zh"]
    too_high = {**public, "clearance": "top_secret"}
    raised = await client.post(
        ACCESS_REQUESTS, json=ask_for(bureau.open1, requester=too_high), headers=bureau.archivist
    )
    assert raised.status_code == 422

    # The approver sees the flags; an approval that does not include them leaves them out.
    request = await submitted_request(
        embedded, bureau.officer9, ask_for(bureau.open1, bureau.flagged1)
    )
    flags = {i["record_id"]: i["privacy_flags"] for i in request["items"]}
    assert flags[bureau.flagged1] == ["人脸", "未成年人"]
    approved = (await decide_request(embedded, bureau.head1, request["id"])).json()
    granted = {i["record_id"]: i["granted"] for i in approved["items"]}
    assert granted == {bureau.open1: True, bureau.flagged1: False}

    explicit = await submitted_request(
        embedded, bureau.officer9, ask_for(bureau.open1, bureau.flagged1)
    )
    with_flags = await decide_request(embedded, bureau.head1, explicit["id"], include_flagged=True)
    assert with_flags.json()["granted_count"] == 2

    only_flagged = await submitted_request(embedded, bureau.officer9, ask_for(bureau.flagged1))
    empty = await decide_request(embedded, bureau.head1, only_flagged["id"])
    assert empty.status_code == 422
    assert empty.json()["error"] == "grant_empty"


@pytest.mark.req("C-6b")
async def test_a_grant_always_ends_by_itself_and_can_be_revoked(
    embedded: Embedded, bureau: AccessBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = embedded.client
    too_long = await client.post(
        ACCESS_REQUESTS, json=ask_for(bureau.open1, days=31), headers=bureau.officer8
    )
    assert too_long.status_code == 422
    assert "30" in too_long.json()["message_zh"]

    request = await submitted_request(embedded, bureau.officer8, ask_for(bureau.open1))
    later = datetime.now(UTC) + timedelta(days=8)
    monkeypatch.setattr(access_service, "utcnow", lambda: later)
    expired = (
        await client.get(f"{ACCESS_REQUESTS}/{request['id']}", headers=bureau.officer8)
    ).json()
    assert expired["status"] == "expired"
    assert expired["status_label"] == "已过期"
    assert expired["transitions"][-1]["by"] == "system"
    events, actions = await told_and_audited(embedded, request["id"])
    assert events[-1] == "access.ended"
    assert actions[-1] == "access.expire"
    over = await client.post(
        f"{ACCESS_REQUESTS}/{request['id']}/completion", json={}, headers=bureau.officer8
    )
    assert over.status_code == 409
    monkeypatch.undo()

    active = await submitted_request(embedded, bureau.officer8, ask_for(bureau.open1))
    path = f"{ACCESS_REQUESTS}/{active['id']}/revocation"
    no_reason = await client.post(path, json={}, headers=bureau.office)
    assert no_reason.status_code == 422
    # Once in force, its requester can't end it for the record: the office or the approver can.
    assert (
        await client.post(path, json={"reason": "x"}, headers=bureau.officer8)
    ).status_code == 403
    revoked = await client.post(path, json={"reason": "调阅事由已消失"}, headers=bureau.office)
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["transitions"][-1]["note"] == "调阅事由已消失"
    ended = await told_payloads(embedded, active["id"], "access.ended")
    assert ended[0]["how"] == "revoked"


@pytest.mark.req("C-9")
@pytest.mark.req("B-9")
async def test_the_register_lists_every_request_with_its_documents_approvals_and_sessions(
    embedded: Embedded, bureau: AccessBureau
) -> None:
    client = embedded.client
    own = await submitted_request(embedded, bureau.officer8, ask_for(bureau.open1))
    visitor = {"kind": "visitor", "name": "=HYPERLINK(1)", "unit": "区公安分局"}
    outside = await submitted_request(
        embedded,
        bureau.office,
        ask_for(bureau.open2, requester={**visitor, "clearance": "internal"}),
    )
    for kind in ("introduction_letter", "work_id"):
        await attach_document(embedded, bureau.office, outside["id"], kind)
    await decide_request(embedded, bureau.head2, outside["id"])
    opened = await client.post(
        "/api/v1/viewing-sessions", json={"request_id": outside["id"]}, headers=bureau.archivist
    )
    await client.post(
        f"/api/v1/viewing-sessions/{opened.json()['id']}/close", headers=bureau.archivist
    )

    exported = await client.get(
        "/api/v1/access-register", params={"format": "xlsx"}, headers=bureau.archivist
    )
    assert exported.status_code == 200, exported.text
    assert "attachment" in exported.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None
    rows = [[str(c.value) for c in row] for row in sheet.iter_rows()]
    header, first, second = rows
    assert header[:4] == ["序号", "登记时间", "调阅人类型", "调阅人"]
    assert first[2:4] == ["承办科室", "officer-8"]
    assert first[header.index("审批（审批人：意见）")] == "承办科室调阅，无需审批"
    assert first[header.index("申请编号")] == own["id"]
    # A name typed like a formula stays text.
    assert second[3] == "'=HYPERLINK(1)"
    assert "介绍信 introduction_letter.pdf" in second[header.index("提交材料（SHA-256）")]
    assert "head-2：同意调阅（同意）" in second[header.index("审批（审批人：意见）")]
    assert "officer" not in second[header.index("查阅会话（查阅人/陪同人/起止）")]
    assert "/archivist-1/" in second[header.index("查阅会话（查阅人/陪同人/起止）")]
    assert second[header.index("核验结果")] == "核验无误"

    by_section = await client.get(
        "/api/v1/access-register",
        params={"format": "csv", "section": "JC2"},
        headers=bureau.office,
    )
    lines = by_section.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2
    assert "区公安分局" in lines[1]
    no_offset = await client.get(
        "/api/v1/access-register",
        params={"submitted_from": "2026-01-01T00:00:00"},
        headers=bureau.office,
    )
    assert no_offset.status_code == 422
    refused = await client.get("/api/v1/access-register", headers=bureau.head1)
    assert refused.status_code == 403


@pytest.mark.req("C-6b")
async def test_a_grant_expires_on_time_even_if_nobody_reads_it(
    embedded: Embedded, bureau: AccessBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = await submitted_request(embedded, bureau.officer8, ask_for(bureau.open1, days=1))
    later = datetime.now(UTC) + timedelta(days=2)
    monkeypatch.setattr(access_service, "utcnow", lambda: later)
    monkeypatch.setattr(embedded.settings.gateway, "grant_sweep_seconds", 0.05)
    async with grant_sweeper(embedded.app):  # type: ignore[arg-type]
        for _ in range(100):
            events, _ = await told_and_audited(embedded, request["id"])
            if events[-1] == "access.ended":
                break
            await asyncio.sleep(0.05)
    assert events == ["access.requested", "access.granted", "access.activated", "access.ended"]
