"""``session``: the session caches (pruning spec §8).

OpenClaw sets both TTLs through environment variables (``OPENCLAW_SESSION_MANAGER_CACHE_TTL_MS``,
``OPENCLAW_SESSION_CACHE_TTL_MS``); clawtop makes them file keys with the same defaults and the
same meaning of 0.
"""

from __future__ import annotations

from pydantic import Field

from core.config.schema.base import StrictModel

__all__ = ["SessionConfig"]


class SessionConfig(StrictModel):
    """Root ``session`` section."""

    manager_cache_ttl_ms: int = Field(45000, ge=0, le=86_400_000)
    """How long a transcript stays marked "recently opened" (its first 4 KiB pre-read to warm
    the OS page cache) before it is read again, in ms; swept every clamp(ttl, 1 s, 30 s).
    0 disables the cache. Default 45000."""

    store_cache_ttl_ms: int = Field(45000, ge=0, le=86_400_000)
    """How long the parsed session store (sessions.json) is reused, in ms; a hit also needs the
    file's mtime and size unchanged. 0 disables the cache. Default 45000."""
