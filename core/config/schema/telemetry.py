"""``telemetry``: the event store (SQLite) behind the dashboard, bench history and retry/prune
explanations.

The design fixes what is recorded (docs/design/retry.md#retry-events,
docs/design/pruning.md#every-decision-is-explained, docs/design/bench.md#clawtop-bench) but not the
storage knobs; these are clawtop's, chosen so the writer never blocks the gateway (batched flushes)
and the file stays bounded (age and row retention).
"""

from __future__ import annotations

from pydantic import Field

from core.config.schema.base import StrictModel

__all__ = ["TelemetryConfig"]


class TelemetryConfig(StrictModel):
    """Root ``telemetry`` section."""

    db_path: str | None = None
    """SQLite file for events; a relative path is relative to the state dir. Unset =
    ``<state dir>/telemetry.sqlite3``."""

    retention_days: int = Field(30, ge=1, le=3650)
    """Events older than this many days are deleted. Default 30."""

    retention_rows: int = Field(1_000_000, ge=1_000, le=1_000_000_000)
    """Most events kept; the oldest beyond this are deleted (whichever limit hits first).
    Default 1000000."""

    flush_interval_ms: int = Field(250, ge=10, le=60_000)
    """Longest time, in ms, an event waits in memory before it is written (one transaction per
    flush). Default 250."""

    batch_size: int = Field(5000, ge=1, le=1_000_000)
    """Events written per transaction at most; a full batch flushes early. Default 5000."""

    subscriber_queue_size: int = Field(10_000, ge=100, le=10_000_000)
    """Events buffered per live subscriber (dashboard pane, recorder); a slow subscriber drops
    the oldest and reports how many. Default 10000."""
