"""The gateway's tuning collaborator: runs catalogue, propose, apply, undo and history off the event loop,
one write at a time, and keeps the settings version (the id of the tuning in force) that prune decisions
and retry records carry (docs/design/tuning.md#settings-version)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path

from core.config.loader import LoadedConfig
from core.config.schema.root import ClawtopConfig
from core.events.base import Event
from core.tuning.apply import apply_tuning, publish_tuning
from core.tuning.catalogue import TunableValue, list_tunables
from core.tuning.journal import Origin, Tuning, version_in_force
from core.tuning.propose import Change, Proposal, propose
from core.tuning.undo import tuning_history, undo_tuning

__all__ = ["TuningService"]


class TuningService:
    """``loaded`` gives the config in force; ``reload`` makes the running gateway take the file as now
    written (so the next call uses a tuned value without waiting for the file watcher)."""

    def __init__(self, *, loaded: Callable[[], LoadedConfig], env: Mapping[str, str] | None,
                 publish: Callable[[Event], None], reload: Callable[[], Awaitable[None]]) -> None:
        self._loaded = loaded
        self._env = env
        self._publish = publish
        self._reload = reload
        self._lock = asyncio.Lock()
        self.version: str | None = None
        """The id of the tuning whose settings are in force, or None (defaults, a hand edit)."""

    @property
    def state_dir(self) -> Path:
        return self._loaded().state_dir

    async def refresh_version(self) -> None:
        """Re-read the settings version from the journal and the files (at start and after a reload)."""
        self.version = await asyncio.to_thread(version_in_force, self.state_dir)

    async def on_reload(self, _old: ClawtopConfig, _new: ClawtopConfig, _paths: tuple[str, ...]) -> None:
        """Reload applier: a changed file may no longer be what the last tuning wrote."""
        await self.refresh_version()

    async def tunables(self, prefix: str = "") -> list[TunableValue]:
        return await asyncio.to_thread(list_tunables, self._loaded(), prefix)

    async def propose(self, changes: Iterable[Change]) -> Proposal:
        return await asyncio.to_thread(propose, self._loaded(), tuple(changes))

    async def apply(self, changes: Iterable[Change], *, origin: Origin = "dashboard",
                    expected_hash: str | None = None) -> Tuning:
        wanted = tuple(changes)
        async with self._lock:
            tuning = await asyncio.to_thread(apply_tuning, self._loaded(), wanted, origin=origin, publish=None,
                                             env=self._env, expected_hash=expected_hash)
            return await self._settle(tuning)

    async def undo(self, tuning_id: str | None = None, *, origin: Origin = "dashboard") -> Tuning:
        async with self._lock:
            tuning = await asyncio.to_thread(undo_tuning, self._loaded(), tuning_id, origin=origin, publish=None,
                                             env=self._env)
            return await self._settle(tuning)

    async def history(self) -> list[Tuning]:
        return await asyncio.to_thread(tuning_history, self.state_dir)

    async def _settle(self, tuning: Tuning) -> Tuning:
        """Publish on the loop (the bus is not thread-safe), then reload so the change is in force."""
        if not tuning.id:
            return tuning
        publish_tuning(tuning, self._publish)
        self.version = tuning.id if tuning.files else self.version
        await self._reload()
        return tuning
