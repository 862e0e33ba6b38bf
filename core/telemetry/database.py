"""Opening the telemetry database: the pragmas every writer uses, setup, the store's connection
(waiting out another gateway's lock), telling a damaged file from a busy one, moving a damaged
file aside, and read-only access.

The pragmas live here, in one place, because the ingest benchmark's raw ``sqlite3`` baseline must
use exactly the same ones as the store, or the ratio it reports would compare different things.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from pathlib import Path

import aiosqlite

from core.telemetry.migrations import migrate

log = logging.getLogger("core.telemetry.store")

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26

OPEN_WAIT_S = 30.0
"""How long opening the store waits out ``database is locked`` (another gateway's long
transaction) before giving up on the file and writing to a temporary database instead."""

BUSY_TIMEOUT_S = 5.0
"""How long a statement waits for another connection's lock before failing (readers in WAL mode
never block the writer, but a second writer, e.g. a migration in another process, can)."""

WRITER_PRAGMAS: tuple[str, ...] = (
    # WAL: readers (`clawtop events tail` in another process) never block ingest, and a commit is
    # an append to the log instead of a rewrite of pages in place.
    "PRAGMA journal_mode = WAL",
    # NORMAL under WAL: a commit survives an application crash; only an OS crash or power loss
    # can lose the last transactions. The right trade for telemetry (FULL fsyncs every commit).
    "PRAGMA synchronous = NORMAL",
    # Let SQLite build index pages and sort scratch in memory rather than temp files.
    "PRAGMA temp_store = MEMORY",
)


def apply_writer_pragmas(conn: sqlite3.Connection) -> None:
    """Apply :data:`WRITER_PRAGMAS` to a synchronous connection."""
    for pragma in WRITER_PRAGMAS:
        conn.execute(pragma)


def connect_writer(path: Path) -> sqlite3.Connection:
    """A synchronous writer connection in autocommit mode (transactions are explicit)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    apply_writer_pragmas(conn)
    return conn


def prepare_database(path: Path) -> int:
    """Create the parent directories and the file, switch it to WAL and run migrations.

    Blocking (run it in a worker thread from async code). Returns the number of migration steps
    applied. Done on a short-lived connection so the migration logic stays plain ``sqlite3``,
    shared by the store, the benchmark and the tests.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect_writer(path)
    try:
        return migrate(conn)
    finally:
        conn.close()


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection for the CLI (it must never create or modify the database).

    Raises ``FileNotFoundError`` when the file does not exist, instead of SQLite's generic
    "unable to open database file".
    """
    if not path.exists():
        raise FileNotFoundError(path)
    uri = path.absolute().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)


def has_events_table(conn: sqlite3.Connection) -> bool:
    """Whether the events table exists (a file the gateway created but has not migrated yet
    has none; the CLI treats that like "no events yet")."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
    ).fetchone()
    return row is not None


def is_busy(exc: BaseException) -> bool:
    """``database is locked``: another connection holds a lock longer than the busy timeout
    (a concurrent gateway's migration or flush); worth waiting for, never fatal."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF in (
        _SQLITE_BUSY, _SQLITE_LOCKED)


def is_damaged(exc: BaseException, path: Path) -> bool:
    """Whether ``exc`` says the file at ``path`` is not a usable database (garbage, truncated,
    a directory) — as opposed to a lock or a permission problem, where the file itself is fine."""
    if path.is_dir():
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.DatabaseError) and code is not None and code & 0xFF in (
        _SQLITE_CORRUPT, _SQLITE_NOTADB)


def quarantine_database(path: Path) -> Path:
    """Move a damaged database aside (``<name>.damaged-<epoch ms>``, its ``-wal``/``-shm`` with
    it: a stale log must never be replayed into the fresh file); returns where it went."""
    target = path.with_name(f"{path.name}.damaged-{int(time.time() * 1000)}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


async def connect_store(path: Path) -> aiosqlite.Connection:
    """A writer connection to a migrated database at ``path``; ``database is locked`` (another
    gateway mid-migration or mid-flush) is waited out for up to :data:`OPEN_WAIT_S`."""
    deadline = time.monotonic() + OPEN_WAIT_S
    delay = 0.05
    while True:
        try:
            return await _connect_once(path)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + delay > deadline:
                raise
            log.info("telemetry: %s is locked by another connection; waiting", path)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def _connect_once(path: Path) -> aiosqlite.Connection:
    # Migrations run on a short-lived plain sqlite3 connection (shared with the bench
    # and tests); off the loop because the first open may create indexes.
    await asyncio.to_thread(prepare_database, path)
    conn = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        for pragma in WRITER_PRAGMAS:
            await conn.execute(pragma)
        # Reads the last page of the events table: a file cut short fails here, at open.
        await conn.execute_fetchall("SELECT max(id) FROM events")
    except BaseException:
        await conn.close()
        raise
    return conn
