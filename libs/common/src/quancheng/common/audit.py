"""The audit trail: append-only and hash-chained, so that an edited, removed or inserted entry
is detected (B-12). Each entry's hash covers its content and the hash of the entry before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Text, text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.clock import utcnow

GENESIS = "0" * 64
_APPEND_LOCK_KEY = 0x5143_4155  # "QCAU": one appender at a time per database (PostgreSQL)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str = Field(max_length=32)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    target: str = Field(max_length=256)
    detail: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)

    def compute_hash(self) -> str:
        content = json.dumps(
            {
                "seq": self.seq,
                "at": self.at,
                "actor": self.actor,
                "action": self.action,
                "target": self.target,
                "detail": self.detail,
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(f"{self.prev_hash}\n{content}".encode()).hexdigest()


async def append(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry at the head of the chain, in the caller's transaction."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY}
        )
    head = (
        await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(1))
    ).first()
    entry = AuditEntry(
        seq=(head.seq + 1) if head else 1,
        at=utcnow().isoformat(timespec="microseconds"),
        actor=actor,
        action=action,
        target=target,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
        prev_hash=head.hash if head else GENESIS,
        hash="",
    )
    entry.hash = entry.compute_hash()
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_bad_seq is None


class _ChainWalker:
    def __init__(self) -> None:
        self.expected_seq, self.expected_prev, self.count = 1, GENESIS, 0

    def check(self, entry: AuditEntry) -> ChainReport | None:
        self.count += 1
        if entry.seq != self.expected_seq:
            return ChainReport(
                self.count,
                entry.seq,
                f"expected entry {self.expected_seq}, found {entry.seq}: "
                "an entry was removed or inserted",
            )
        if entry.prev_hash != self.expected_prev:
            return ChainReport(
                self.count,
                entry.seq,
                "its link to the previous entry is broken: "
                "an entry before it was removed, inserted or altered",
            )
        if entry.compute_hash() != entry.hash:
            return ChainReport(self.count, entry.seq, "its content does not match its hash: edited")
        self.expected_seq, self.expected_prev = entry.seq + 1, entry.hash
        return None


def verify(entries: Iterable[AuditEntry]) -> ChainReport:
    """Walk the chain in order; name the first entry that breaks it and why."""
    walker = _ChainWalker()
    for entry in entries:
        if (bad := walker.check(entry)) is not None:
            return bad
    return ChainReport(walker.count)


async def verify_log(session: AsyncSession, batch: int = 1000) -> ChainReport:
    """Verify a database's whole audit log, reading it in batches (it may be long)."""
    walker = _ChainWalker()
    last = 0
    while True:
        rows = (
            await session.exec(
                select(AuditEntry)
                .where(col(AuditEntry.seq) > last)
                .order_by(col(AuditEntry.seq))
                .limit(batch)
            )
        ).all()
        for row in rows:
            if (bad := walker.check(row)) is not None:
                return bad
        if len(rows) < batch:
            return ChainReport(walker.count)
        last = rows[-1].seq
