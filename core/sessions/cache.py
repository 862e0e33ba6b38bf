"""The session-manager cache and the session-store cache (docs/design/sessions.md#session-caches).

Both are one :class:`FileTtlCache`: entries keyed by file path, valid only while younger than
the TTL **and** while the file's current mtime and size equal the ones recorded at load (so a
write by another process — OpenClaw itself, an editor — is never masked), swept lazily at most
once per ``clamp(ttl, 1 s, 30 s)``. Every lookup publishes a hit or a miss and every removal an
evict event; counters feed the dashboard's hit-rate display.

Differences from OpenClaw, on purpose: OpenClaw's session-manager "cache" only remembers which
transcripts were opened recently (and pre-reads 4 KiB to warm the page cache); clawtop keeps the
parsed :class:`~core.sessions.model.Session` too, because re-parsing a long transcript on every
agent turn is the cost the cache exists to avoid. The pre-read stays (:meth:`prewarm`), for the
first open of a file the cache has not seen.

TTLs: ``CLAWTOP_SESSION_MANAGER_CACHE_TTL_MS`` then ``OPENCLAW_SESSION_MANAGER_CACHE_TTL_MS``
(store: ``…_SESSION_CACHE_TTL_MS``) override the config value; a strict non-negative integer,
anything else is ignored; 0 disables the cache.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from core.config.schema.session import SessionConfig
from core.sessions.events import (
    CacheName,
    EvictReason,
    MissReason,
    SessionCacheEvict,
    SessionCacheHit,
    SessionCacheMiss,
)
from core.sessions.index import parse_store
from core.sessions.model import Session
from core.sessions.transcript import Publish

__all__ = [
    "DEFAULT_TTL_MS",
    "CacheStats",
    "FileTtlCache",
    "SessionManagerCache",
    "SessionStoreCache",
    "resolve_ttl_ms",
]

DEFAULT_TTL_MS = SessionConfig().manager_cache_ttl_ms
"""TTL when neither an env override nor the config names one: the ``session`` section's default
(both of its cache TTLs default to the same value)."""
PREWARM_BYTES = 4096
MANAGER_ENV = ("CLAWTOP_SESSION_MANAGER_CACHE_TTL_MS", "OPENCLAW_SESSION_MANAGER_CACHE_TTL_MS")
STORE_ENV = ("CLAWTOP_SESSION_CACHE_TTL_MS", "OPENCLAW_SESSION_CACHE_TTL_MS")

T = TypeVar("T")


def resolve_ttl_ms(env_names: tuple[str, ...], configured: int | None = None,
                   env: Mapping[str, str] | None = None) -> int:
    """First valid env override, else the configured value, else :data:`DEFAULT_TTL_MS`."""
    env = os.environ if env is None else env
    for name in env_names:
        value = env.get(name, "").strip()
        if value.isdigit():  # strict: digits only, so "-1", "1e3", "45s" are ignored
            return int(value)
    return DEFAULT_TTL_MS if configured is None else configured


@dataclasses.dataclass(slots=True)
class CacheStats:
    """Counters since the cache was built (what the dashboard's status line shows)."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


@dataclasses.dataclass(slots=True)
class _Slot(Generic[T]):
    value: T
    stored_at: float
    mtime_ns: int
    size: int


class FileTtlCache(Generic[T]):
    """Path → value, valid while fresh and while the file is unchanged (mtime and size)."""

    def __init__(self, name: CacheName, ttl_ms: int, *, publish: Publish | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.ttl_ms = ttl_ms
        self.stats = CacheStats()
        self._publish = publish
        self._clock = clock
        self._slots: dict[str, _Slot[T]] = {}
        self._last_sweep = clock()

    @property
    def enabled(self) -> bool:
        return self.ttl_ms > 0

    @property
    def sweep_interval_s(self) -> float:
        return min(max(self.ttl_ms, 1000), 30_000) / 1000

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    def get(self, key: str, stat: os.stat_result | None) -> T | None:
        """The cached value if fresh and ``stat`` (the file's current stat, ``None`` if gone)
        matches; publishes hit or miss (and evict for a stale slot)."""
        self._maybe_sweep()
        if not self.enabled:
            return self._miss(key, "disabled")
        slot = self._slots.get(key)
        if slot is None:
            return self._miss(key, "absent")
        if self._expired(slot):
            self.invalidate(key, "ttl")
            return self._miss(key, "expired")
        if stat is None or stat.st_mtime_ns != slot.mtime_ns or stat.st_size != slot.size:
            self.invalidate(key, "changed")
            return self._miss(key, "changed")
        self.stats.hits += 1
        self._emit(SessionCacheHit(cache=self.name, key=key))
        return slot.value

    def put(self, key: str, value: T, mtime_ns: int, size: int) -> None:
        """Store (no-op when disabled). ``mtime_ns``/``size`` describe the file ``value``
        reflects — take them from the same read, never from a later stat."""
        if self.enabled:
            self._slots[key] = _Slot(value, self._clock(), mtime_ns, size)

    def refresh(self, key: str, mtime_ns: int, size: int) -> None:
        """After our own write that the cached value already reflects: re-arm the slot."""
        slot = self._slots.get(key)
        if slot is not None:
            slot.mtime_ns, slot.size, slot.stored_at = mtime_ns, size, self._clock()

    def peek(self, key: str) -> T | None:
        """The cached value without validation or events (for in-place updates)."""
        slot = self._slots.get(key)
        return None if slot is None else slot.value

    def invalidate(self, key: str, reason: EvictReason = "invalidated") -> None:
        if self._slots.pop(key, None) is not None:
            self.stats.evictions += 1
            self._emit(SessionCacheEvict(cache=self.name, key=key, reason=reason))

    def clear(self) -> None:
        for key in list(self._slots):
            self.invalidate(key)

    def sweep(self) -> None:
        """Evict every expired slot."""
        self._last_sweep = self._clock()
        for key, slot in list(self._slots.items()):
            if self._expired(slot):
                self.invalidate(key, "ttl")

    def _maybe_sweep(self) -> None:
        if self._slots and self._clock() - self._last_sweep >= self.sweep_interval_s:
            self.sweep()

    def _expired(self, slot: _Slot[T]) -> bool:
        return (self._clock() - slot.stored_at) * 1000 > self.ttl_ms

    def _miss(self, key: str, reason: MissReason) -> T | None:
        """Count and publish a miss; returns what :meth:`get` answers on one (None)."""
        self.stats.misses += 1
        self._emit(SessionCacheMiss(cache=self.name, key=key, reason=reason))
        return None

    def _emit(self, event: Any) -> None:
        if self._publish is not None:
            self._publish(event)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


class SessionManagerCache(FileTtlCache[Session]):
    """Parsed transcripts (docs/design/sessions.md#session-manager-cache plus the parsed object, see the module
    docstring).

    The cached :class:`Session` is shared, not copied (copying would double the memory the
    cache exists to bound): callers treat it as read-only; the store mutates it only by
    appending, together with the file, then re-arms the slot.
    """

    def __init__(self, ttl_ms: int | None = None, *, publish: Publish | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__("manager", resolve_ttl_ms(MANAGER_ENV, ttl_ms), publish=publish,
                         clock=clock)
        self._warm: dict[str, float] = {}

    def load(self, path: str, loader: Callable[[str], Session]) -> Session:
        """Cached session for ``path`` or ``loader(path)`` (then cached); prewarms on access."""
        session = self.lookup(path)
        if session is None:
            self.prewarm(path)
            session = loader(path)
            self.remember(session)
        return session

    def lookup(self, path: str) -> Session | None:
        """The valid cached session (hit/miss published) and mark the access; the split from
        :meth:`load` lets async callers parse in a thread between the two halves."""
        session = self.get(path, _stat(path))
        if session is not None:
            self._warm[path] = self._clock()  # trackSessionManagerAccess
        return session

    def remember(self, session: Session) -> None:
        """Cache a freshly loaded session (its own ``path``/``mtime_ns``/``size``)."""
        if session.path:
            self.put(session.path, session, session.mtime_ns, session.size)
            self._warm[session.path] = self._clock()

    def prewarm(self, path: str) -> None:
        """OpenClaw's ``prewarmSessionFile``: unless marked within the TTL, read the first
        4 KiB (pulls the file into the OS page cache) and mark it; a missing file is ignored."""
        if not self.enabled:
            return
        marked = self._warm.get(path)
        if marked is not None and (self._clock() - marked) * 1000 <= self.ttl_ms:
            return
        try:
            with open(path, "rb") as fh:
                fh.read(PREWARM_BYTES)
        except OSError:
            return
        self._warm[path] = self._clock()

    def sweep(self) -> None:
        super().sweep()
        now = self._clock()
        self._warm = {p: t for p, t in self._warm.items() if (now - t) * 1000 <= self.ttl_ms}


class SessionStoreCache(FileTtlCache[str]):
    """``sessions.json`` contents (docs/design/sessions.md#session-store-cache), cached as the serialised string: every
    read parses a fresh copy (OpenClaw deep-clones on read so a caller's edits never leak into the cache) and
    a write whose serialisation is unchanged can be skipped."""

    def __init__(self, ttl_ms: int | None = None, *, publish: Publish | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__("store", resolve_ttl_ms(STORE_ENV, ttl_ms), publish=publish,
                         clock=clock)

    def read(self, path: str, loader: Callable[[str], tuple[str, int, int]]) -> dict[str, Any]:
        """A private copy of the store; ``loader(path)`` returns ``(text, mtime_ns, size)``.
        Raises :class:`~core.sessions.index.IndexDamaged` for a file that is not a JSON object
        (never cached, so the repaired file is read next time)."""
        text = self.get(path, _stat(path))
        if text is None:
            text, mtime_ns, size = loader(path)
            data = parse_store(text)
            if size >= 0:  # a missing file is not cached: its creation must be seen at once
                self.put(path, text, mtime_ns, size)
            return data
        return parse_store(text)

    def unchanged(self, path: str, text: str) -> bool:
        """Whether ``text`` equals the cached, still-valid serialisation (write can be skipped)."""
        slot = self._slots.get(path)
        stat = _stat(path)
        return (slot is not None and slot.value == text and stat is not None
                and stat.st_mtime_ns == slot.mtime_ns and stat.st_size == slot.size)
