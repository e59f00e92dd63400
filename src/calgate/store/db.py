"""The database: one way in for reads and one for writes, on SQLite (default) or PostgreSQL.

Repositories are plain functions over a synchronous SQLAlchemy ``Connection``; the async world
hands them to :meth:`Database.read` and :meth:`Database.write`:

- SQLite: reads run in a small thread pool; writes run in one writer thread and are grouped:
  concurrent writes share one transaction and one fsync; when one of them fails, the group is
  rolled back and each write is redone alone, so it fails alone. Write operations must
  therefore touch only the database. ``write`` returns only after the commit: a 200 is durable.
- PostgreSQL (asyncpg): each call is one transaction on the async engine, run through
  SQLAlchemy's ``run_sync`` bridge; the server groups commits itself.

The hottest reads (a LOCAL event, a LOCAL list) skip SQLAlchemy's execution: :meth:`Database.
read_bare` runs a plan of :mod:`calgate.store.bare` on the driver itself, in one transaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from calgate.store import bare

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("calgate.store")
T = TypeVar("T")
Op = Callable[[Connection], T]

# Most writes one group commit carries (one transaction, one fsync).
MAX_GROUP = 256
LINGER_SECONDS = 0.0005


def now_us() -> int:
    return time.time_ns() // 1000


def now_ms_us() -> int:
    """Now in microseconds, truncated to the millisecond the API shows."""
    return time.time_ns() // 1_000_000 * 1000


def _pragmas(dbapi_connection: Any, synchronous: str) -> None:
    """Every connection's settings (the engines' "connect" event and the bare readers)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_engine(path: str, synchronous: str, begin: str, pool_size: int) -> Engine:
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        _pragmas(dbapi_connection, synchronous)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


def _private_files(path: Path) -> None:
    """Make ``path``'s folder (when calgate creates it: 0700) and the database with its
    ``-wal``/``-shm`` files (0600) private to calgate's user, whatever the umask. SQLite gives
    the -wal and -shm files the mode of the database file, so creating that one 0600 is enough;
    files an older calgate left readable are tightened."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder_mode = path.parent.stat().st_mode & 0o777
    if folder_mode & 0o077:
        log.warning(
            "the database folder %s is open to other users (mode %o); calgate leaves a "
            "folder it did not create as it is: chmod 700 it",
            path.parent,
            folder_mode,
        )
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        with contextlib.suppress(FileNotFoundError, PermissionError):  # not ours: left
            os.chmod(path.with_name(name), 0o600)


class _Pending:
    __slots__ = ("error", "future", "loop", "op", "result")

    def __init__(self, op: Op[Any], loop: asyncio.AbstractEventLoop) -> None:
        self.op = op
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.result: Any = None
        self.error: BaseException | None = None


class Database:
    def __init__(self, url: str, *, synchronous: str = "FULL", pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._async: AsyncEngine | None = None
        if self.is_sqlite:
            mode = synchronous.upper()
            if mode not in ("OFF", "NORMAL", "FULL", "EXTRA"):
                raise ValueError(
                    f"sqlite_synchronous: {synchronous!r} is not OFF/NORMAL/FULL/EXTRA"
                )
            path = url.split("///", 1)[-1]
            if not path or path == ":memory:":
                raise ValueError("calgate needs a SQLite file, not an in-memory database")
            _private_files(Path(path))
            self._writer = _sqlite_engine(path, mode, "BEGIN IMMEDIATE", 1)
            self._reader = _sqlite_engine(path, mode, "BEGIN", 4)
            self._read_pool = concurrent.futures.ThreadPoolExecutor(4, "calgate-read")
            self._path, self._synchronous = path, mode
            # Each read thread's plain sqlite3 connection for read_bare (made on first use).
            self._bare = threading.local()
            self._bare_connections: list[sqlite3.Connection] = []
            self._pending: list[_Pending] = []
            self._lock = threading.Lock()
            self._wake = threading.Event()
            self._stop = False
            self._held: Connection | None = None  # the writer thread's (see _connection)
            self._thread = threading.Thread(
                target=self._write_loop, name="calgate-write", daemon=True
            )
            self._thread.start()
        else:
            self._async = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
            )

    # reads and writes ----------------------------------------------------------------------

    async def read(self, op: Op[T]) -> T:
        """Run ``op`` on a connection in a read transaction."""
        if self._async is not None:
            async with self._async.connect() as conn:
                return await conn.run_sync(op)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_pool, self._read_sync, op)

    def _read_sync(self, op: Op[T]) -> T:
        with self._reader.connect() as conn:
            result = op(conn)
            conn.rollback()
            return result

    async def read_bare(self, plan: bare.Plan) -> Any:
        """Run ``plan`` (:mod:`calgate.store.bare`) on the bare driver in a read transaction,
        one snapshot: a plain sqlite3 connection of the read thread (BEGIN ... ROLLBACK, as
        :meth:`read`), or the asyncpg connection itself in a read-only REPEATABLE READ
        transaction."""
        if self._async is not None:
            # A caller cancelled (its client gone) does not cancel the read in the middle of a
            # statement: the read ends and gives its connection back clean, as a read thread
            # does on SQLite.
            task = asyncio.ensure_future(self._read_postgres(plan))
            task.add_done_callback(_retrieved)
            done, value = await asyncio.shield(task)
            if not done:
                raise value
            return value
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_pool, self._read_bare_sync, plan)

    async def _read_postgres(self, plan: bare.Plan) -> tuple[bool, Any]:
        assert self._async is not None
        async with self._async.connect() as conn:
            raw = await conn.get_raw_connection()
            try:
                return await _run_postgres(raw.driver_connection, plan)
            except BaseException:
                # The driver failed: the connection's state is unknown, it is not reused.
                await conn.invalidate()
                raise

    def _bare_connection(self) -> sqlite3.Connection:
        found: sqlite3.Connection | None = getattr(self._bare, "connection", None)
        if found is None:
            found = sqlite3.connect(self._path, timeout=30, check_same_thread=False)
            _pragmas(found, self._synchronous)
            with self._lock:
                self._bare_connections.append(found)
            self._bare.connection = found
        return found

    def _read_bare_sync(self, plan: bare.Plan) -> Any:
        conn = self._bare_connection()

        def execute(statement: bare.Statement, values: dict[str, Any]) -> bare.Rows:
            return conn.execute(statement.sqlite, statement.args(values, False)).fetchall()

        conn.execute("BEGIN")
        try:
            return bare.run(plan, execute)
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    async def write(self, op: Op[T]) -> T:
        """Run ``op`` in a write transaction; returns once that transaction is committed."""
        if self._async is not None:
            async with self._async.begin() as conn:
                return await conn.run_sync(op)
        pending = _Pending(op, asyncio.get_running_loop())
        with self._lock:
            self._pending.append(pending)
        self._wake.set()
        result: T = await pending.future
        return result

    def _write_loop(self) -> None:
        last = 0
        while True:
            self._wake.wait()
            if last > 1:
                # Under load, linger a moment so that more writes share the next fsync.
                time.sleep(LINGER_SECONDS)
            with self._lock:
                batch, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                if not self._pending:
                    self._wake.clear()
            if self._stop and not batch:
                self._let_go()
                return
            last = len(batch)
            if batch:
                self._commit(batch)

    def _connection(self) -> Connection:
        """The writer thread's connection, held between batches (taking it from the engine's
        pool and giving it back, with the pool's rollback, cost each batch as much as a small
        write); a new one after a failed batch."""
        if self._held is None:
            self._held = self._writer.connect()
        return self._held

    def _let_go(self) -> None:
        if self._held is not None:
            with contextlib.suppress(Exception):
                self._held.close()
            self._held = None

    def _commit(self, batch: list[_Pending]) -> None:
        """Commit ``batch`` in one transaction; if one write fails, redo each write alone so
        that it fails alone and the others still land."""
        try:
            conn = self._connection()
            with conn.begin():
                for item in batch:
                    item.result = item.op(conn)
        except Exception as exc:
            self._let_go()
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for item in batch:
                    item.result = None
                    try:
                        with self._writer.begin() as conn:
                            item.result = item.op(conn)
                    except Exception as alone:
                        item.error = alone
        for item in batch:
            item.loop.call_soon_threadsafe(_settle, item)

    # schema --------------------------------------------------------------------------------

    async def migrate(self) -> None:
        """Apply every pending Alembic migration (idempotent; safe on every start)."""
        await self.write(_upgrade) if self.is_sqlite else await self._run_async(_upgrade)

    async def _run_async(self, op: Op[T]) -> T:
        assert self._async is not None
        async with self._async.begin() as conn:
            return await conn.run_sync(op)

    async def migrations_current(self) -> bool:
        return await self.read(_is_current)

    async def dispose(self) -> None:
        if self._async is not None:
            await self._async.dispose()
            return
        self._stop = True
        self._wake.set()
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self._read_pool.shutdown(wait=True)
        for conn in self._bare_connections:
            conn.close()
        self._writer.dispose()
        self._reader.dispose()


def _retrieved(task: asyncio.Future[Any]) -> None:
    """Take the outcome of a read whose caller was cancelled (nobody else will)."""
    if not task.cancelled():
        task.exception()


async def _run_postgres(driver: Any, plan: bare.Plan) -> tuple[bool, Any]:
    """Run ``plan`` on an asyncpg connection in a read-only transaction: (True, its result),
    or (False, the exception the plan raised, after the transaction ended). The transaction is
    REPEATABLE READ: its statements see one snapshot, as a read on SQLite does (a list reads
    the rows of the events it listed in a statement of its own)."""
    async with driver.transaction(isolation="repeatable_read", readonly=True):
        rows: bare.Rows | None = None
        while True:
            try:
                statement, values = next(plan) if rows is None else plan.send(rows)
            except StopIteration as finished:
                return True, finished.value
            except Exception as refused:
                return False, refused
            found = await driver.fetch(statement.postgres, *statement.args(values, True))
            rows = [tuple(r) for r in found]


def _settle(item: _Pending) -> None:
    if item.future.done():
        return
    if item.error is not None:
        item.future.set_exception(item.error)
    else:
        item.future.set_result(item.result)


def _alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "heads")


def _is_current(connection: Connection) -> bool:
    """Whether every migration is applied. The version table names only the newest applied
    revision of each branch: a revision another one ``depends_on`` (0002_outbox, 0003_...)
    is applied without being named there, so compare with all that the named ones imply."""
    script = ScriptDirectory.from_config(_alembic_config())
    current = MigrationContext.configure(connection).get_current_heads()
    applied = {r.revision for r in script.revision_map.iterate_revisions(current, "base")}
    return set(script.get_heads()) <= applied
