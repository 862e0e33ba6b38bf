"""Save a theme picked in the dashboard back to the config file's ``ui.theme``.

The write goes through the gateway's comment-preserving writer against the hash of the file as
the gateway last loaded it. Writes are serialised; until the gateway's watcher has reloaded our
own write, the next write uses the hash we produced, so two quick picks do not conflict with
each other.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.view import GatewayView

THEME_KEY = "ui.theme"


class ThemeSaver:
    """Writes ``ui.theme`` for one gateway; ``save`` returns None or the reason it failed."""

    def __init__(self, gateway: GatewayView) -> None:
        self.gateway = gateway
        self._lock = asyncio.Lock()
        self._last: tuple[str | None, str | None] | None = None
        """(base hash written against, hash produced) of our last write."""

    def _base_hash(self) -> str | None:
        base = self.gateway.config_raw_hash
        if self._last is not None and self._last[0] == base:
            return self._last[1]  # the watcher has not reloaded our own write yet
        return base

    async def save(self, name: str) -> str | None:
        async with self._lock:
            base = self._base_hash()
            try:
                new_hash = await self.gateway.save_config_value(THEME_KEY, name, base_hash=base)
            except Exception as exc:  # noqa: BLE001 — conflict, invalid, I/O: reported, never a crash
                return f"{type(exc).__name__}: {exc}"
            self._last = (base, new_hash)
            return None
