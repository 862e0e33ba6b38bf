"""Retention: keep the telemetry database bounded by age and by row count.

Deleted pages go to SQLite's freelist and are reused by later inserts, so a database at its row
cap stops growing without a VACUUM (which would rewrite the whole file and block ingest).
"""

from __future__ import annotations

import dataclasses

import aiosqlite

from core.config.schema.telemetry import TelemetryConfig

_DEFAULTS = TelemetryConfig()

SECONDS_PER_DAY = 86_400.0


@dataclasses.dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """``None`` disables a limit. Both limits apply; whichever deletes more wins."""

    max_age_days: float | None = _DEFAULTS.retention_days
    max_rows: int | None = _DEFAULTS.retention_rows

    def __post_init__(self) -> None:
        if self.max_age_days is not None and self.max_age_days < 0:
            raise ValueError("retention_days must be >= 0 (or None for no age limit)")
        if self.max_rows is not None and self.max_rows < 0:
            raise ValueError("retention_rows must be >= 0 (or None for no row limit)")

    @property
    def enabled(self) -> bool:
        return self.max_age_days is not None or self.max_rows is not None


async def apply_retention(
    conn: aiosqlite.Connection, policy: RetentionPolicy, *, now: float
) -> int:
    """Delete rows older than the age limit, then the oldest rows beyond the row cap.

    One transaction, so a reader never sees the age pass applied without the row pass. The
    caller serialises this with the store's flushes (they share the connection). Returns the
    number of rows deleted.
    """
    if not policy.enabled:
        return 0
    deleted = 0
    await conn.execute("BEGIN IMMEDIATE")
    try:
        if policy.max_age_days is not None:
            cutoff = now - policy.max_age_days * SECONDS_PER_DAY
            cursor = await conn.execute("DELETE FROM events WHERE wall < ?", (cutoff,))
            deleted += max(cursor.rowcount, 0)
        if policy.max_rows is not None:
            cursor = await conn.execute("SELECT count(*) FROM events")
            row = await cursor.fetchone()
            excess = (row[0] if row else 0) - policy.max_rows
            if excess > 0:
                # Ids grow in insertion order: the `excess` smallest ids are the oldest rows.
                # Comparing against one looked-up id walks the primary key once.
                cursor = await conn.execute(
                    "DELETE FROM events WHERE id <= "
                    "(SELECT id FROM events ORDER BY id LIMIT 1 OFFSET ?)",
                    (excess - 1,),
                )
                deleted += max(cursor.rowcount, 0)
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return deleted
