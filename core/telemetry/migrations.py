"""The telemetry schema: an ordered list of migrations, keyed by ``PRAGMA user_version``.

Why ``user_version`` and not a migrations table: it lives in the database header, costs nothing
to read, and is transactional, so a step and its version bump commit (or roll back) together.

Adding a table later (bench results, …) is one new entry appended to :data:`MIGRATIONS`; never
edit or reorder a released step, since databases in the wild have already applied it.
"""

from __future__ import annotations

import dataclasses
import sqlite3


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    """One schema step. Its version is its 1-based position in :data:`MIGRATIONS`.

    ``statements`` are run one by one inside a single transaction (not via ``executescript``,
    which would commit behind our back and break the all-or-nothing guarantee).
    """

    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "events table with wall and (kind, wall) indexes",
        (
            """
            CREATE TABLE events (
                id      INTEGER PRIMARY KEY,
                wall    REAL    NOT NULL,
                mono    REAL    NOT NULL,
                kind    TEXT    NOT NULL,
                payload TEXT    NOT NULL
            )
            """,
            # Retention by age and `--since` without a kind filter.
            "CREATE INDEX events_wall ON events (wall)",
            # `--kind K --since T`; tail by kind scans the id range instead (see records.py).
            "CREATE INDEX events_kind_wall ON events (kind, wall)",
        ),
    ),
    Migration(
        "bench_runs and bench_samples (one row per request) tables (clawtop bench history and compare)",
        (
            # One row per bench run: the export document as written (`doc`), the redacted
            # resolved config it ran under (`config`) so any two runs can be diffed.
            """
            CREATE TABLE bench_runs (
                run_id          TEXT PRIMARY KEY,
                started_wall    REAL NOT NULL,
                finished_wall   REAL NOT NULL,
                tag             TEXT,
                models          TEXT NOT NULL,
                config_hash     TEXT NOT NULL,
                config_raw_hash TEXT,
                interrupted     INTEGER NOT NULL DEFAULT 0,
                doc             TEXT NOT NULL,
                config          TEXT NOT NULL
            )
            """,
            "CREATE INDEX bench_runs_tag ON bench_runs (tag, started_wall)",
            "CREATE INDEX bench_runs_started ON bench_runs (started_wall)",
            # One row per request, for SQL over results (`--model` history, CSV).
            """
            CREATE TABLE bench_samples (
                run_id        TEXT NOT NULL REFERENCES bench_runs (run_id) ON DELETE CASCADE,
                model         TEXT NOT NULL,
                i             INTEGER NOT NULL,
                warmup        INTEGER NOT NULL,
                ok            INTEGER NOT NULL,
                error_class   TEXT,
                error         TEXT,
                started_at    TEXT NOT NULL,
                latency_ms    REAL,
                ttft_ms       REAL,
                tokens_per_s  REAL,
                tpot_ms       REAL,
                input_tokens  INTEGER NOT NULL DEFAULT 0,
                output_tokens INTEGER NOT NULL DEFAULT 0,
                cache_read    INTEGER NOT NULL DEFAULT 0,
                cache_write   INTEGER NOT NULL DEFAULT 0,
                stop_reason   TEXT,
                attempts      INTEGER NOT NULL DEFAULT 1,
                retry_sleep_ms INTEGER NOT NULL DEFAULT 0,
                cost_usd      REAL NOT NULL DEFAULT 0,
                PRIMARY KEY (run_id, model, warmup, i)
            )
            """,
            "CREATE INDEX bench_samples_model ON bench_samples (model)",
        ),
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
"""The ``user_version`` a fully migrated database has."""


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer clawtop; refusing to guess what its tables mean."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's ``PRAGMA user_version`` (0 for a brand-new file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the database to the latest version; returns the number of steps applied.

    Runs in one ``BEGIN IMMEDIATE`` transaction and re-reads the version inside it, so two
    processes opening the same new file at once cannot both apply step 1. Idempotent: an
    up-to-date database costs one pragma read. ``conn`` must be in autocommit mode
    (``isolation_level=None``) so the explicit transaction is ours.
    """
    if schema_version(conn) == len(migrations):
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        if current > len(migrations):
            raise SchemaTooNewError(
                f"telemetry database has schema version {current}, this clawtop knows "
                f"up to {len(migrations)}; upgrade clawtop or point telemetry.dbPath elsewhere"
            )
        for migration in migrations[current:]:
            for statement in migration.statements:
                conn.execute(statement)
        # PRAGMA does not take bound parameters; the value is an int we computed.
        conn.execute(f"PRAGMA user_version = {len(migrations):d}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(migrations) - current
