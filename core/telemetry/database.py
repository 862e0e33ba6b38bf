"""Opening the telemetry database: the pragmas every writer uses, setup, and read-only access.

The pragmas live here, in one place, because the ingest benchmark's raw ``sqlite3`` baseline must
use exactly the same ones as the store, or the ratio it reports would compare different things.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.telemetry.migrations import migrate

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
