from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, TypeDecorator, event, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.orm.session import Session


def _with_driver(url: str, *, sqlite_driver: str) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername=sqlite_driver)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is both sync and async
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def async_url(url: str) -> URL:
    """The URL with an async driver (aiosqlite or psycopg), for the services' engines."""
    return _with_driver(url, sqlite_driver="sqlite+aiosqlite")


def sync_url(url: str) -> URL:
    """The URL with a blocking driver (pysqlite or psycopg), for migrations."""
    return _with_driver(url, sqlite_driver="sqlite")


def configure_sqlite(sync_engine: Any) -> None:
    """WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction.

    Immediate transactions take SQLite's write lock up front: a transaction that reads and then
    writes (a state transition, the audit chain's head) can never fail half-way on a stale snapshot.
    """

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        # The busy timeout first: opening a WAL database another connection is recovering or
        # checkpointing waits for it instead of failing with "database is locked".
        cursor.execute("PRAGMA busy_timeout=30000")
        # WAL is kept in the file; switching needs an exclusive lock, so only when not yet set.
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0] != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class UnstorableTextError(ValueError):
    """U+0000 in text: PostgreSQL's text can't hold it, though a JSON escape or a form lets a
    client send it (and SQLite would keep it). Lone surrogates never come this far: every decoder
    of requests refuses them."""

    def __str__(self) -> str:
        return "U+0000"


def refuse_unstorable_text(sync_engine: Any) -> None:
    """Check every text parameter before it reaches the driver, whichever way it came in (a JSON
    body, a form, a spreadsheet, tus metadata), so that both databases refuse the same text."""

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _check(
        _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        # One row (a tuple or a mapping), many rows, or an insert's batch flattened into one.
        pending = [parameters]
        while pending:
            value = pending.pop()
            if isinstance(value, str):
                if "\x00" in value:
                    raise UnstorableTextError
            elif isinstance(value, Mapping):
                pending.extend(value.values())
            elif isinstance(value, list | tuple):
                pending.extend(value)


class Database:
    """A service's database: its engine, its sessions and the hooks that run after a commit."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self._pool_size = pool_size
        self._echo = echo
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._after_commit: list[Callable[[Session], None]] = []
        # A session class of our own, so that commit hooks see only this database's commits.
        self._session_class: type[Session] = type("ServiceSession", (Session,), {})
        event.listen(self._session_class, "after_commit", self._run_after_commit)

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.url).get_backend_name() == "sqlite"

    def connect(self) -> None:
        """Create the engine (no connection is opened until first use)."""
        if self._engine is not None:
            return
        kwargs: dict[str, Any] = {"echo": self._echo}
        if not self.is_sqlite:
            kwargs.update(pool_size=self._pool_size, pool_pre_ping=True)
        engine = create_async_engine(async_url(self.url), **kwargs)
        if self.is_sqlite:
            configure_sqlite(engine.sync_engine)
        refuse_unstorable_text(engine.sync_engine)
        self._engine = engine
        self._sessionmaker = async_sessionmaker(
            engine,
            class_=AsyncSession,
            sync_session_class=self._session_class,
            expire_on_commit=False,
        )

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("database not connected")
        return self._engine

    def session(self) -> AsyncSession:
        if self._sessionmaker is None:
            raise RuntimeError("database not connected")
        return self._sessionmaker()

    def on_commit(self, hook: Callable[[Session], None]) -> None:
        """Run ``hook`` with the (sync) session after each of its successful commits."""
        self._after_commit.append(hook)

    def _run_after_commit(self, session: Session) -> None:
        for hook in self._after_commit:
            hook(session)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessionmaker = None


@asynccontextmanager
async def session_scope(db: Database) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends normally, rolls back otherwise."""
    async with db.session() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, also on SQLite (which stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: give a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def enum_column(
    enum_cls: type[StrEnum],
    *,
    nullable: bool = False,
    index: bool = False,
    primary_key: bool = False,
) -> Column[Any]:
    """A column that stores a StrEnum's values (not its member names) as plain strings."""
    return Column(
        SAEnum(
            enum_cls,
            native_enum=False,
            length=32,
            validate_strings=True,
            values_callable=lambda members: [m.value for m in members],
        ),
        nullable=nullable,
        index=index,
        primary_key=primary_key,
    )
