"""``session``: the session caches (docs/design/sessions.md#session-caches) and transcript durability
(docs/design/sessions.md#session-files).

OpenClaw sets both TTLs through environment variables (``OPENCLAW_SESSION_MANAGER_CACHE_TTL_MS``,
``OPENCLAW_SESSION_CACHE_TTL_MS``); clawtop makes them file keys with the same defaults and the
same meaning of 0.
"""

from __future__ import annotations

from typing import Literal

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

    fsync: Literal["always", "batch", "never"] = "always"
    """When a transcript append is acknowledged (the append call returns). ``always``: after the
    line is written and fsynced, one fsync per append. ``batch``: also only after an fsync, but
    concurrent appends to the same file share one (group commit: same durability, fewer syncs
    under load). ``never``: after the write reaches the OS (survives a process crash, not a
    power loss). Default "always"."""
