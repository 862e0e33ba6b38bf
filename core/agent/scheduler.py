"""Turn scheduling: one turn at a time per session, up to ``maxConcurrent`` sessions at once.

Why this order (session lock first, then a global slot): a second message to a busy session
must wait for its session without holding one of the global slots another session could use.
The global limit is a small condition-based limiter rather than ``asyncio.Semaphore`` because
``agents.defaults.maxConcurrent`` is hot-reloadable: changing ``limit`` takes effect for the
next waiter without losing the count of turns already running.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["TurnScheduler"]


class TurnScheduler:
    """``async with scheduler.turn(session_key): …`` serialises per key and bounds the total."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._running = 0
        self._cond = asyncio.Condition()
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}
        self.peak = 0
        """Most turns ever running at once (tests and the dashboard read it)."""

    @property
    def limit(self) -> int:
        return self._limit

    async def set_limit(self, limit: int) -> None:
        """Change the global limit; waiters re-check at once."""
        async with self._cond:
            self._limit = max(1, limit)
            self._cond.notify_all()

    @property
    def running(self) -> int:
        return self._running

    @contextlib.asynccontextmanager
    async def turn(self, session_key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(session_key, asyncio.Lock())
        self._waiters[session_key] = self._waiters.get(session_key, 0) + 1
        try:
            async with lock:
                async with self._cond:
                    await self._cond.wait_for(lambda: self._running < self._limit)
                    self._running += 1
                    self.peak = max(self.peak, self._running)
                try:
                    yield
                finally:
                    async with self._cond:
                        self._running -= 1
                        self._cond.notify_all()
        finally:
            self._waiters[session_key] -= 1
            if not self._waiters[session_key]:  # forget idle sessions: the dict must not grow forever
                del self._waiters[session_key]
                self._locks.pop(session_key, None)
