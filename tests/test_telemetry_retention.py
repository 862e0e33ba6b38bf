"""Retention by row count and by age: at open, on demand, and periodically while ingesting."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from telemetry_support import open_attached, record_events

from core.events import LogMessage
from core.telemetry import EventStore

DAY = 86_400.0


async def test_row_cap_keeps_the_newest_rows(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    await record_events(path, [LogMessage(level="info", message=str(i)) for i in range(250)])
    # No apply_retention() call: retention runs at open.
    async with EventStore(path, retention_days=None, retention_rows=100) as store:
        stored = await store.query()
        assert [s.payload["message"] for s in stored] == [str(i) for i in range(150, 250)]
        assert store.stats.retention_deleted == 150
        assert await store.apply_retention() == 0


async def test_row_cap_of_zero_empties_the_table(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    await record_events(path, [LogMessage(level="info", message=str(i)) for i in range(10)])
    async with EventStore(path, retention_days=None, retention_rows=0) as store:
        assert await store.count() == 0


async def test_age_limit_deletes_only_older_rows(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    now = time.time()
    ages_days = [45, 31, 29.5, 2, 0]
    await record_events(
        path,
        [LogMessage(level="info", message=f"{age}d", wall=now - age * DAY) for age in ages_days],
    )
    async with EventStore(path, retention_days=30, retention_rows=None) as store:
        assert [s.payload["message"] for s in await store.query()] == ["29.5d", "2d", "0d"]
        # Fractional days work too (the config may say 0.5).
        assert store.stats.retention_deleted == 2
    async with EventStore(path, retention_days=1.5, retention_rows=None) as store:
        assert [s.payload["message"] for s in await store.query()] == ["0d"]


async def test_both_limits_apply_together(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    now = time.time()
    events = [LogMessage(level="info", message=f"old{i}", wall=now - 40 * DAY) for i in range(5)]
    events += [LogMessage(level="info", message=f"new{i}", wall=now) for i in range(5)]
    await record_events(path, events)
    async with EventStore(path, retention_days=30, retention_rows=3) as store:
        assert [s.payload["message"] for s in await store.query()] == ["new2", "new3", "new4"]


async def test_retention_reapplies_periodically_while_ingesting(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    store, bus = await open_attached(
        path, flush_interval_ms=5, retention_days=None, retention_rows=20, retention_interval_s=0
    )
    try:
        for batch in range(5):
            for i in range(15):
                bus.publish(LogMessage(level="info", message=f"{batch}.{i}"))
            deadline = time.monotonic() + 10
            while store.stats.events_written < (batch + 1) * 15:
                assert time.monotonic() < deadline, "writer did not flush"
                await asyncio.sleep(0.01)
        # No explicit apply_retention(): only the writer's periodic pass can trim the table.
        deadline = time.monotonic() + 10
        while await store.count() > 20:
            assert time.monotonic() < deadline, "periodic retention never ran"
            await asyncio.sleep(0.01)
        stored = await store.query()
        assert len(stored) == 20
        assert stored[-1].payload["message"] == "4.14"
        assert store.stats.retention_deleted == 75 - 20
    finally:
        await store.close()


async def test_disabled_retention_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    await record_events(path, [LogMessage(level="info", message="x", wall=0.0) for _ in range(5)])
    async with EventStore(path, retention_days=None, retention_rows=None) as store:
        assert await store.count() == 5
        assert await store.apply_retention() == 0
