"""Bulk import of sections, officers and devices from the office's spreadsheets.

All or nothing: every row goes through the same rules as the API (so it is checked against the
database and the rows before it); every failing row is reported with its sheet, row and column;
if any row fails, the request's transaction is rolled back and nothing is kept. Sections and
officers already known are updated from the sheet; a device already registered is left as it is
when the sheet agrees with the registry and reported when it does not.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common import audit
from quancheng.common.auth import Principal
from quancheng.common.errors import ApiError
from quancheng.device_registry.inputs import (
    DeviceCreate,
    OfficerCreate,
    OfficerUpdate,
    SectionCreate,
    SectionUpdate,
)
from quancheng.device_registry.models import DeviceKind
from quancheng.device_registry.repository import (
    DeviceRepository,
    OfficerRepository,
    SectionRepository,
)
from quancheng.device_registry.service import devices, staff
from quancheng.device_registry.spreadsheet import CellError, Sheet, Table

_TRUE = {"是", "y", "yes", "true", "1", "√", "✓"}
_FALSE = {"否", "n", "no", "false", "0", "×", "✗"}
_KINDS = {**{k.value: k for k in DeviceKind}, **{k.label: k for k in DeviceKind}}
BOOLEAN_FIELDS = {"supervisory", "frontline", "active", "explosion_proof"}
LEADERS = ("head_officer_id", "custodian_officer_id")
ImportOutcome = Literal["created", "updated", "unchanged"]
# What a step did, and to what: a section's code, an officer's id, a device's id.
Done = tuple[ImportOutcome, str]
# The field that names a row's subject; a file naming one subject twice is refused.
KEYS = {Sheet.SECTIONS: "code", Sheet.OFFICERS: "id", Sheet.DEVICES: "serial_number"}
M = TypeVar("M", bound=BaseModel)
# The column to point at when the API's own rules refuse a row.
ERROR_FIELDS = {
    "unknown_section": "section",
    "section_name_taken": "name",
    "certificate_number_taken": "certificate_number",
    "certificate_number_required": "certificate_number",
    "serial_number_taken": "serial_number",
}


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # What an import made or changed, in the order of the rows.
    created_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)

    def count(self, outcome: ImportOutcome, subject: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome != "unchanged":
            getattr(self, f"{outcome}_ids").append(subject)


@dataclass(frozen=True)
class ImportReport:
    dry_run: bool
    sections: ImportCounts | None = None
    officers: ImportCounts | None = None
    devices: ImportCounts | None = None


class RowError(Exception):
    def __init__(self, column: str | None, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.column, self.message, self.message_zh = column, message, message_zh


def _converted(table: Table, cells: dict[str, str | None]) -> dict[str, Any]:
    """Cells as the API's request bodies take them: 是/否 as booleans, kinds by Chinese name."""
    values: dict[str, Any] = {}
    for name, text in cells.items():
        if text is None:
            continue
        if name in BOOLEAN_FIELDS:
            lowered = text.lower()
            if lowered not in _TRUE | _FALSE:
                raise RowError(
                    table.headers[name], f"{text!r} is not yes or no", f"“{text}”应为“是”或“否”"
                )
            values[name] = lowered in _TRUE
        elif name == "kind" and table.sheet is Sheet.DEVICES:
            kind = _KINDS.get(text) or _KINDS.get(text.lower())
            if kind is None:
                raise RowError(
                    table.headers[name],
                    f"unknown device kind {text!r}",
                    f"设备类型“{text}”无法识别，应为：" + "、".join(k.label for k in DeviceKind),
                )
            values[name] = kind.value
        else:
            values[name] = text
    return values


def _validated(model: type[M], table: Table, values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else None
        column = table.headers.get(name, name) if name else None
        raise RowError(column, first["msg"], f"“{column}”取值不符合要求：{first['msg']}") from None


async def _section_row(
    session: AsyncSession, principal: Principal, table: Table, values: dict[str, Any]
) -> Done | None:
    """The section itself; its head and custodian wait until the officers are in."""
    own = {k: v for k, v in values.items() if k not in LEADERS}
    data = _validated(SectionCreate, table, own)
    existing = await SectionRepository(session).get(data.code)
    if existing is None:
        await staff.create_section(session, principal, data)
        return "created", data.code
    # Only the columns the sheet has: a sheet without 监管科室 leaves the flag as it is.
    given = data.model_dump(include={k for k in own if k != "code"})
    changes = {k: v for k, v in given.items() if getattr(existing, k) != v}
    if not changes:
        return "unchanged", data.code
    await staff.update_section(session, principal, data.code, SectionUpdate(**changes))
    return "updated", data.code


async def _section_leaders(
    session: AsyncSession, principal: Principal, table: Table, values: dict[str, Any]
) -> Done | None:
    leaders = {k: values[k] for k in LEADERS if k in values}
    section = await SectionRepository(session).get(values["code"])
    if section is None or all(getattr(section, k) == v for k, v in leaders.items()):
        return None
    await staff.update_section(session, principal, section.code, SectionUpdate(**leaders))
    return "updated", section.code


async def _officer_row(
    session: AsyncSession, principal: Principal, table: Table, values: dict[str, Any]
) -> Done | None:
    data = _validated(OfficerCreate, table, values)
    existing = await OfficerRepository(session).get(data.id)
    if existing is None:
        await staff.create_officer(session, principal, data)
        return "created", data.id
    given = data.model_dump(include={k for k in values if k != "id"})
    changes = {k: v for k, v in given.items() if getattr(existing, k) != v}
    if not changes:
        return "unchanged", data.id
    await staff.update_officer(session, principal, data.id, OfficerUpdate(**changes))
    return "updated", data.id


async def _device_row(
    session: AsyncSession, principal: Principal, table: Table, values: dict[str, Any]
) -> Done | None:
    data = _validated(DeviceCreate, table, values)
    existing = await DeviceRepository(session).by_serial(data.serial_number)
    if existing is None:
        return "created", str((await devices.register_device(session, principal, data)).id)
    differing = [k for k, v in data.model_dump().items() if getattr(existing, k) != v]
    if differing:
        column = table.headers.get(differing[0], differing[0])
        raise RowError(
            column,
            f"device {data.serial_number} is already registered with another {differing[0]}",
            f"序列号 {data.serial_number} 的设备已登记，“{column}”与登记信息不一致",
        )
    return "unchanged", str(existing.id)


Step = Callable[[AsyncSession, Principal, Table, dict[str, Any]], Coroutine[Any, Any, Done | None]]
# In this order: a section's head and custodian are named once its officers are in.
PLAN: list[tuple[Sheet, Step]] = [
    (Sheet.SECTIONS, _section_row),
    (Sheet.OFFICERS, _officer_row),
    (Sheet.SECTIONS, _section_leaders),
    (Sheet.DEVICES, _device_row),
]


def _prepared(table: Table, errors: list[CellError]) -> list[tuple[int, dict[str, Any]]]:
    """The table's rows as request values; rows naming a subject twice or with unreadable
    cells go to ``errors`` instead."""
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    key = KEYS[table.sheet]
    for number, cells in table.rows:
        subject = cells.get(key)
        if subject is not None and subject in seen:
            first = seen[subject]
            errors.append(
                CellError(
                    table.sheet,
                    number,
                    table.headers[key],
                    f"{subject} is already in row {first}",
                    f"“{subject}”与第 {first} 行重复",
                )
            )
            continue
        if subject is not None:
            seen[subject] = number
        try:
            rows.append((number, _converted(table, cells)))
        except RowError as exc:
            errors.append(CellError(table.sheet, number, exc.column, exc.message, exc.message_zh))
    return rows


def _error(table: Table, number: int, exc: ApiError) -> CellError:
    name = exc.extra.get("field") or ERROR_FIELDS.get(exc.code)
    column = table.headers.get(name, name) if isinstance(name, str) else None
    return CellError(table.sheet, number, column, exc.message, exc.message_zh)


async def import_tables(
    session: AsyncSession,
    principal: Principal,
    tables: list[Table],
    *,
    dry_run: bool,
    errors: list[CellError],
) -> ImportReport:
    """Apply the tables (see :data:`PLAN`). ``errors`` holds what reading the file found; if
    there is any error at the end, the whole report is raised and the caller keeps nothing."""
    if any(table.missing for table in tables):
        raise rejected(errors)  # every row would fail for the missing column: say it once
    by_sheet = {table.sheet: table for table in tables}
    rows = {table.sheet: _prepared(table, errors) for table in tables}
    outcomes: dict[tuple[Sheet, int], Done] = {}
    failed: set[tuple[Sheet, int]] = set()
    for sheet, step in PLAN:
        if sheet not in by_sheet:
            continue
        table = by_sheet[sheet]
        for number, values in rows[sheet]:
            if (sheet, number) in failed:
                continue
            try:
                done = await step(session, principal, table, values)
            except RowError as exc:
                failed.add((sheet, number))
                errors.append(CellError(sheet, number, exc.column, exc.message, exc.message_zh))
                continue
            except ApiError as exc:
                failed.add((sheet, number))
                errors.append(_error(table, number, exc))
                continue
            # A row counts once: created beats updated beats unchanged.
            before = outcomes.get((sheet, number))
            if done is not None and (before is None or before[0] == "unchanged"):
                outcomes[(sheet, number)] = done
    if errors:
        raise rejected(errors)
    counts = {sheet: ImportCounts() for sheet in by_sheet}
    for (sheet, _number), (outcome, subject) in sorted(outcomes.items()):
        counts[sheet].count(outcome, subject)
    if dry_run and Sheet.DEVICES in counts:
        counts[Sheet.DEVICES].created_ids.clear()  # ids given to devices that are not kept
    report = ImportReport(dry_run=dry_run, **{s.value: c for s, c in counts.items()})
    await audit.append(
        session,
        actor=principal.subject,
        action="import.apply",
        target="registry",
        detail=asdict(report),
    )
    return report


def rejected(errors: list[CellError]) -> ApiError:
    errors.sort(key=lambda e: (list(Sheet).index(e.sheet), e.row))
    return ApiError(
        422,
        "import_rejected",
        f"{len(errors)} problem(s) found; nothing was imported",
        f"发现 {len(errors)} 处问题，未导入任何数据",
        extra={"errors": [e.as_dict() for e in errors]},
    )
