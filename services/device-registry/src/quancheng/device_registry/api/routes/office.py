"""The office's tools: the allocation report (A-7) and the bulk import of its spreadsheets."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from quancheng.common.auth import CurrentPrincipal, OfficeStaff
from quancheng.common.errors import ApiError
from quancheng.common.service import SessionDep, secured_router
from quancheng.device_registry import spreadsheet
from quancheng.device_registry.schemas import AllocationReport, ImportReport
from quancheng.device_registry.service import allocation, imports

router = secured_router(tags=["office 办公室"])

MAX_IMPORT_BYTES = 20 * 1024 * 1024


@router.get(
    "/api/v1/allocation",
    summary="Each section's devices against the allocation standard 配备标准执行情况",
)
async def allocation_report(session: SessionDep, principal: CurrentPrincipal) -> AllocationReport:
    return AllocationReport.model_validate(await allocation.report(session, principal))


@router.post(
    "/api/v1/imports",
    summary="Import sections, officers and devices from CSV or XLSX, all or nothing 批量导入",
    responses={422: {"description": "the per-row error report; nothing was imported"}},
)
async def import_spreadsheet(
    request: Request,
    session: SessionDep,
    principal: OfficeStaff,
    kind: Annotated[spreadsheet.Sheet | None, Query(description="what a CSV holds")] = None,
    dry_run: Annotated[bool, Query(description="check only, keep nothing")] = False,
) -> ImportReport:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", spreadsheet.XLSX):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send text/csv or {spreadsheet.XLSX}",
            "请上传 CSV 或 XLSX 文件",
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_IMPORT_BYTES:
            raise ApiError(
                413,
                "file_too_large",
                f"an import file may be at most {MAX_IMPORT_BYTES // (1024 * 1024)} MiB",
                f"导入文件不能超过 {MAX_IMPORT_BYTES // (1024 * 1024)} MiB",
            )
    try:
        tables, errors = spreadsheet.read(bytes(body), content_type, sheet=kind)
    except spreadsheet.UnreadableFileError as exc:
        raise ApiError(400, "unreadable_file", exc.message, exc.message_zh) from None
    report = await imports.import_tables(session, principal, tables, dry_run=dry_run, errors=errors)
    if dry_run:
        await session.rollback()
    return ImportReport.model_validate(report)
