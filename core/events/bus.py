"""In-process async pub/sub for events.

Publishing never blocks and never awaits: each subscriber owns a bounded queue, and when a
subscriber falls behind its *oldest* pending events are dropped and counted. A slow dashboard or
a stalled disk therefore costs that subscriber some history, never the gateway its latency.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable

from core.events.base import Event

DEFAULT_QUEUE_SIZE = 10_000


class Subscription:
    """One subscriber's bounded queue of pending events.

    Iterate with ``async for event in sub`` or take whole batches with :meth:`get_batch`
    (what the store does, to write one transaction per flush).
    """

    def __init__(
        self,
        bus: EventBus,
        name: str,
        maxsize: int,
        kinds: frozenset[str] | None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("a subscription needs room for at least one event")
        self.name = name
        self.maxsize = maxsize
        self.kinds = kinds
        self.dropped = 0
        """Events discarded because this subscriber fell behind (drop-oldest)."""
        self.delivered = 0
        self._bus = bus
        self._queue: collections.deque[Event] = collections.deque()
        self._ready = asyncio.Event()
        self._closed = False

    def _offer(self, event: Event) -> None:
        queue = self._queue
        if len(queue) >= self.maxsize:
            queue.popleft()
            self.dropped += 1
        queue.append(event)
        self._ready.set()

    @property
    def pending(self) -> int:
        """Events queued and not yet taken."""
        return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._closed

    def take_nowait(self, limit: int | None = None) -> list[Event]:
        """Everything pending (up to ``limit``), without waiting."""
        queue = self._queue
        if limit is None or limit >= len(queue):
            batch = list(queue)
            queue.clear()
        else:
            batch = [queue.popleft() for _ in range(limit)]
        if not queue:
            self._ready.clear()
        self.delivered += len(batch)
        return batch

    async def get_batch(self, limit: int | None = None, timeout: float | None = None) -> list[Event]:
        """Wait until at least one event is pending (or ``timeout`` passes), then take a batch.

        Returns an empty list on timeout or once the subscription is closed and drained.
        """
        if not self._queue and not self._closed:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        return self.take_nowait(limit)

    def close(self) -> None:
        """Stop receiving; pending events can still be taken. Wakes any waiting consumer."""
        if not self._closed:
            self._closed = True
            self._bus._remove(self)
            self._ready.set()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            batch = await self.get_batch()
            if not batch and self._closed:
                return
            for event in batch:
                yield event


class EventBus:
    """Fan-out of events to subscribers, each with its own bounded, drop-oldest queue."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._by_kind_cache: dict[str, tuple[Subscription, ...]] = {}
        self.published = 0
        """Total events published since the bus was created (the dashboard derives events/s)."""
        self._dropped_by_closed = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def subscribe(
        self,
        name: str,
        *,
        maxsize: int = DEFAULT_QUEUE_SIZE,
        kinds: Iterable[str] | None = None,
    ) -> Subscription:
        """Register a subscriber. ``kinds`` limits it to those event kinds (None: all)."""
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()
        sub = Subscription(self, name, maxsize, frozenset(kinds) if kinds is not None else None)
        self._subs.append(sub)
        self._by_kind_cache.clear()
        return sub

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subs)

    @property
    def dropped(self) -> int:
        """Events dropped by any subscriber since the bus was created (closed ones included,
        so the figure never goes down when a subscriber leaves)."""
        return self._dropped_by_closed + sum(s.dropped for s in self._subs)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every interested subscriber. Never blocks, never raises."""
        self.published += 1
        targets = self._by_kind_cache.get(event.kind)
        if targets is None:
            targets = tuple(s for s in self._subs if s.kinds is None or event.kind in s.kinds)
            self._by_kind_cache[event.kind] = targets
        for sub in targets:
            sub._offer(event)

    def publisher_threadsafe(self) -> Callable[[Event], None]:
        """A publish function safe to call from worker threads (it hops onto the bus's loop)."""
        loop = self._loop or asyncio.get_running_loop()

        def publish(event: Event) -> None:
            loop.call_soon_threadsafe(self.publish, event)

        return publish

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._dropped_by_closed += sub.dropped
            self._by_kind_cache.clear()
