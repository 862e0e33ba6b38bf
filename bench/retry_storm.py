"""Retry storm: 100 clients hit a rate-limited server at once; how many calls and how long
until all are served, per jitter mode (docs/design/retry.md#why-jitter, docs/design/retry.md#jitter-modes).

The server (loopback HTTP/1.1, in this file) admits ``--capacity`` requests per ``--window-ms``
fixed window and answers the rest with a bare 429 (no Retry-After, so the backoff — not a
server hint — decides when clients come back). Each client makes one call through
:class:`core.retry.RetryEngine` with the same policy except ``jitterMode``; no retry budget and
no deadline, so every client eventually succeeds and the figures compare pure backoff shapes.

Expected shape (AWS "Exponential Backoff And Jitter"): without jitter clients come back in
lock-step waves and most of each wave is rejected again; full jitter spreads them out and needs
well under half the calls.

    .venv/bin/python bench/retry_storm.py
    .venv/bin/python bench/retry_storm.py --clients 100 --capacity 10 --window-ms 100 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.provider_errors import ProviderHTTPError
from core.retry import AttemptContext, RetryEngine, RetryFailed, RetryPolicy
from core.retry.jitter import JitterMode

MODES: tuple[JitterMode, ...] = ("none", "proportional", "full", "decorrelated")


class WindowServer:
    """Admits ``capacity`` requests per fixed ``window`` seconds; 429 for the rest."""

    def __init__(self, capacity: int, window_s: float) -> None:
        self.capacity, self.window_s = capacity, window_s
        self.calls = self.rejected = 0
        self._window_id = -1
        self._used = 0
        self._start = time.monotonic()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def _admit(self) -> bool:
        window = int((time.monotonic() - self._start) / self.window_s)
        if window != self._window_id:
            self._window_id, self._used = window, 0
        self.calls += 1
        if self._used < self.capacity:
            self._used += 1
            return True
        self.rejected += 1
        return False

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                if length:
                    await reader.readexactly(length)
                if self._admit():
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                else:
                    writer.write(b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 12\r\n\r\nrate limited")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()


async def storm(mode: JitterMode, args: argparse.Namespace) -> tuple[int, float, int]:
    """One storm: returns (server calls, seconds until the last client finished, failures)."""
    server = WindowServer(args.capacity, args.window_ms / 1000)
    url = await server.start()
    engine = RetryEngine(lambda event: None)
    policy = RetryPolicy.default().with_(
        attempts=args.attempts, min_delay_ms=args.min_delay_ms, max_delay_ms=args.max_delay_ms, jitter=args.jitter,
        jitter_mode=mode, deadline_ms=0, rate_limit_attempts=None, budget=None, name=f"storm-{mode}")
    host, port = url.split("//")[1].rstrip("/").split(":")
    # One keep-alive connection per client, opened before the clock starts, and a bare-bones
    # HTTP exchange: the rate limit, not client CPU, must be the bottleneck being measured.
    conns = [await asyncio.open_connection(host, int(port)) for _ in range(args.clients)]

    async def one(i: int) -> bool:
        reader, writer = conns[i]

        async def call(ctx: AttemptContext) -> None:
            writer.write(b"POST / HTTP/1.1\r\nhost: storm\r\ncontent-length: 2\r\n\r\n{}")
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            if status != 200:
                raise ProviderHTTPError("rate limited", provider="storm", status=status)

        try:
            await engine.run(call, policy=policy, operation=f"storm-{i}", provider="storm", idempotent=True)
            return True
        except RetryFailed:
            return False

    started = time.monotonic()
    ok = await asyncio.gather(*(one(i) for i in range(args.clients)))
    elapsed = time.monotonic() - started
    for _, writer in conns:
        writer.close()
    await server.stop()
    return server.calls, elapsed, ok.count(False)


async def main(args: argparse.Namespace) -> None:
    results: dict[str, list[tuple[int, float, int]]] = {m: [] for m in MODES}
    for _ in range(args.runs):
        for mode in MODES:  # interleaved so machine load affects every mode alike
            results[mode].append(await storm(mode, args))
    floor = args.clients
    print(f"{args.clients} clients, server admits {args.capacity} per {args.window_ms} ms, bare 429 otherwise; "
          f"policy min={args.min_delay_ms} max={args.max_delay_ms} jitter={args.jitter} attempts={args.attempts}; "
          f"{args.runs} run(s), medians")
    print(f"{'jitterMode':<14}{'calls':>8}{'calls/client':>14}{'vs none':>9}{'time s':>9}{'failed':>8}")
    base_calls = statistics.median(c for c, _, _ in results["none"])
    for mode in MODES:
        calls = statistics.median(c for c, _, _ in results[mode])
        secs = statistics.median(t for _, t, _ in results[mode])
        failed = max(f for _, _, f in results[mode])
        print(f"{mode:<14}{calls:>8.0f}{calls / floor:>14.2f}{calls / base_calls:>9.2f}{secs:>9.2f}{failed:>8}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--capacity", type=int, default=10, help="requests admitted per window")
    p.add_argument("--window-ms", type=int, default=100)
    p.add_argument("--min-delay-ms", type=int, default=100)
    p.add_argument("--max-delay-ms", type=int, default=5000)
    p.add_argument("--jitter", type=float, default=0.1, help="ratio for proportional mode (Telegram's 0.1)")
    p.add_argument("--attempts", type=int, default=50)
    p.add_argument("--runs", type=int, default=3)
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
