"""The simulated prompt cache, following the real APIs' published rules (docs/design/pruning.md#prompt-cache-facts).

Entries are exact prompt prefixes, keyed by the hash chain of their blocks (so a change anywhere
invalidates that point and everything after it) and scoped to one model. An entry lives ``ttl``
from the *start* of the request that wrote or last read it; a read refreshes it for free.
Prefixes shorter than ``min_tokens`` are silently not cached.

* **Anthropic** (explicit breakpoints): only blocks carrying ``cache_control`` (or the last block,
  with top-level ``cache_control``) are written. A lookup checks up to 20 block boundaries back
  from each breakpoint and reads the longest live prefix found. Usage splits the prompt into three
  disjoint parts: ``cache_read_input_tokens`` (the hit), ``cache_creation_input_tokens`` (from the
  hit to the last written breakpoint, split into 5 m and 1 h parts by each breakpoint's TTL) and
  ``input_tokens`` (the rest).
* **OpenAI** (automatic): every message boundary at or above the minimum is written; a hit is
  reported as ``cached_tokens`` rounded down to the minimum plus a multiple of 128, and counts
  inside ``prompt_tokens``. Writes are free and not reported.

Writes become visible when the first output token is produced (:meth:`PromptCache.commit`), as
the real cache only exists once a response begins: parallel requests sent before that all miss.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from itertools import accumulate

from core.sim.request import PromptBlock

__all__ = ["CachePlan", "CacheUsage", "PromptCache"]

LOOKBACK_BLOCKS = 20
"""Block boundaries checked before each breakpoint (Anthropic's automatic lookback)."""
OPENAI_INCREMENT = 128
"""OpenAI reports cached prefixes in steps of this many tokens above the minimum."""
HOUR_MS = 3_600_000
MAX_ENTRIES = 200_000
"""Bound on stored entries; expired ones go first, then the oldest."""


@dataclasses.dataclass(frozen=True, slots=True)
class CacheUsage:
    """Input tokens by cache outcome; ``read + creation + uncached`` is the whole prompt."""

    read: int = 0
    creation: int = 0
    creation_5m: int = 0
    creation_1h: int = 0
    uncached: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class CachePlan:
    """The outcome of a lookup plus what to store when the response begins."""

    usage: CacheUsage
    writes: tuple[tuple[bytes, float], ...] = ()
    """``(chain, expires_at)`` entries to store (a hit's refresh included)."""


class PromptCache:
    """Prefix entries of every model, with their expiry times (monotonic seconds)."""

    def __init__(
        self,
        *,
        min_tokens: int,
        default_ttl_ms: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_tokens = min_tokens
        self.default_ttl_ms = default_ttl_ms
        self._clock = clock
        self._entries: dict[bytes, float] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _live(self, chain: bytes, now: float) -> bool:
        expires = self._entries.get(chain)
        return expires is not None and expires > now

    def plan_breakpoints(self, blocks: Sequence[PromptBlock], started: float) -> CachePlan:
        """Anthropic: read the longest live prefix near a breakpoint, write the breakpoints after it."""
        prefix = list(accumulate(block.tokens for block in blocks))
        total = prefix[-1] if prefix else 0
        marks = [i for i, block in enumerate(blocks) if block.ttl_ms is not None]
        now = self._clock()
        hit = -1
        for mark in marks:
            for index in range(mark, max(hit, mark - LOOKBACK_BLOCKS), -1):
                if self._live(blocks[index].chain, now):
                    hit = index
                    break
        read = prefix[hit] if hit >= 0 else 0
        writes: list[tuple[bytes, float]] = []
        if hit >= 0:
            ttl = blocks[hit].ttl_ms or self.default_ttl_ms
            writes.append((blocks[hit].chain, started + ttl / 1000))
        point, by_ttl = read, {"5m": 0, "1h": 0}
        for mark in marks:
            ttl_ms = blocks[mark].ttl_ms or self.default_ttl_ms
            if mark <= hit or prefix[mark] < self.min_tokens:
                continue
            by_ttl["1h" if ttl_ms >= HOUR_MS else "5m"] += prefix[mark] - point
            point = prefix[mark]
            writes.append((blocks[mark].chain, started + ttl_ms / 1000))
        creation = point - read
        usage = CacheUsage(
            read=read,
            creation=creation,
            creation_5m=by_ttl["5m"],
            creation_1h=by_ttl["1h"],
            uncached=total - read - creation,
        )
        return CachePlan(usage=usage, writes=tuple(writes))

    def plan_automatic(self, blocks: Sequence[PromptBlock], started: float) -> CachePlan:
        """OpenAI: read the longest live prefix at any boundary, write every boundary after it."""
        prefix = list(accumulate(block.tokens for block in blocks))
        total = prefix[-1] if prefix else 0
        now = self._clock()
        hit = next((i for i in range(len(blocks) - 1, -1, -1) if self._live(blocks[i].chain, now)), -1)
        expires = started + self.default_ttl_ms / 1000
        writes = [
            (block.chain, expires)
            for i, block in enumerate(blocks)
            if i >= hit and prefix[i] >= self.min_tokens
        ]
        read = 0
        if hit >= 0 and prefix[hit] >= self.min_tokens:
            steps = (prefix[hit] - self.min_tokens) // OPENAI_INCREMENT
            read = self.min_tokens + steps * OPENAI_INCREMENT
        return CachePlan(usage=CacheUsage(read=read, uncached=total - read), writes=tuple(writes))

    def commit(self, plan: CachePlan) -> None:
        """Store a plan's entries (called when the response begins); an entry's expiry only
        ever moves later."""
        entries = self._entries
        for chain, expires in plan.writes:
            if entries.get(chain, 0.0) < expires:
                entries.pop(chain, None)  # re-insert at the end: dict order = age for eviction
                entries[chain] = expires
        if len(entries) > MAX_ENTRIES:
            self._evict()

    def _evict(self) -> None:
        now = self._clock()
        for chain in [c for c, expires in self._entries.items() if expires <= now]:
            del self._entries[chain]
        excess = len(self._entries) - MAX_ENTRIES
        for chain in list(self._entries)[: max(0, excess)]:
            del self._entries[chain]
