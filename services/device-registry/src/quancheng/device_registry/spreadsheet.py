"""Reading the office's spreadsheets (CSV or XLSX) into rows keyed by field name.

Headers may be in Chinese or English (科室代码 or code). Cells come back as stripped text, or None
when empty; numbers that Excel stored for serial or certificate numbers lose a spurious ``.0``.
Row numbers are the spreadsheet's own (the header is row 1), so an error report points at the
cell the office sees.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from quancheng.common.labels import LabelledEnum


class Sheet(LabelledEnum):
    SECTIONS = "sections", "科室"
    OFFICERS = "officers", "人员"
    DEVICES = "devices", "设备"


# field → the headers that name it, English first.
COLUMNS: dict[Sheet, dict[str, tuple[str, ...]]] = {
    Sheet.SECTIONS: {
        "code": ("code", "科室代码", "代码"),
        "name": ("name", "科室名称", "名称"),
        "supervisory": ("supervisory", "监管科室"),
        "head_officer_id": ("head", "负责人", "科室负责人"),
        "custodian_officer_id": ("custodian", "设备专管员", "专管员"),
    },
    Sheet.OFFICERS: {
        "id": ("id", "账号", "工号"),
        "name": ("name", "姓名"),
        "certificate_number": ("certificate_number", "执法证号"),
        "section": ("section", "科室代码", "科室"),
        "frontline": ("frontline", "一线执法", "一线执法人员"),
        "active": ("active", "在岗"),
    },
    Sheet.DEVICES: {
        "kind": ("kind", "设备类型", "类型"),
        "serial_number": ("serial_number", "序列号"),
        "model": ("model", "型号"),
        "asset_number": ("asset_number", "资产编号"),
        "explosion_proof": ("explosion_proof", "防爆"),
        "section": ("section", "所属科室", "科室代码"),
    },
}
REQUIRED: dict[Sheet, tuple[str, ...]] = {
    Sheet.SECTIONS: ("code", "name"),
    Sheet.OFFICERS: ("id", "name", "section"),
    Sheet.DEVICES: ("kind", "serial_number", "model", "section"),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class CellError:
    sheet: Sheet
    row: int
    column: str | None
    message: str
    message_zh: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet.value,
            "sheet_label": self.sheet.label,
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "message_zh": self.message_zh,
        }


@dataclass
class Table:
    sheet: Sheet
    rows: list[tuple[int, dict[str, str | None]]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # field → the header used in the file
    missing: list[str] = field(default_factory=list)  # required fields without a column


class UnreadableFileError(Exception):
    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh


def sheet_named(name: str) -> Sheet | None:
    wanted = name.strip().lower()
    for sheet in Sheet:
        if wanted in (sheet.value, sheet.label):
            return sheet
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _table(sheet: Sheet, lines: Iterable[tuple[object, ...]], errors: list[CellError]) -> Table:
    iterator: Iterator[tuple[object, ...]] = iter(lines)
    table = Table(sheet)
    header = next(iterator, None)
    names = [_text(cell) for cell in header] if header is not None else []
    aliases = {alias.lower(): name for name, options in COLUMNS[sheet].items() for alias in options}
    positions: dict[int, str] = {}
    for index, raw in enumerate(names):
        if raw is None:
            continue
        known = aliases.get(raw.lower())
        if known is None:
            errors.append(
                CellError(sheet, 1, raw, f"unknown column {raw!r}", f"无法识别的列“{raw}”")
            )
        elif known in table.headers:
            errors.append(
                CellError(sheet, 1, raw, f"column {raw!r} appears twice", f"列“{raw}”重复")
            )
        else:
            positions[index] = known
            table.headers[known] = raw
    for needed in REQUIRED[sheet]:
        if needed not in table.headers:
            table.missing.append(needed)
            label = COLUMNS[sheet][needed][1]
            errors.append(
                CellError(
                    sheet,
                    1,
                    label,
                    f"the column {needed} ({label}) is missing",
                    f"缺少“{label}”列",
                )
            )
    for number, line in enumerate(iterator, start=2):
        cells = {name: _text(line[i]) if i < len(line) else None for i, name in positions.items()}
        if any(value is not None for value in cells.values()):
            table.rows.append((number, cells))
    return table


def read(
    body: bytes, content_type: str, *, sheet: Sheet | None
) -> tuple[list[Table], list[CellError]]:
    """The tables in ``body``: for CSV the one ``sheet`` names; for XLSX every sheet named after
    a kind (科室, 人员, 设备, or sections, officers, devices), or the first sheet as ``sheet``."""
    errors: list[CellError] = []
    if content_type == XLSX:
        return _read_xlsx(body, sheet, errors), errors
    if sheet is None:
        raise UnreadableFileError(
            "say which kind of rows the CSV holds: ?kind=sections, officers or devices",
            "CSV 文件请用 ?kind=sections、officers 或 devices 指明内容",
        )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = body.decode("gb18030")  # what Excel on a Chinese Windows saves as "CSV"
        except UnicodeDecodeError:
            raise UnreadableFileError(
                "the CSV is neither UTF-8 nor GB18030 text",
                "CSV 文件编码无法识别（应为 UTF-8 或 GBK）",
            ) from None
    try:
        lines = [tuple(line) for line in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise UnreadableFileError(f"the CSV is malformed: {exc}", "CSV 文件格式错误") from None
    table = _table(sheet, lines, errors)
    return ([table] if table else []), errors


def _read_xlsx(body: bytes, sheet: Sheet | None, errors: list[CellError]) -> list[Table]:
    try:
        workbook = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise UnreadableFileError(
            "the file is not a readable XLSX workbook", "无法读取该 XLSX 文件"
        ) from None
    try:
        tables: dict[Sheet, Table] = {}
        for index, worksheet in enumerate(workbook.worksheets):
            kind = sheet_named(worksheet.title) or (sheet if index == 0 else None)
            if kind is None or kind in tables:
                continue
            tables[kind] = _table(kind, worksheet.iter_rows(values_only=True), errors)
    finally:
        workbook.close()
    if not tables:
        raise UnreadableFileError(
            "no sheet named 科室, 人员 or 设备 (sections, officers, devices) in the workbook",
            "工作簿中没有名为“科室”“人员”或“设备”的工作表",
        )
    return [tables[kind] for kind in Sheet if kind in tables]
