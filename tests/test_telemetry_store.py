"""EventStore against real SQLite files: round trip, batching, shutdown, back-pressure, queries."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from telemetry_support import open_attached

from core.events import ConfigReloaded, Event, EventBus, LogMessage, register_kind
from core.telemetry import EventStore, StoredEvent


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StoreProbe(Event):
    """Test-only kind with every scalar type the store must carry faithfully."""

    kind = "test.store_probe"
    seq: int
    label: str = ""
    ratio: float = 0.0
    ok: bool = True
    note: str | None = None


async def wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Poll (not a timing assertion: the deadline only bounds a hung test)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.01)


def rows_in_file(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def seqs_in_file(path: Path) -> list[int]:
    """The probes' ``seq`` in row order, read straight from the file (not through the store)."""
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT payload->>'seq' FROM events ORDER BY id")]


def execute_in_file(path: Path, sql: str) -> None:
    """One statement on a separate connection, as another process would run it."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(sql)


REFUSE_INSERTS = (
    "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'no'); END"
)
"""Makes every insert fail with a real SQLite error, as a full or broken disk would."""


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Hold the write lock from another connection, so the store's ``BEGIN`` has to wait."""
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EventStore]:
    s = EventStore(tmp_path / "state" / "telemetry.sqlite3", flush_interval_ms=20)
    await s.open()
    yield s
    await s.close()


async def test_open_creates_parent_dirs_wal_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "events.sqlite3"
    store = EventStore(path)
    await store.open()
    await store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0


async def test_round_trip_preserves_every_field(store: EventStore) -> None:
    bus = EventBus()
    store.attach(bus)
    probe = StoreProbe(seq=7, label="héllo \"quoted\" \n", ratio=0.1 + 0.2, ok=False, note=None)
    reload = ConfigReloaded(changed_paths=("models.x", "ui.theme"), hot_paths=("ui.theme",))
    log = LogMessage(level="warning", message="disk full", wall=1_700_000_000.123456, mono=42.5)
    for event in (probe, reload, log):
        bus.publish(event)
    await store.flush()

    stored = await store.query()
    assert [s.id for s in stored] == [1, 2, 3]
    assert stored[0] == StoredEvent(
        id=1,
        kind="test.store_probe",
        wall=probe.wall,
        mono=probe.mono,
        payload={
            "seq": 7,
            "label": "héllo \"quoted\" \n",
            "ratio": 0.1 + 0.2,
            "ok": False,
            "note": None,
        },
    )
    assert stored[1].kind == "config.reloaded"
    # Tuples come back as JSON lists; the kind's other fields are its owner's business.
    assert stored[1].payload == json.loads(json.dumps(reload.payload()))
    assert stored[1].payload["changed_paths"] == ["models.x", "ui.theme"]
    assert stored[1].payload["restart_paths"] == []
    assert (stored[2].wall, stored[2].mono) == (1_700_000_000.123456, 42.5)
    assert stored[2].payload == log.payload()


async def test_one_transaction_per_flush_for_a_burst(tmp_path: Path) -> None:
    """12,000 events with batch_size 5,000: two full flushes right away, the rest at close."""
    store = EventStore(tmp_path / "e.sqlite3", batch_size=5_000, flush_interval_ms=600_000)
    await store.open()
    statements: list[str] = []
    assert store._conn is not None  # white box: trace what SQLite actually executes
    await store._conn.set_trace_callback(statements.append)
    bus = EventBus()
    store.attach(bus, queue_size=20_000)
    for seq in range(12_000):
        bus.publish(StoreProbe(seq=seq))
    await wait_until(lambda: store.stats.events_written == 10_000)
    assert store.stats.flushes == 2
    assert store.stats.pending == 2_000  # held back: under batch_size, interval far away
    await store.close()

    transactions: list[int] = []
    for statement in statements:
        if statement.startswith("BEGIN"):
            transactions.append(0)
        elif statement.startswith("INSERT INTO events"):
            transactions[-1] += 1
        else:
            assert statement == "COMMIT" or not statement.startswith("INSERT")
    assert transactions == [5_000, 5_000, 2_000]
    assert store.stats.flushes == 3
    assert rows_in_file(tmp_path / "e.sqlite3") == 12_000


async def test_flush_interval_bounds_latency_of_a_trickle(store: EventStore) -> None:
    bus = EventBus()
    store.attach(bus)
    for seq in range(10):
        bus.publish(StoreProbe(seq=seq))
    await wait_until(lambda: store.stats.events_written == 10)
    assert store.stats.flushes == 1
    assert store.stats.last_flush_rows == 10
    assert store.stats.last_flush_seconds is not None
    assert await store.count() == 10


async def test_close_writes_everything_published_before_it(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    store, bus = await open_attached(
        path, queue_size=50_000, batch_size=1_000_000, flush_interval_ms=600_000
    )
    for seq in range(30_000):
        bus.publish(StoreProbe(seq=seq))
        if seq % 1_000 == 0:
            await asyncio.sleep(0)
    assert store.stats.events_written == 0  # nothing forced a flush yet
    await store.close()
    assert store.stats.events_written == 30_000
    assert store.stats.dropped == 0
    assert seqs_in_file(path) == list(range(30_000))


async def test_close_still_writes_everything_if_the_writer_was_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    store, bus = await open_attached(path, flush_interval_ms=600_000)
    for seq in range(10):
        bus.publish(StoreProbe(seq=seq))
    await asyncio.sleep(0.05)  # the writer has buffered them and waits for the interval
    assert store._task is not None  # white box: simulate a task group cancelling the writer
    store._task.cancel()
    for seq in range(10, 15):
        bus.publish(StoreProbe(seq=seq))
    await store.close()
    assert rows_in_file(path) == 15
    assert store.stats.events_written == 15


async def test_a_flush_cancelled_mid_transaction_is_retried_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    store, bus = await open_attached(path, flush_interval_ms=1)
    with write_lock_held(path):  # the store's BEGIN now waits on its thread
        for seq in range(5):
            bus.publish(StoreProbe(seq=seq))
        await wait_until(lambda: store.stats.pending == 0)
        await asyncio.sleep(0.05)
        assert store._task is not None
        store._task.cancel()
        await asyncio.sleep(0.05)
    await store.close()
    assert seqs_in_file(path) == [0, 1, 2, 3, 4]


async def test_failed_flush_is_kept_and_retried_in_order(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    store, bus = await open_attached(path, flush_interval_ms=10)
    execute_in_file(path, REFUSE_INSERTS)
    try:
        for seq in range(5):
            bus.publish(StoreProbe(seq=seq))
        await wait_until(lambda: store.stats.write_errors >= 1)
        assert store.stats.events_written == 0
        assert store.stats.pending == 5  # kept for the retry, not dropped
        assert store.stats.last_error is not None and "no" in store.stats.last_error
    finally:
        execute_in_file(path, "DROP TRIGGER refuse")
    # Retried on a timer, without needing a new event to come along.
    await wait_until(lambda: store.stats.events_written == 5)
    bus.publish(StoreProbe(seq=5))
    await wait_until(lambda: store.stats.events_written == 6)
    assert [s.payload["seq"] for s in await store.query()] == [0, 1, 2, 3, 4, 5]
    assert store.stats.lost == 0
    await store.close()


async def test_close_with_a_refusing_database_finishes_and_counts_the_loss(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.sqlite3"
    store, bus = await open_attached(path, flush_interval_ms=600_000)
    execute_in_file(path, REFUSE_INSERTS)
    for seq in range(3):
        bus.publish(StoreProbe(seq=seq))
    await asyncio.wait_for(store.close(), 30)  # must not spin retrying forever
    assert store.stats.lost == 3
    assert store.stats.write_errors == 2  # the writer's last flush, then close()'s last try
    assert rows_in_file(path) == 0


async def test_overflow_drops_oldest_without_blocking_publishers(store: EventStore) -> None:
    bus = EventBus()
    store.attach(bus, queue_size=100)
    started = bus.published
    for seq in range(1_000):  # no await: the writer cannot run, the queue must shed
        bus.publish(StoreProbe(seq=seq))
    assert bus.published - started == 1_000
    assert store.stats.dropped == 900
    await store.flush()
    stored = await store.query()
    assert [s.payload["seq"] for s in stored] == list(range(900, 1_000))


async def test_stalled_disk_does_not_block_the_event_loop(tmp_path: Path) -> None:
    """Another connection holds the write lock: the flush waits on aiosqlite's thread while
    the loop keeps running and publishing; once the lock is released nothing is lost beyond
    what drop-oldest counted."""
    path = tmp_path / "e.sqlite3"
    store, bus = await open_attached(path, queue_size=500, flush_interval_ms=10)
    with write_lock_held(path):
        bus.publish(StoreProbe(seq=-1))
        await wait_until(lambda: store.stats.pending == 0)  # taken by the writer, now stuck
        ticks = 0
        for seq in range(2_000):
            bus.publish(StoreProbe(seq=seq))
            if seq % 100 == 0:
                await asyncio.sleep(0.01)
                ticks += 1
        assert ticks == 20
        assert store.stats.events_written == 0
        assert store.stats.dropped == 2_000 - 500
    await store.close()
    stats = store.stats
    assert stats.write_errors == 0
    assert stats.events_written == 1 + 500
    assert stats.events_written + stats.dropped == bus.published
    assert rows_in_file(path) == 501


async def test_query_filters(store: EventStore) -> None:
    bus = EventBus()
    store.attach(bus)
    base = 1_750_000_000.0
    for seq in range(10):
        bus.publish(StoreProbe(seq=seq, wall=base + seq))
        bus.publish(LogMessage(level="info", message=f"m{seq}", wall=base + seq + 0.5))
    await store.flush()

    assert await store.count() == 20
    assert len(await store.query(kinds=["log"])) == 10
    assert len(await store.query(kinds=["log", "test.store_probe"])) == 20
    assert await store.query(kinds=[]) == []
    since = await store.query(since_wall=base + 8)
    assert [s.kind for s in since] == ["test.store_probe", "log", "test.store_probe", "log"]
    after = await store.query(after_id=17)
    assert [s.id for s in after] == [18, 19, 20]
    assert [s.id for s in await store.query(limit=3)] == [1, 2, 3]
    assert [s.id for s in await store.query(limit=3, newest_first=True)] == [20, 19, 18]
    combined = await store.query(kinds=["log"], since_wall=base + 5, after_id=14, limit=2)
    assert [s.payload["message"] for s in combined] == ["m7", "m8"]


async def test_reopen_appends_after_existing_rows(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    for round_ in range(2):
        store, bus = await open_attached(path)
        for seq in range(5):
            bus.publish(StoreProbe(seq=round_ * 5 + seq))
        await store.close()
    async with EventStore(path) as store:
        assert [s.payload["seq"] for s in await store.query()] == list(range(10))


async def test_lifecycle_errors_are_explicit(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.sqlite3")
    with pytest.raises(RuntimeError, match="not open"):
        store.attach(EventBus())
    with pytest.raises(RuntimeError, match="not open"):
        await store.query()
    await store.close()  # closing a never-opened store is a no-op
    async with store:
        store.attach(EventBus())
        with pytest.raises(RuntimeError, match="already attached"):
            store.attach(EventBus())
    with pytest.raises(ValueError):
        EventStore(tmp_path / "x", batch_size=0)
    with pytest.raises(ValueError):
        EventStore(tmp_path / "x", retention_rows=-1)
