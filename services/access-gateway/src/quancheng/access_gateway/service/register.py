"""The register 调阅登记簿: every request and grant, with its requester, unit, documents,
approvers and their opinions, period, records, sessions and what their close verified; filtered
as the request list is, exported as XLSX or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.access_gateway.models import ViewingSession
from quancheng.access_gateway.repository import AccessFilter, ViewingRepository
from quancheng.access_gateway.service import access
from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.settings import Settings

SHEET = "调阅登记簿"
COLUMNS = (
    "序号",
    "登记时间",
    "调阅人类型",
    "调阅人",
    "单位",
    "证件号码",
    "联系方式",
    "登记人",
    "调阅事由",
    "依据",
    "调阅方式",
    "承办科室",
    "调阅记录",
    "准予调阅",
    "提交材料（SHA-256）",
    "审批（审批人：意见）",
    "期限起",
    "期限止",
    "状态",
    "查阅会话（查阅人/陪同人/起止）",
    "核验结果",
    "申请编号",
)
# More than this in one export is more than anyone reads: the period is to be narrowed.
MAX_ROWS = 10_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RegisterFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


@dataclass(frozen=True)
class RegisterFile:
    filename: str
    content_type: str
    content: bytes


async def export(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    wanted: AccessFilter,
    fmt: RegisterFormat,
) -> RegisterFile:
    if not principal.has_any(*access.SEE_ALL):
        raise ApiError(
            403,
            "forbidden",
            "the register is the office's, the archivists' and the supervisors'",
            "调阅登记簿仅供办公室、档案管理员和执法监督查阅",
        )
    views, total = await access.page(
        session, principal, wanted, awaiting_me=False, sort=None, offset=0, limit=MAX_ROWS
    )
    if total > MAX_ROWS:
        raise ApiError(
            422,
            "register_too_large",
            f"{total} requests match, more than the {MAX_ROWS} one export holds: narrow the period",
            f"符合条件的调阅共 {total} 条，超过单次导出上限 {MAX_ROWS} 条，请缩小时间范围",
        )
    sessions = await ViewingRepository(session).of_requests([v.request.id for v in views])
    rows = _rows(views, sessions, ZoneInfo(settings.catalog.timezone))
    stamp = utcnow().astimezone(ZoneInfo(settings.catalog.timezone)).strftime("%Y%m%d")
    if fmt == RegisterFormat.CSV:
        return RegisterFile(f"{SHEET}-{stamp}.csv", "text/csv; charset=utf-8", _csv(rows))
    return RegisterFile(f"{SHEET}-{stamp}.xlsx", XLSX, _xlsx(rows))


def _rows(
    views: Sequence[access.RequestView], sessions: Sequence[ViewingSession], zone: ZoneInfo
) -> list[list[str | int]]:
    def when(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")

    rows: list[list[str | int]] = []
    for number, view in enumerate(reversed(views), start=1):  # oldest first, as a book is kept
        request = view.request
        own = [s for s in sessions if s.request_id == request.id]
        rows.append(
            [
                number,
                when(request.submitted_at),
                request.requester_kind.label,
                request.requester_name,
                request.requester_unit or "",
                request.requester_id_number or "",
                request.requester_contact or "",
                request.registered_by,
                request.purpose,
                request.legal_basis or "",
                request.access.label,
                "、".join(request.sections),
                "；".join(i.filename for i in view.items),
                "；".join(i.filename for i in view.items if i.granted),
                "；".join(f"{d.kind.label} {d.filename}（{d.sha256}）" for d in view.documents),
                "；".join(
                    f"{a.section} {a.decided_by or '待审批'}：{a.opinion or ''}"
                    f"{'' if a.decision is None else '（' + a.decision.label + '）'}"
                    for a in view.approvals
                )
                or "承办科室调阅，无需审批",
                when(request.valid_from),
                when(request.valid_until),
                request.status.label,
                "；".join(
                    f"{s.viewer}/{s.accompanied_by}/{when(s.opened_at)}至{when(s.closed_at)}"
                    for s in own
                ),
                "；".join(s.verification.label for s in own if s.verification is not None),
                str(request.id),
            ]
        )
    return rows


def _cell(value: str | int) -> str | int:
    """A text that a spreadsheet would take for a formula (``=HYPERLINK(…)`` typed in as a
    name) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(rows: list[list[str | int]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([_cell(v) for v in row] for row in rows)
    # With a BOM, spreadsheet programs read the Chinese as UTF-8.
    return text.getvalue().encode("utf-8-sig")


def _xlsx(rows: list[list[str | int]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
