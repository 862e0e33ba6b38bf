"""The gateway's sandbox runtime: the :class:`~core.sandbox.api.SandboxManager` (``exec`` runs
there), its :class:`~core.sandbox.stats.StatsSampler`, the process fallback's ``/proc`` stats loop
and the sandbox part of a config reload (mode on/off, live limits, drift).

The gateway holds one :class:`SandboxRuntime`; it is started when the gateway starts and
``agents.defaults.sandbox.mode`` is not ``off``. Manager events go to the gateway's bus (from any
thread) and a container coming or going re-syncs the sampler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from core.config.reload_plan import rule_for
from core.config.schema.reload import Reload
from core.events import Event
from core.sandbox.api import ContainerInfo, SandboxManager
from core.sandbox.stats import StatsSampler
from core.sandbox.tuning import apply_live_limits_async

if TYPE_CHECKING:
    from core.config.loader import LoadedConfig

__all__ = ["PROCESS_STATS_S", "SANDBOX_RESYNC", "STOP_GRACE_S", "SandboxRuntime"]

SANDBOX_RESYNC = frozenset({"sandbox.container_created", "sandbox.container_reused", "sandbox.container_recreated",
                            "sandbox.container_removed", "sandbox.limits_updated"})
"""Sandbox events after which the runtime re-reads its containers and re-syncs the sampler."""
PROCESS_STATS_S = 2.0
"""Sampling interval of the process fallback's ``/proc`` stats (the Docker sampler streams)."""
STOP_GRACE_S = 5.0
"""How long ``stop()`` lets its cancelled background tasks unwind."""

log = logging.getLogger("clawtop.gateway")


class SandboxRuntime:
    """Owns the sandbox manager, the stats sampler and their background tasks.

    ``loaded`` returns the config in force (read at start and on reload); ``publish`` is the
    gateway bus's publish."""

    def __init__(self, loaded: Callable[[], LoadedConfig], publish: Callable[[Event], None]) -> None:
        self._loaded = loaded
        self._publish = publish
        self.manager: SandboxManager | None = None
        """The sandbox manager while running with ``agents.defaults.sandbox.mode`` not ``off``."""
        self.stats: StatsSampler | None = None
        self.containers: dict[str, ContainerInfo] = {}
        """Latest ``ContainerInfo`` per sandbox name (limits, hardening) for the dashboard."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Create the manager and the stats sampler when sandboxing is on. The backend is chosen
        (Docker probe) in the background so a slow or absent daemon never delays start-up."""
        loaded = self._loaded()
        if loaded.config.agents.defaults.sandbox.mode == "off":
            return
        self._loop = asyncio.get_running_loop()
        self.manager = SandboxManager(loaded.config, publish=self.publish, state_dir=loaded.state_dir)
        self.stats = StatsSampler(self._publish)
        self.stats.start()
        self._task(self._sync_stats(), "sandbox-stats-sync")
        self._task(self._process_stats_loop(), "sandbox-process-stats")

    async def stop(self) -> None:
        """Stop the sampler and the manager's clients; containers stay for reuse
        (docs/design/sandbox.md#ensure-and-drift)."""
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE_S)
        sampler, self.stats = self.stats, None
        manager, self.manager = self.manager, None
        self.containers.clear()
        if sampler is not None:
            await sampler.close()
        if manager is not None:
            await manager.close()

    def _task(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("sandbox task %s failed: %s", task.get_name(), task.exception())

    def publish(self, event: Event) -> None:
        """The manager's publish: to the bus, and a container coming or going re-syncs the stats
        sampler (so a container created by an exec is watched at once). Safe from worker threads."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is not None and running is not self._loop:
            self._loop.call_soon_threadsafe(self.publish, event)
            return
        self._publish(event)
        if event.kind == "sandbox.container_removed":
            self.containers.pop(getattr(event, "name", ""), None)
        # A reuse of a container already known changes nothing; anything else re-syncs.
        reused_known = event.kind == "sandbox.container_reused" and getattr(event, "name", "") in self.containers
        if self.stats is not None and event.kind in SANDBOX_RESYNC and not reused_known:
            self._task(self._sync_stats(), "sandbox-stats-sync")

    async def _sync_stats(self) -> None:
        """Refresh the known sandboxes (limits, hardening) and, on Docker, watch every running
        container of this gateway's prefix with the stats sampler."""
        manager, sampler = self.manager, self.stats
        if manager is None or sampler is None:
            return
        backend = await manager.backend()
        self.containers = {info.name: info for info in await manager.list()}
        client = getattr(backend, "client", None)
        if not backend.isolated or client is None:
            return
        # Only this gateway's containers (its prefix), not every clawtop container on the host.
        prefix = manager.config.docker.container_prefix
        running = await asyncio.to_thread(client.containers.list,
                                          filters={"label": "clawtop.sandbox=1", "status": "running"})
        ours = {c.name: c for c in running if c.name.startswith(prefix)}
        for name in [n for n in sampler.names() if n not in ours]:
            sampler.unwatch(name)
        for name, container in ours.items():
            sampler.watch(name, container)

    async def _process_stats_loop(self) -> None:
        """The process fallback has no stream to subscribe to: sample its ``/proc`` usage."""
        manager = self.manager
        if manager is None:
            return
        backend = await manager.backend()
        if backend.isolated or not hasattr(backend, "stats"):
            return
        while True:
            await backend.stats()
            await asyncio.sleep(PROCESS_STATS_S)

    async def reconfigure(self, old: Any, new: Any, paths: Sequence[str]) -> None:
        """Sandbox keys on reload: mode on/off starts or stops the manager; the keys the schema
        declares ``docker-update`` (the resource limits) go to running containers in place (one
        engine update each, events from the tuning module, docs/design/sandbox.md#live-limit-tuning); any other key is
        config drift, which the manager handles on the next ensure (recreate when idle)."""
        old_sb, new_sb = old.agents.defaults.sandbox, new.agents.defaults.sandbox
        if old_sb == new_sb:
            return
        if (old_sb.mode == "off") != (new_sb.mode == "off"):
            await self.stop()
            self.start()
            return
        manager = self.manager
        if manager is None:
            return
        manager.config = new_sb
        backend = getattr(manager, "_backend", None)
        if backend is not None and hasattr(backend, "config"):
            backend.config = new_sb  # the backend hashes its own copy: drift must see the new one
        if not any(rule_for(p).reload is Reload.DOCKER_UPDATE for p in paths):
            return
        try:
            backend = await manager.backend()
            if not backend.isolated:
                return  # the process fallback applies limits per exec (rlimits) from its config
            client = _PrefixScopedClient(backend.client, new_sb.docker.container_prefix)  # type: ignore[attr-defined]
            events = await apply_live_limits_async(client, old_sb, new_sb, source="config")
        except Exception as exc:  # noqa: BLE001 - a failed update must not break the reload
            log.warning("sandbox live limits not applied: %s", exc)
            return
        for event in events:
            self.publish(event)


class _PrefixScopedClient:
    """A docker client view whose ``containers.list`` keeps only names with this gateway's
    prefix: ``apply_live_limits`` selects by the shared ``clawtop.sandbox`` label alone, which
    would retune another clawtop's (or a concurrent test's) containers on the same host."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.api = client.api
        self.containers = self
        self._client, self._prefix = client, prefix

    def list(self, **kwargs: Any) -> list[Any]:
        return [c for c in self._client.containers.list(**kwargs) if c.name.startswith(self._prefix)]
