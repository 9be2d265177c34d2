"""The hash-chained audit log: verify names the first entry that an edit, removal or insertion
broke (B-12)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from quancheng.common import audit
from quancheng.common.audit import AuditEntry, verify_log
from quancheng.common.db import Database, session_scope
from quancheng.common.db.migrate import COMMON, upgrade


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    upgrade(database_url, COMMON)
    database = Database(database_url)
    database.connect()
    for n in range(1, 6):
        async with session_scope(database) as session:
            await audit.append(
                session,
                actor=f"officer-{n}",
                action="record.view",
                target=f"record:{n}",
                detail={"purpose": "案件复核", "n": n},
            )
    yield database
    await database.dispose()


async def sql(db: Database, statement: str, **params: object) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def report(db: Database) -> audit.ChainReport:
    async with db.session() as session:
        return await verify_log(session)


@pytest.mark.req("B-12")
async def test_an_untouched_chain_verifies(db: Database) -> None:
    result = await report(db)

    assert result.intact
    assert result.entries == 5


@pytest.mark.req("B-12")
async def test_an_edited_entry_is_named(db: Database) -> None:
    await sql(db, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")

    result = await report(db)

    assert not result.intact
    assert result.first_bad_seq == 3
    assert "edited" in (result.reason or "")


@pytest.mark.req("B-12")
async def test_an_edited_entry_with_a_recomputed_hash_breaks_the_next_link(db: Database) -> None:
    async with db.session() as session:
        entry = await session.get(AuditEntry, 2)
        assert entry is not None
        entry.detail = '{"purpose": "forged"}'
        entry.hash = entry.compute_hash()
        session.add(entry)
        await session.commit()

    result = await report(db)

    assert result.first_bad_seq == 3
    assert "link" in (result.reason or "")


@pytest.mark.req("B-12")
async def test_a_removed_entry_is_named(db: Database) -> None:
    await sql(db, "DELETE FROM audit_log WHERE seq = 3")

    result = await report(db)

    assert result.first_bad_seq == 4
    assert "removed or inserted" in (result.reason or "")


@pytest.mark.req("B-12")
async def test_an_inserted_entry_is_named(db: Database) -> None:
    async with db.session() as session:
        two = await session.get(AuditEntry, 2)
        assert two is not None
        forged = AuditEntry(
            seq=3,
            at=two.at,
            actor="intruder",
            action="record.delete",
            target="record:9",
            detail="{}",
            prev_hash=two.hash,
            hash="",
        )
        forged.hash = forged.compute_hash()
    # Make room: shift entries 3..5 up by one (highest first, seq is the primary key).
    for seq in (5, 4, 3):
        await sql(db, "UPDATE audit_log SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    async with session_scope(db) as session:
        session.add(forged)

    result = await report(db)

    assert result.first_bad_seq == 4
    assert not result.intact


async def test_appends_continue_the_chain_across_transactions(db: Database) -> None:
    async with session_scope(db) as session:
        entry = await audit.append(session, actor="archivist", action="x", target="y")
    async with db.session() as session:
        five = await session.get(AuditEntry, 5)

    assert five is not None
    assert entry.seq == 6
    assert entry.prev_hash == five.hash
    assert (await report(db)).entries == 6
