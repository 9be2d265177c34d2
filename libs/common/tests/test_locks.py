"""Locks across processes and replicas (PostgreSQL advisory locks; file locks for SQLite): held
once at a time, and let go when their holder dies."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import pytest

from quancheng.common.db import Database
from quancheng.common.locks import LockHeldError, Locks
from quancheng.common.wiring import make_locks


@pytest.fixture
async def db(database_url: str) -> Database:
    database = Database(database_url)
    database.connect()
    return database


def locks_of(db: Database, tmp_path: Path) -> Locks:
    return make_locks(db, tmp_path / "locks")


async def test_a_held_lock_is_refused_to_a_second_holder_until_released(
    db: Database, tmp_path: Path
) -> None:
    first, second = locks_of(db, tmp_path), locks_of(db, tmp_path)
    try:
        async with first.hold("upload:1"):
            with pytest.raises(LockHeldError):
                async with second.hold("upload:1"):
                    pass
            async with second.hold("upload:2"):  # another name is free
                pass
        async with second.hold("upload:1"):  # released
            pass
    finally:
        await db.dispose()


async def test_a_lock_is_released_when_the_block_fails(db: Database, tmp_path: Path) -> None:
    locks = locks_of(db, tmp_path)
    try:
        with pytest.raises(RuntimeError):
            async with locks.hold("upload:1"):
                raise RuntimeError("the request failed")
        async with locks.hold("upload:1"):
            pass
    finally:
        await db.dispose()


_HOLDER = """
import asyncio, sys
from pathlib import Path
from quancheng.common.db import Database
from quancheng.common.wiring import make_locks

async def main() -> None:
    db = Database(sys.argv[1])
    db.connect()
    async with make_locks(db, Path(sys.argv[2])).hold("upload:1"):
        print("held", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_lock_whose_holder_is_killed_is_free_at_once(db: Database, tmp_path: Path) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        db.url,
        str(tmp_path / "locks"),
        stdout=asyncio.subprocess.PIPE,
    )
    locks = locks_of(db, tmp_path)
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"held"
        with pytest.raises(LockHeldError):
            async with locks.hold("upload:1"):
                pass

        holder.send_signal(signal.SIGKILL)
        await holder.wait()
        # PostgreSQL ends the dead holder's session as soon as it sees the connection close.
        deadline = time.monotonic() + 10
        while True:
            try:
                async with locks.hold("upload:1"):
                    break
            except LockHeldError:
                assert time.monotonic() < deadline, "the dead holder's lock was never released"
                await asyncio.sleep(0.1)
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await db.dispose()
