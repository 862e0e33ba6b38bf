"""Ingest benchmark: events/s through ``EventBus`` → ``EventStore`` → SQLite, vs raw sqlite3.

Run: ``.venv/bin/python bench/events.py [--events N] [--runs R]``

What is timed, per run:

* **store**: from the first ``publish`` until ``EventStore.close()`` returns, i.e. until every
  event is committed. Events are built before the clock starts (creating them is the producer's
  cost, not ingest's). The producer publishes in chunks and, when the store's queue has no room
  for the next chunk, waits for it to drain: that measures *sustained* ingest, not how fast a
  queue can drop events. The run fails unless ``dropped == 0`` and the table holds N rows.
* **raw**: ``executemany`` of the same rows (already JSON-encoded), same schema (the real
  migrations), same pragmas, one transaction; the connection is opened before the clock starts.
  It is the ceiling: sqlite3 doing nothing but inserting.

Runs alternate which side goes first; medians are reported. Targets: ≥ 50,000 events/s and
store ≥ 50% of raw. Benchmarks are not tests: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.events import Event, EventBus, LogMessage, register_kind
from core.telemetry import EventStore
from core.telemetry.database import connect_writer, prepare_database
from core.telemetry.encoding import INSERT_SQL, encode_rows

TARGET_EVENTS_PER_S = 50_000
TARGET_RATIO = 0.5


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BenchModelCall(Event):
    """Bench-only: shaped like the per-request accounting events the gateway will publish."""

    kind = "bench.model_call"
    request_id: str
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: float
    cached: bool


def make_events(n: int) -> list[Event]:
    """Half model calls, half log lines (short and long messages), deterministic."""
    events: list[Event] = []
    for i in range(n):
        if i % 2:
            message = f"routed request r-{i:08d} to sim/fast" if i % 3 else (
                f"retrying r-{i:08d} after 429 from provider; backoff 1.5s, attempt 2 of 5"
            )
            events.append(LogMessage(level="info" if i % 7 else "warning", message=message))
        else:
            events.append(
                BenchModelCall(
                    request_id=f"r-{i:08d}",
                    provider="anthropic" if i % 4 else "ollama",
                    model="claude-sonnet-4" if i % 4 else "llama3.2",
                    tokens_in=1_000 + i % 977,
                    tokens_out=200 + i % 311,
                    cost_usd=round((1_000 + i % 977) * 3e-6, 6),
                    latency_ms=float(400 + i % 1_200),
                    cached=i % 5 == 0,
                )
            )
    return events


@dataclasses.dataclass(frozen=True, slots=True)
class StoreRun:
    seconds: float
    flushes: int


async def _store_run(events: list[Event], db: Path, *, queue_size: int, chunk: int) -> StoreRun:
    store = EventStore(db)
    await store.open()
    bus = EventBus()
    sub = store.attach(bus, queue_size=queue_size)
    publish = bus.publish
    room = queue_size - chunk
    started = time.perf_counter()
    for start in range(0, len(events), chunk):
        while sub.pending > room:  # noqa: ASYNC110 - the subscription has no "drained" signal
            # Backpressure for the benchmark only: the gateway never waits on the store.
            await asyncio.sleep(0.001)
        for event in events[start : start + chunk]:
            publish(event)
        await asyncio.sleep(0)
    await store.close()
    seconds = time.perf_counter() - started
    stats = store.stats
    if stats.dropped or stats.lost or stats.write_errors:
        raise SystemExit(f"store run lost events: {stats}")
    return StoreRun(seconds, stats.flushes)


def store_run(events: list[Event], db: Path, *, queue_size: int, chunk: int) -> StoreRun:
    run = asyncio.run(_store_run(events, db, queue_size=queue_size, chunk=chunk))
    check_rows(db, len(events))
    return run


def raw_run(rows: list[tuple[float, float, str, str]], db: Path) -> float:
    prepare_database(db)
    conn = connect_writer(db)
    try:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT_SQL, rows)
        conn.execute("COMMIT")
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    check_rows(db, len(rows))
    return seconds


def check_rows(db: Path, expected: int) -> None:
    conn = sqlite3.connect(db)
    try:
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    finally:
        conn.close()
    if count != expected:
        raise SystemExit(f"{db}: expected {expected} rows, found {count}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per run")
    parser.add_argument("--runs", type=int, default=7, help="runs of each side (interleaved)")
    parser.add_argument("--queue-size", type=int, default=10_000, help="store subscription size")
    parser.add_argument("--chunk", type=int, default=1_000, help="events published per loop turn")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    if args.chunk > args.queue_size:
        parser.error("--chunk must not exceed --queue-size (that would drop events)")

    events = make_events(args.events)
    rows = encode_rows(events)
    # Long-lived inputs go to the permanent GC generation so neither side pays for scanning
    # them; what each side allocates while timed is still collected as usual.
    gc.collect()
    gc.freeze()

    store_rates: list[float] = []
    raw_rates: list[float] = []
    with tempfile.TemporaryDirectory(prefix="clawtop-bench-") as tmp:
        for run in range(args.runs):
            sides = ("store", "raw") if run % 2 == 0 else ("raw", "store")
            for side in sides:
                db = Path(tmp) / f"{side}-{run}.sqlite3"
                if side == "store":
                    result = store_run(events, db, queue_size=args.queue_size, chunk=args.chunk)
                    store_rates.append(args.events / result.seconds)
                    detail = f"{result.flushes} flushes"
                else:
                    raw_rates.append(args.events / raw_run(rows, db))
                    detail = "1 transaction"
                rate = (store_rates if side == "store" else raw_rates)[-1]
                print(f"run {run + 1}/{args.runs} {side:5s} {rate:>11,.0f} events/s  ({detail})")
                for path in Path(tmp).glob(f"{side}-{run}.sqlite3*"):
                    path.unlink()

    store_median = statistics.median(store_rates)
    raw_median = statistics.median(raw_rates)
    # Each run's two sides ran back to back, under the same machine load: the median of the
    # per-run ratios is steadier than the ratio of two medians on a noisy shared machine.
    ratios = [store / raw for store, raw in zip(store_rates, raw_rates, strict=True)]
    ratio = statistics.median(ratios)
    rate_ok = store_median >= TARGET_EVENTS_PER_S
    ratio_ok = ratio >= TARGET_RATIO
    print()
    print(f"events per run: {args.events:,}  runs: {args.runs}  cpus: {os.cpu_count()}  "
          f"python {sys.version.split()[0]}  sqlite {sqlite3.sqlite_version}")
    print(f"store (bus → EventStore → file), median: {store_median:>11,.0f} events/s  "
          f"target ≥ {TARGET_EVENTS_PER_S:,}: {'met' if rate_ok else 'NOT met'}")
    print(f"raw sqlite3 executemany, median:         {raw_median:>11,.0f} events/s")
    print(f"ratio store/raw, median of per-run ratios: {ratio:.2f}  "
          f"(runs: {' '.join(f'{r:.2f}' for r in ratios)}; ratio of medians "
          f"{store_median / raw_median:.2f})  target ≥ {TARGET_RATIO:.2f}: "
          f"{'met' if ratio_ok else 'NOT met'}")
    return 1 if args.check and not (rate_ok and ratio_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
