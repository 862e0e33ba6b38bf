"""Event kinds of the session layer: cache hits/misses/evictions, skipped transcript lines and
index rebuilds.

Published so the dashboard's status line can show cache hit rates and so a torn line (a crash
mid-write) or a damaged ``sessions.json`` is visible in telemetry instead of silently dropped.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.events.base import Event, register_kind

__all__ = ["CacheName", "EvictReason", "MissReason", "SessionCacheEvict", "SessionCacheHit", "SessionCacheMiss",
           "SessionIndexRebuilt", "TornLineSkipped"]

CacheName = Literal["manager", "store"]
MissReason = Literal["absent", "expired", "changed", "disabled"]
EvictReason = Literal["ttl", "changed", "invalidated", "write-failed"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SessionCacheHit(Event):
    """``cache`` is ``manager`` (parsed transcripts) or ``store`` (sessions.json); ``key`` the
    file path."""

    kind = "session.cache.hit"
    cache: CacheName
    key: str


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SessionCacheMiss(Event):
    """``reason``: ``absent`` (never loaded), ``expired`` (older than the TTL), ``changed``
    (mtime or size differ) or ``disabled`` (TTL 0)."""

    kind = "session.cache.miss"
    cache: CacheName
    key: str
    reason: MissReason = "absent"


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SessionCacheEvict(Event):
    """An entry left the cache: ``ttl`` (sweep), ``changed`` (file changed), ``invalidated``,
    ``write-failed`` (a write to its file failed, so the cached copy may be ahead of the disk)."""

    kind = "session.cache.evict"
    cache: CacheName
    key: str
    reason: EvictReason = "ttl"


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TornLineSkipped(Event):
    """A transcript line that is not valid JSON was skipped. ``last`` is true for a torn tail
    (a crash mid-append, expected and harmless); a bad line in the middle means corruption."""

    kind = "session.line.skipped"
    path: str
    line_no: int
    offset: int
    length: int
    last: bool
    error: str


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SessionIndexRebuilt(Event):
    """``sessions.json`` was rebuilt from the transcripts: automatically because it was damaged
    (``reason`` says how; the damaged file is kept as ``kept_as``), or by ``clawtop sessions
    repair`` (``reason`` ``"repair"``). ``rows`` is the rebuilt index's size, ``fixes`` the number
    of rows added, dropped or relinked."""

    kind = "session.index.rebuilt"
    path: str
    reason: str
    kept_as: str
    rows: int
    fixes: int
