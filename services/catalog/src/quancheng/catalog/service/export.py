"""The electronic archive export (E-17): an enterprise's or a case's recordings as a BagIt bag
(RFC 8493) in a zip, its payload the three-level directory 企业名称/时间/事项 with the storage
detail table 存储信息明细表 (CSV and XLSX) at its root.

The bag streams: tag files and tables are small and made first; each recording is read from the
object store piece by piece into the zip, its SHA-256 checked on the way. The manifest carries
the SHA-256 the catalog recorded at ingest, so a bag whose bytes were altered in storage fails
validation; the export itself stops at the first mismatch and says so in the log and audit."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlmodel.ext.asyncio.session import AsyncSession
from stream_zip import ZIP_64, Method, async_stream_zip

from quancheng.catalog.models import Activity, Record, kind_label
from quancheng.catalog.repository import (
    ActivityFilter,
    ActivityRepository,
    EnterpriseRepository,
    RecordRepository,
)
from quancheng.catalog.service.records import visibility
from quancheng.common import audit
from quancheng.common.auth import Principal, Role
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.common.settings import CatalogSettings
from quancheng.common.storage import ObjectStore

log = logging.getLogger(__name__)

DETAIL_TABLE = "存储信息明细表"
DETAIL_COLUMNS = (
    "序号",
    "文件路径",
    "文件名",
    "类型",
    "大小（字节）",
    "SHA-256",
    "SM3",
    "企业名称",
    "时间",
    "事项",
    "执法活动类型",
    "案号",
    "承办科室",
    "制作人",
    "制作时间",
    "证明内容",
    "密级",
    "执法人员",
    "采集设备",
    "采集开始",
    "采集结束",
    "上传时间",
    "归档时间",
    "记录编号",
    "执法活动编号",
)
# Characters no file system of the receiving side may take in a name.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_FILE_MODE = 0o100644
# Recordings are already compressed: deflate level 0 only frames them (streamed, CRC computed on
# the way), where storing would need each file's CRC before its first byte.
_STORE = ZIP_64


def _stored() -> zlib._Compress:
    return zlib.compressobj(0, zlib.DEFLATED, -zlib.MAX_WBITS)


@dataclass(frozen=True)
class Item:
    """One recording in the bag: where it goes under ``data/`` and what the table says of it."""

    path: str
    record: Record
    activity: Activity
    enterprise: str


@dataclass(frozen=True)
class Bag:
    name: str
    items: list[Item]
    tag_files: list[tuple[str, bytes]]
    tables: list[tuple[str, bytes]]


def _safe(name: str, fallback: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    return cleaned[:120] or fallback


async def enterprise_bag(
    session: AsyncSession,
    principal: Principal,
    enterprise_id: UUID,
    settings: CatalogSettings,
) -> Bag:
    enterprise = await EnterpriseRepository(session).get(enterprise_id)
    if enterprise is None:
        raise ApiError(404, "enterprise_not_found", "no such enterprise", "未找到该企业")
    return await _bag(
        session,
        principal,
        ActivityFilter(enterprise_id=enterprise.id),
        settings,
        title=enterprise.name,
        description=f"一企一档电子档案：{enterprise.name}（{enterprise.credit_code}）",
    )


async def case_bag(
    session: AsyncSession, principal: Principal, case_number: str, settings: CatalogSettings
) -> Bag:
    return await _bag(
        session,
        principal,
        ActivityFilter(case_number=case_number),
        settings,
        title=case_number,
        description=f"案件电子档案：{case_number}",
    )


async def _bag(
    session: AsyncSession,
    principal: Principal,
    wanted: ActivityFilter,
    settings: CatalogSettings,
    *,
    title: str,
    description: str,
) -> Bag:
    if not principal.has_any(Role.ARCHIVIST, Role.OFFICE):
        raise ApiError(
            403,
            "not_archivist",
            "only archivists and the office export archives",
            "只有档案管理员或办公室可以导出电子档案",
        )
    seen = visibility(principal)
    found = await ActivityRepository(session).matching(visibility=seen, wanted=wanted)
    if not found:
        raise ApiError(404, "nothing_to_export", "no activity to export", "没有可导出的执法活动")
    records, withheld = await RecordRepository(session).seen_of_activities(
        [a.id for a in found], visibility=seen
    )
    # An archive handed over without some of its recordings would pass for complete: refuse.
    if withheld:
        raise ApiError(
            403,
            "clearance_too_low",
            f"{len(withheld)} recording(s) are classified above your clearance",
            f"有 {len(withheld)} 条记录密级高于本人权限，不能导出完整档案",
        )
    zone = ZoneInfo(settings.timezone)
    enterprises = {
        e.id: e.name
        for e in await EnterpriseRepository(session).many(
            {a.enterprise_id for a in found if a.enterprise_id is not None}
        )
    }
    items = _arrange(found, records, enterprises, zone)
    tables = [
        (f"data/{DETAIL_TABLE}.csv", _csv(items, zone)),
        (f"data/{DETAIL_TABLE}.xlsx", _xlsx(items, zone)),
    ]
    now = utcnow().astimezone(zone)
    bag_name = f"{_safe(title, 'archive')}_{now:%Y%m%d}"
    payload = [(f"data/{i.path}", i.record.sha256, i.record.size) for i in items] + [
        (path, hashlib.sha256(body).hexdigest(), len(body)) for path, body in tables
    ]
    manifest = "".join(f"{digest}  {_encode(path)}\n" for path, digest, _ in payload).encode()
    bag_info = _bag_info(
        settings.bureau_name,
        principal.subject,
        now,
        description,
        octets=sum(size for _, _, size in payload),
        streams=len(payload),
    )
    tag_files = [
        ("bagit.txt", b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"),
        ("bag-info.txt", bag_info),
        ("manifest-sha256.txt", manifest),
    ]
    tagmanifest = "".join(
        f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in tag_files
    ).encode()
    tag_files.append(("tagmanifest-sha256.txt", tagmanifest))
    await audit.append(
        session,
        actor=principal.subject,
        action="archive.export",
        target=f"bag:{bag_name}",
        detail={"records": [str(i.record.record_id) for i in items]},
    )
    return Bag(bag_name, items, tag_files, tables)


def _arrange(
    found: Sequence[Activity],
    records: Sequence[Record],
    enterprises: dict[UUID, str],
    zone: ZoneInfo,
) -> list[Item]:
    """企业名称/时间/事项/文件: one directory per activity, names made unique where they clash."""
    by_activity: dict[str, list[Record]] = {}
    for record in records:
        by_activity.setdefault(record.activity_id or "", []).append(record)
    items: list[Item] = []
    used_dirs: set[str] = set()
    for activity in found:
        enterprise = enterprises.get(activity.enterprise_id or UUID(int=0), "未关联企业")
        day = activity.started_at.astimezone(zone).strftime("%Y-%m-%d")
        base = f"{_safe(enterprise, '企业')}/{day}/{_safe(activity.matter, '事项')}"
        directory = base if base not in used_dirs else f"{base}_{activity.id.hex[:8]}"
        used_dirs.add(directory)
        names: set[str] = set()
        own = sorted(
            by_activity.get(str(activity.id), []),
            key=lambda r: (r.captured_at or r.ingested_at, str(r.record_id)),
        )
        for record in own:
            name = _safe(record.filename, record.record_id.hex)
            if name in names:
                name = f"{record.record_id.hex[:8]}_{name}"
            names.add(name)
            items.append(Item(f"{directory}/{name}", record, activity, enterprise))
    return items


def _rows(items: Sequence[Item], zone: ZoneInfo) -> list[list[str | int]]:
    def when(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")

    rows: list[list[str | int]] = []
    for number, item in enumerate(items, start=1):
        r, a = item.record, item.activity
        rows.append(
            [
                number,
                item.path,
                r.filename,
                kind_label(r.kind),
                r.size,
                r.sha256,
                r.sm3 or "",
                item.enterprise,
                a.started_at.astimezone(zone).strftime("%Y-%m-%d"),
                a.matter,
                a.type.label,
                a.case_number or "",
                r.handling_section or a.section,
                r.producer or r.officer_id,
                when(r.production_time or r.captured_at),
                r.proves or "",
                r.secrecy.label,
                r.officer_id,
                r.device_id,
                when(r.captured_at),
                when(r.captured_until),
                when(r.ingested_at),
                when(r.archived_at),
                str(r.record_id),
                str(a.id),
            ]
        )
    return rows


def _csv(items: Sequence[Item], zone: ZoneInfo) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(DETAIL_COLUMNS)
    writer.writerows(_rows(items, zone))
    # With a BOM, spreadsheet programs read the Chinese as UTF-8.
    return text.getvalue().encode("utf-8-sig")


def _xlsx(items: Sequence[Item], zone: ZoneInfo) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(DETAIL_TABLE)
    sheet.append(list(DETAIL_COLUMNS))
    for row in _rows(items, zone):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bag_info(
    bureau: str, producer: str, now: datetime, description: str, *, octets: int, streams: int
) -> bytes:
    lines = {
        "Source-Organization": bureau,
        "Contact-Name": producer,
        "Bagging-Date": now.strftime("%Y-%m-%d"),
        "External-Description": description,
        "Payload-Oxum": f"{octets}.{streams}",
        "Bag-Software-Agent": "Quancheng 全程 catalog",
    }
    return "".join(f"{key}: {value}\n" for key, value in lines.items()).encode()


def _encode(path: str) -> str:
    """RFC 8493 §2.1.3: a manifest path percent-encodes only CR, LF and '%'."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


class AlteredObjectError(Exception):
    """A stored recording no longer has the SHA-256 recorded at ingest."""


def stream(bag: Bag, store: ObjectStore) -> AsyncIterable[bytes]:
    """The bag as a zip, produced as it is sent."""
    modified = utcnow()

    async def whole(body: bytes) -> AsyncIterator[bytes]:
        yield body

    async def checked(item: Item) -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        async for chunk in store.read(item.record.object_key):
            digest.update(chunk)
            yield chunk
        if digest.hexdigest() != item.record.sha256:
            log.error(
                "archive export %s: %s (record %s) no longer matches its SHA-256",
                bag.name,
                item.path,
                item.record.record_id,
            )
            raise AlteredObjectError(item.path)

    async def members() -> AsyncIterator[tuple[str, datetime, int, Method, AsyncIterator[bytes]]]:
        for name, body in [*bag.tag_files, *bag.tables]:
            yield f"{bag.name}/{name}", modified, _FILE_MODE, _STORE, whole(body)
        for item in bag.items:
            moment = item.record.captured_at or item.record.ingested_at
            yield f"{bag.name}/data/{item.path}", moment, _FILE_MODE, _STORE, checked(item)

    return async_stream_zip(members(), get_compressobj=_stored)
