"""The SQLite event store: subscribes to the bus and persists every event, in batches.

Why batches: a SQLite commit costs far more than an insert, so the writer collects events and
writes them with one ``executemany`` in one transaction per flush: at most every
``flush_interval_ms`` (so an event is durable within that bound) or as soon as ``batch_size``
events are pending. SQLite work runs on aiosqlite's thread, so the event loop (and with it the
gateway) never waits on the disk; the bus's drop-oldest queue bounds memory if the disk stalls.

Why the store never stops the gateway (docs/design/sessions.md#damaged-telemetry-database): a
database another gateway holds locked is waited for; a damaged one (garbage, truncated, a
directory at the path) — found at open or by a later write — is moved aside, kept, and replaced
by a fresh file, said in a :class:`~core.telemetry.events.TelemetryDatabaseReplaced` event and a
log line; when not even a fresh file can be made there, the store writes to a temporary database
for the gateway's lifetime. Turns never fail because telemetry cannot be written.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Unpack

import aiosqlite

from core.config.schema.telemetry import TelemetryConfig
from core.events.base import Event
from core.events.bus import EventBus, Subscription
from core.telemetry.database import connect_store, is_damaged, quarantine_database
from core.telemetry.encoding import INSERT_SQL, Row, encode_rows
from core.telemetry.events import TelemetryDatabaseReplaced
from core.telemetry.records import EventFilter, StoredEvent, build_select, decode_row
from core.telemetry.retention import RetentionPolicy, apply_retention

logger = logging.getLogger(__name__)

SUBSCRIBER_NAME = "telemetry.store"
RETENTION_INTERVAL_S = 60.0
"""Default for how often the writer re-applies retention while ingesting (also run at open).
Checked after each flush, so an idle store does no retention work at all."""

RETRY_DELAY_S = 1.0
"""Minimum wait before re-trying a failed flush (a full disk should not be hammered)."""



@dataclasses.dataclass(frozen=True, slots=True)
class StoreStats:
    """A snapshot for the dashboard; every counter is since :meth:`EventStore.open`."""

    events_written: int
    flushes: int
    last_flush_seconds: float | None
    """Wall time of the last successful flush (one transaction), None before the first."""
    last_flush_rows: int
    dropped: int
    """The subscription's drop-oldest counter: events the store never saw (it fell behind)."""
    pending: int
    """Published but not yet written (queued, buffered, or kept for a retry after an error)."""
    retention_deleted: int
    write_errors: int
    lost: int
    """Events given up on after write errors (beyond the retry buffer, or at close)."""
    last_error: str | None


_DEFAULTS = TelemetryConfig()
"""Keyword defaults below are the ``telemetry`` section's; the gateway passes the configured ones."""


class EventStore:
    """Persists bus events to a SQLite file and answers queries over them.

    Lifecycle: ``await open()`` → ``attach(bus)`` → … → ``await close()``, or ``async with``.
    ``close()`` writes everything published before it was called, then closes the database.
    """

    def __init__(
        self,
        path: Path,
        *,
        flush_interval_ms: int = _DEFAULTS.flush_interval_ms,
        batch_size: int = _DEFAULTS.batch_size,
        retention_days: float | None = _DEFAULTS.retention_days,
        retention_rows: int | None = _DEFAULTS.retention_rows,
        retention_interval_s: float = RETENTION_INTERVAL_S,
    ) -> None:
        if flush_interval_ms < 0:
            raise ValueError("flush_interval_ms must be >= 0")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self._path = Path(path)
        self._flush_interval_s = flush_interval_ms / 1000.0
        self._batch_size = batch_size
        self._retention = RetentionPolicy(max_age_days=retention_days, max_rows=retention_rows)
        self._retention_interval_s = retention_interval_s
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        """Serialises transactions and reads: flushes, retention and queries share one
        connection, and one transaction's statements must not interleave with another's."""
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._buffer: list[Event] = []
        self._carry: list[Row] = []
        self._carry_limit = batch_size
        self._deadline = 0.0
        self._next_retention = 0.0
        self._events_written = 0
        self._flushes = 0
        self._last_flush_seconds: float | None = None
        self._last_flush_rows = 0
        self._retention_deleted = 0
        self._write_errors = 0
        self._lost = 0
        self._last_error: str | None = None
        self._bus: EventBus | None = None
        self._notices: list[Event] = []
        """Replacement notices made before :meth:`attach` gave the store a bus."""
        self._temporary: Path | None = None
        """The temporary database written instead of :attr:`path`, if it came to that."""

    @property
    def path(self) -> Path:
        return self._path

    @property
    def subscription(self) -> Subscription | None:
        """The bus subscription once attached (its ``dropped`` counter is in :attr:`stats`)."""
        return self._sub

    async def open(self) -> None:
        """Create the file and its directories if needed, migrate, apply retention. A damaged
        file is replaced (see the module docstring), so this fails only when not even a
        temporary database can be made."""
        if self._conn is not None:
            raise RuntimeError("EventStore is already open")
        try:
            self._conn = await connect_store(self._path)
        except (sqlite3.Error, OSError) as exc:
            self._conn = await self._replace(exc)
        # A failed retention pass must not stop the gateway from recording: logged, retried.
        await self._retention_quietly()

    async def _replace(self, failure: BaseException) -> aiosqlite.Connection:
        """A connection to a fresh database after ``failure`` made :attr:`path` unusable: the
        damaged file moved aside and a new one made there, else a temporary database."""
        path = self._path
        reason = f"{type(failure).__name__}: {failure}"
        kept = ""
        conn: aiosqlite.Connection | None = None
        if is_damaged(failure, path):
            try:
                kept = str(await asyncio.to_thread(quarantine_database, path))
                conn = await connect_store(path)
            except (sqlite3.Error, OSError) as exc:
                reason += f"; a fresh file there failed too: {type(exc).__name__}: {exc}"
        active = path
        if conn is None:
            fd, name = tempfile.mkstemp(prefix="clawtop-telemetry-", suffix=".sqlite3")
            os.close(fd)
            active = self._temporary = Path(name)
            conn = await connect_store(active)
        if kept:
            logger.warning("telemetry: %s is damaged (%s); moved it to %s and started a new database",
                           path, reason, kept)
        if active != path:
            logger.error("telemetry: cannot write %s (%s); events of this run go to the temporary %s "
                         "and are lost at exit", path, reason, active)
        self._notice(TelemetryDatabaseReplaced(path=str(path), reason=reason, kept_as=kept,
                                               active_path=str(active)))
        return conn

    def _notice(self, event: Event) -> None:
        if self._bus is not None:
            self._bus.publish(event)
        else:
            self._notices.append(event)

    async def __aenter__(self) -> EventStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def attach(self, bus: EventBus, *, queue_size: int = _DEFAULTS.subscriber_queue_size) -> Subscription:
        """Subscribe to every event on ``bus`` and start the background writer.

        ``queue_size`` bounds what may wait in memory while a flush is running: past it the
        bus drops the oldest events (counted in ``stats.dropped``) rather than slow publishers.
        """
        self._require_open()
        if self._task is not None:
            raise RuntimeError("EventStore is already attached to a bus")
        self._sub = bus.subscribe(SUBSCRIBER_NAME, maxsize=queue_size)
        self._carry_limit = max(queue_size, self._batch_size)
        self._task = asyncio.create_task(self._run(self._sub), name="telemetry-store-writer")
        self._bus = bus
        notices, self._notices = self._notices, []
        for event in notices:  # after subscribing: the new database records its own origin
            bus.publish(event)
        return self._sub

    async def flush(self) -> int:
        """Write everything published so far now; returns the number of rows written.

        For shutdown hooks and tests; the writer flushes on its own otherwise.
        """
        self._require_open()
        return await self._flush(take_all=True)

    async def close(self) -> None:
        """Stop receiving, write everything pending (one last flush), close the database."""
        conn = self._conn
        if conn is None:
            return
        try:
            if self._sub is not None:
                # Closing wakes the writer; it drains what is queued, flushes and returns.
                self._sub.close()
            if self._task is not None:
                # asyncio.wait, not await: a writer that crashed or was cancelled must not
                # stop the final flush below (its exception was logged by _run).
                await asyncio.wait([self._task])
                if not self._task.cancelled():
                    self._task.exception()  # mark retrieved: no "never retrieved" warning
                self._task = None
            # Safety net: a writer that died (or never ran) leaves events here.
            await self._flush(take_all=True)
            if self._carry:
                self._lost += len(self._carry)
                logger.error("telemetry: %d events not written at close", len(self._carry))
                self._carry = []
        finally:
            self._conn = None
            await conn.close()
            if self._temporary is not None:
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        os.unlink(f"{self._temporary}{suffix}")

    async def query(self, **filters: Unpack[EventFilter]) -> list[StoredEvent]:
        """Stored (flushed) events matching every given filter, in id (= publish) order.

        ``newest_first`` reverses the order, so ``limit`` picks the most recent rows.
        """
        conn = self._require_open()
        sql, params = build_select(**filters)
        async with self._lock:
            rows = await conn.execute_fetchall(sql, params)
        return [decode_row(row) for row in rows]

    async def count(self) -> int:
        """Rows currently stored (pending events not included)."""
        conn = self._require_open()
        async with self._lock:
            rows = list(await conn.execute_fetchall("SELECT count(*) FROM events"))
        return int(rows[0][0])

    async def apply_retention(self) -> int:
        """Apply the age and row limits now; returns the rows deleted."""
        conn = self._require_open()
        async with self._lock:
            deleted = await apply_retention(conn, self._retention, now=time.time())
        self._retention_deleted += deleted
        self._next_retention = time.monotonic() + self._retention_interval_s
        return deleted

    @property
    def stats(self) -> StoreStats:
        sub = self._sub
        return StoreStats(
            events_written=self._events_written,
            flushes=self._flushes,
            last_flush_seconds=self._last_flush_seconds,
            last_flush_rows=self._last_flush_rows,
            dropped=sub.dropped if sub is not None else 0,
            pending=(sub.pending if sub is not None else 0) + len(self._buffer) + len(self._carry),
            retention_deleted=self._retention_deleted,
            write_errors=self._write_errors,
            lost=self._lost,
            last_error=self._last_error,
        )

    # -- the writer -------------------------------------------------------------------------

    async def _run(self, sub: Subscription) -> None:
        """Collect events into batches and flush them until the subscription closes."""
        try:
            await self._collect(sub)
        except Exception as exc:
            self._last_error = f"writer stopped: {type(exc).__name__}: {exc}"
            logger.exception("telemetry: the store's writer stopped; events are not persisted")
            raise

    async def _collect(self, sub: Subscription) -> None:
        loop = asyncio.get_running_loop()
        size = self._batch_size
        while True:
            if self._buffer or self._carry:
                timeout = self._deadline - loop.time()
                batch = []
                if timeout > 0:
                    batch = await sub.get_batch(size - len(self._buffer), timeout)
            else:
                batch = await sub.get_batch(size)
            if batch:
                if not self._buffer and not self._carry:
                    # The flush interval bounds how long the *first* pending event waits.
                    self._deadline = loop.time() + self._flush_interval_s
                self._buffer += batch
            draining = sub.closed and sub.pending == 0
            if (self._buffer or self._carry) and (
                draining or len(self._buffer) >= size or loop.time() >= self._deadline
            ):
                await self._flush(take_all=False)
                if time.monotonic() >= self._next_retention:
                    await self._retention_quietly()
            if draining:
                # One attempt only: rows a failing disk refused stay in the carry for close()'s
                # last try, instead of spinning here.
                return

    async def _flush(self, *, take_all: bool) -> int:
        """Write the buffer (and with ``take_all`` everything queued) in one transaction."""
        async with self._lock:
            events = self._buffer
            self._buffer = []
            if take_all and self._sub is not None:
                events += self._sub.take_nowait()
            if not events and not self._carry:
                return 0
            rows = encode_rows(events)
            if self._carry:
                rows = self._carry + rows
                self._carry = []
            return await self._write(rows)

    async def _write(self, rows: list[Row]) -> int:
        """One transaction. Rows that did not commit are kept (bounded) for the next flush."""
        conn = self._require_open()
        started = time.perf_counter()
        try:
            await conn.execute("BEGIN IMMEDIATE")
            await conn.executemany(INSERT_SQL, rows)
            await conn.execute("COMMIT")
        except BaseException as exc:
            # Cancelled mid-flush, the statements already queued on aiosqlite's thread still
            # run; the ROLLBACK queued behind them tells whether the batch committed.
            rolled_back = await _rollback_quietly(conn)
            if rolled_back or isinstance(exc, sqlite3.Error):
                self._keep_for_retry(rows)
            if not isinstance(exc, sqlite3.Error):
                raise
            self._write_errors += 1
            self._last_error = f"{type(exc).__name__}: {exc}"
            logger.warning("telemetry: flush of %d events failed (%s); will retry", len(rows), exc)
            if is_damaged(exc, self._path) and self._temporary is None:
                # Damaged under a running gateway: the kept rows go to the replacement next flush.
                with contextlib.suppress(sqlite3.Error, ValueError):
                    await conn.close()
                self._conn = await self._replace(exc)
            return 0
        self._last_flush_seconds = time.perf_counter() - started
        self._last_flush_rows = len(rows)
        self._events_written += len(rows)
        self._flushes += 1
        return len(rows)

    def _keep_for_retry(self, rows: list[Row]) -> None:
        # Retry on a timer even if no new event arrives, but not in a tight loop.
        delay = max(self._flush_interval_s, RETRY_DELAY_S)
        self._deadline = asyncio.get_running_loop().time() + delay
        keep = rows[-self._carry_limit :]
        self._lost += len(rows) - len(keep)
        self._carry = keep + self._carry if self._carry else keep

    async def _retention_quietly(self) -> None:
        try:
            await self.apply_retention()
        except sqlite3.Error as exc:
            self._last_error = f"retention: {type(exc).__name__}: {exc}"
            self._next_retention = time.monotonic() + self._retention_interval_s
            logger.warning("telemetry: retention failed (%s); will retry", exc)

    def _require_open(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("EventStore is not open (call `await store.open()` first)")
        return self._conn


async def _rollback_quietly(conn: aiosqlite.Connection) -> bool:
    """Roll back if a transaction is open (True if one was); never mask the original error."""
    try:
        await conn.execute("ROLLBACK")
    except (sqlite3.Error, ValueError):  # ValueError: aiosqlite's "Connection closed"
        return False
    return True

