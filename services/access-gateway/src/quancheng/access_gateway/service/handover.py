"""The hand-over form 移交单 of a copy grant (C-8, A-13b): the items handed over with their SHA-256,
to be printed, signed by who hands them over and who receives them, and kept with the request as
its signed ``handover`` document. A page of plain HTML: every browser prints it, in Chinese, and
its table stays legible with no style at all."""

from __future__ import annotations

from datetime import datetime
from html import escape
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.access_gateway.models import AccessKind, AccessStatus
from quancheng.access_gateway.service import access
from quancheng.common.auth import Principal
from quancheng.common.errors import ApiError
from quancheng.common.settings import Settings

_COLUMNS = ("序号", "文件名", "类型", "大小（字节）", "SHA-256", "案号", "拍摄时间")


async def form(
    session: AsyncSession, principal: Principal, settings: Settings, request_id: UUID
) -> str:
    view = await access.view(session, principal, request_id)
    request = view.request
    if request.access != AccessKind.COPY or request.status not in (
        AccessStatus.APPROVED,
        AccessStatus.ACTIVE,
        AccessStatus.COMPLETED,
    ):
        raise ApiError(
            409,
            "no_copy_grant",
            "a hand-over form is made for a copy grant that was approved",
            "只有已批准的复制调阅才有移交单",
        )
    zone = ZoneInfo(settings.catalog.timezone)

    def when(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    granted = [i for i in view.items if i.granted]
    rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(cell))}</td>"
            for cell in (
                n,
                item.filename,
                item.kind,
                item.size,
                item.sha256,
                item.case_number or "",
                when(item.captured_at),
            )
        )
        + "</tr>"
        for n, item in enumerate(granted, start=1)
    )
    facts = (
        ("调阅申请编号", str(request.id)),
        ("调阅人", request.requester_name),
        ("单位", request.requester_unit or ""),
        ("调阅事由", request.purpose),
        ("依据", request.legal_basis or ""),
        ("调阅期限", f"{when(request.valid_from)} 至 {when(request.valid_until)}"),
        ("移交记录", f"{len(granted)} 项"),
    )
    bureau = escape(settings.catalog.bureau_name)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{bureau} 执法记录复制件移交单</title>
<style>
body {{ font-family: serif; margin: 2cm; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #000; padding: 4px; font-size: 10pt; word-break: break-all; }}
.signatures td {{ border: none; padding: 24px 8px; }}
</style>
</head>
<body>
<h1>{bureau} 执法记录复制件移交单</h1>
<table border="1" cellpadding="4">
{"".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)}
</table>
<h2>移交的记录</h2>
<table border="1" cellpadding="4">
<tr>{"".join(f"<th>{c}</th>" for c in _COLUMNS)}</tr>
{rows}
</table>
<p>接收人可按上列 SHA-256 校验所收复制件与原始记录一致。</p>
<table class="signatures">
<tr><td>移交人（签名）：</td><td>日期：</td></tr>
<tr><td>接收人（签名）：</td><td>日期：</td></tr>
</table>
</body>
</html>
"""
