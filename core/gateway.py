"""The gateway: one object that owns the config, the event bus, the telemetry store, the model
providers (with the built-in simulator), the retry engine and the chat service.

Later capabilities hang off it too: sessions, and — when ``agents.defaults.sandbox.mode`` is
not ``off`` — the sandbox manager (``exec`` runs there), its stats sampler and live limit tuning. It is async-first: the dashboard runs
it as a background task of its own event loop, ``clawtop gateway`` runs it headless. It never
imports the UI; the UI subscribes to :attr:`Gateway.bus`.

The simulator is the default model: when ``simulator.enabled`` (the default) the gateway starts
it on a loopback port of its own and registers it as provider ``sim`` (Anthropic Messages API),
used exactly like a configured provider, so a fresh install has a live dashboard.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.config.errors import ConfigError
from core.config.loader import LoadedConfig
from core.config.diff import config_changed_paths
from core.config.reload_plan import decide, plan_reload
from core.config.schema.simulator import SIM_PROVIDER_ID
from core.config.watcher import ConfigWatcher
from core.events import ConfigInvalid, ConfigReloaded, Event, EventBus, GatewayStarted, GatewayStopped
from core.agent.loop import AgentRunner
from core.context import Calibrator, ContextAccountant
from core.sessions.store import SessionStore
from core.chat import ChatService
from core.providers import AnthropicClient, ProviderRegistry
from core.retry import CooldownTracker, RetryEngine
from core.sim import SimulatorServer
from core.telemetry.store import EventStore

if TYPE_CHECKING:
    from core.sandbox.api import ContainerInfo, SandboxManager
    from core.sandbox.stats import StatsSampler

SANDBOX_LIVE_PATHS = tuple(f"agents.defaults.sandbox.docker.{k}" for k in ("cpus", "memory", "memorySwap", "pidsLimit"))
"""Hot paths applied to running containers in place (``docker update``, sandbox spec §13.2)."""
SANDBOX_RESYNC = frozenset({"sandbox.container_created", "sandbox.container_reused", "sandbox.container_recreated",
                            "sandbox.container_removed", "sandbox.limits_updated"})
"""Sandbox events after which the gateway re-reads its containers and re-syncs the sampler."""
PROCESS_STATS_S = 2.0
"""Sampling interval of the process fallback's ``/proc`` stats (the Docker sampler streams)."""

STOP_GRACE_S = 5.0
"""How long ``stop()`` lets cancelled in-flight turns unwind before closing their clients."""

log = logging.getLogger("clawtop.gateway")


class GatewayState(enum.Enum):
    """Lifecycle of the gateway, shown in the dashboard's status bar."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"


class Gateway:
    """Owns config, bus and store; ``start()`` brings them up, ``stop()`` flushes and closes.

    ``watch_config`` turns on hot reload of the config file (on for real runs, off for tests
    that want a frozen config).
    """

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        env: Mapping[str, str] | None = None,
        watch_config: bool = True,
    ) -> None:
        self.loaded = loaded
        self.bus = EventBus()
        self.state = GatewayState.STOPPED
        self.config_error: ConfigError | None = None
        """The last rejected reload; cleared by the next valid one. The old config stays in force."""
        self.restart_pending: tuple[str, ...] = ()
        """Changed paths applied to the file but needing a core restart to take effect."""
        self._env = env
        self._watch_config = watch_config
        self.store = self._make_store()
        self._watcher: ConfigWatcher | None = None
        self._lock = asyncio.Lock()
        self.simulator: SimulatorServer | None = None
        """The built-in simulator while running (``simulator.enabled``), else None."""
        self.providers: ProviderRegistry | None = None
        """Model clients by provider id (``sim`` included) while running."""
        self.retry = RetryEngine(self.bus.publish)
        """The single retry owner of every provider call (its budgets outlive restarts)."""
        self.cooldowns = CooldownTracker(self.config.auth.cooldowns, publish=self.bus.publish)
        """Provider cooldown ladders shared by every turn's fallback chain."""
        self.inflight: set[asyncio.Task[object]] = set()
        """Tasks running a turn; ``stop()`` cancels them before closing the providers."""
        self.sessions = self._make_sessions()
        """Session transcripts (``<state dir>/agents/main/sessions``); None if unavailable."""
        self.context = self._make_context()
        """Context accounting: system prompt, window, calibration, the ``/context`` report."""
        self.agent = AgentRunner(self)
        """Agent turns: tools, prune hook, transcript, compaction (one per session at a time)."""
        self.chat = ChatService(self)
        """Chat turns (the dashboard's Chat pane and ``clawtop send``) on the agent runner."""
        self.sandbox: SandboxManager | None = None
        """The sandbox manager while running with ``agents.defaults.sandbox.mode`` not ``off``."""
        self.sandbox_stats: StatsSampler | None = None
        self.sandbox_containers: dict[str, ContainerInfo] = {}
        """Latest ``ContainerInfo`` per sandbox name (limits, hardening) for the dashboard."""
        self._sandbox_tasks: set[asyncio.Task[Any]] = set()
        self._sandbox_loop: asyncio.AbstractEventLoop | None = None

    def _make_sessions(self) -> SessionStore:
        session = self.config.session
        return SessionStore(self.loaded.state_dir, "main", publish=self._publish_session_event,
                            cache_ttl_ms=session.manager_cache_ttl_ms,
                            store_cache_ttl_ms=session.store_cache_ttl_ms)

    def _publish_session_event(self, event: Event) -> None:
        """Session events go to the bus; a skipped transcript line is also a log warning (a torn
        tail after a crash is expected, a bad line mid-file means corruption: both are said)."""
        if event.kind == "session.line.skipped":
            where = "torn last line" if getattr(event, "last", False) else "corrupt line"
            log.warning("transcript %s: %s %d skipped (%s)", getattr(event, "path", "?"), where,
                        getattr(event, "line_no", 0), getattr(event, "error", ""))
        self.bus.publish(event)

    def _make_context(self) -> ContextAccountant:
        calibrator = Calibrator.in_state_dir(self.loaded.state_dir, publish=self.bus.publish)
        return ContextAccountant(self.config, state_dir=self.loaded.state_dir, calibrator=calibrator,
                                 publish=self.bus.publish)

    @property
    def calibration(self) -> Calibrator:
        """Per-model chars-per-token calibration (pruning spec §11.4), persisted in the state dir."""
        return self.context.calibrator

    def _make_store(self) -> EventStore:
        telemetry = self.config.telemetry
        return EventStore(
            self.loaded.db_path,
            flush_interval_ms=telemetry.flush_interval_ms,
            batch_size=telemetry.batch_size,
            retention_days=telemetry.retention_days,
            retention_rows=telemetry.retention_rows,
        )

    @property
    def config(self):  # type: ignore[no-untyped-def]  # ClawtopConfig; kept loose to avoid a cycle
        """The config in force (the last valid one)."""
        return self.loaded.config

    async def start(self) -> None:
        """Open the store, attach it to the bus, start watching the config file."""
        async with self._lock:
            if self.state is not GatewayState.STOPPED:
                return
            self.state = GatewayState.STARTING
            await self.store.open()
            self.store.attach(self.bus, queue_size=self.config.telemetry.subscriber_queue_size)
            try:
                await self._start_providers()
                self._start_sandbox()
            except BaseException:
                await self._stop_sandbox()
                await self._stop_providers()
                await self.store.close()
                self.state = GatewayState.STOPPED
                raise
            if self._watch_config:
                self._watcher = ConfigWatcher(
                    self.loaded.path,
                    debounce_ms=self.config.gateway.reload.debounce_ms,
                    on_change=self._on_config_change,
                    on_invalid=self._on_config_invalid,
                    # A default-location file may come and go; a named one must exist.
                    explicit=self.loaded.path if self.loaded.explicit else None,
                    env=self._env,
                    current=self.loaded,
                )
                await self._watcher.start()
            self.state = GatewayState.RUNNING
            self.bus.publish(
                GatewayStarted(
                    config_source=self.loaded.source, state_dir=str(self.loaded.state_dir)
                )
            )
            log.info("gateway running (config: %s)", self.loaded.source)

    async def stop(self, reason: str = "stop") -> None:
        """Stop watching, publish ``GatewayStopped`` and flush every pending event to disk."""
        async with self._lock:
            if self.state is not GatewayState.RUNNING:
                return
            self.state = GatewayState.STOPPING
            if self._watcher is not None:
                await self._watcher.stop()
                self._watcher = None
            await self._cancel_inflight()
            await self._stop_sandbox()
            await self._stop_providers()
            if self.sessions is not None:
                await asyncio.to_thread(self.sessions.close)  # transcript writers flushed and closed
            self.bus.publish(GatewayStopped(reason=reason))
            await self.store.close()
            self.state = GatewayState.STOPPED
            log.info("gateway stopped (%s)", reason)

    # -- providers and simulator -----------------------------------------------------------------

    async def _start_providers(self) -> None:
        """Start the simulator (if enabled) and build the registry with it as provider ``sim``."""
        config = self.config
        if config.simulator.enabled:
            self.simulator = SimulatorServer(config.simulator, publish=self.bus.publish)
            await self.simulator.start()
        self.providers = ProviderRegistry(config.models.providers, publish=self.bus.publish)
        if self.simulator is not None:
            self.providers.add(
                SIM_PROVIDER_ID,
                AnthropicClient(SIM_PROVIDER_ID, self.simulator.base_url, None, publish=self.bus.publish),
            )
        log.info("providers: %s", ", ".join(self.providers.ids()) or "none")

    async def _stop_providers(self) -> None:
        """Close the provider clients, then the simulator (clients first: they hold its sockets)."""
        providers, self.providers = self.providers, None
        simulator, self.simulator = self.simulator, None
        if providers is not None:
            await providers.aclose()
        if simulator is not None:
            await simulator.stop()

    async def _cancel_inflight(self) -> None:
        """Cancel running turns and let them unwind (they publish their ``cancelled`` events)."""
        tasks = [t for t in self.inflight if not t.done() and t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE_S)

    async def _on_config_change(self, new: LoadedConfig) -> None:
        """Apply a valid new config by the reload plan and ``gateway.reload.mode``.

        The mode is read from the *new* file: ``gateway.reload`` is read live (kind ``none``),
        so switching reloads off takes effect with the same save.
        """
        self.config_error = None
        paths = config_changed_paths(self.loaded.config, new.config)
        if not paths:
            self.loaded = new  # formatting or comments changed: keep the new raw hash
            return
        plan = plan_reload(paths)
        mode = new.config.gateway.reload.mode
        decision = decide(plan, mode)
        if mode == "off":
            action = "ignored"
        else:
            old = self.loaded
            self.loaded = new
            # Retry settings are read per turn; the cooldown ladder's config is hot too.
            self.cooldowns.config = new.config.auth.cooldowns
            # Pruning/compaction/context settings are read per turn; the turn limit is hot.
            await self.agent.scheduler.set_limit(new.config.agents.defaults.max_concurrent)
            self.context.reconfigure(new.config)
            await self._reconfigure_sandbox(old.config, new.config, paths)
            if self._watcher is not None:
                self._watcher.set_debounce(new.config.gateway.reload.debounce_ms)
            if decision.restart:
                await self._restart_core(old)
                self.restart_pending = ()
                action = "restarted"
            elif decision.skipped_restart:
                self.restart_pending = tuple(sorted({*self.restart_pending, *plan.restart}))
                action = "restart-skipped"
            else:
                action = "applied"
        self.bus.publish(
            ConfigReloaded(
                changed_paths=tuple(paths),
                hot_paths=plan.hot,
                restart_paths=plan.restart,
                none_paths=plan.none,
                mode=mode,
                action=action,
                note=decision.note,
            )
        )
        log.info("config reload (%s, %s): %s", mode, action, ", ".join(paths))

    async def _restart_core(self, old: LoadedConfig) -> None:
        """Restart the core in process with the new config; the bus and its subscribers
        (the dashboard) stay up. The store restarts when ``telemetry.*`` changed; the providers
        and the simulator when ``models``, ``simulator`` or ``auth`` did (in-flight turns are
        cancelled first: their clients are about to close). The retry budgets and the chat's
        conversation carry over."""
        new = self.config
        if old.db_path != self.loaded.db_path or old.config.telemetry != new.telemetry:
            # Attach the new store before closing the old one so no event falls in between.
            old_store, self.store = self.store, self._make_store()
            await self.store.open()
            self.store.attach(self.bus, queue_size=new.telemetry.subscriber_queue_size)
            await old_store.close()
        if old.config.models != new.models or old.config.simulator != new.simulator:
            await self._cancel_inflight()
            await self._stop_providers()
            await self._start_providers()

    # -- sandbox ---------------------------------------------------------------------------------

    def _start_sandbox(self) -> None:
        """Create the manager and the stats sampler when sandboxing is on. The backend is chosen
        (Docker probe) in the background so a slow or absent daemon never delays start-up."""
        if self.config.agents.defaults.sandbox.mode == "off":
            return
        from core.sandbox.api import SandboxManager
        from core.sandbox.stats import StatsSampler

        self._sandbox_loop = asyncio.get_running_loop()
        self.sandbox = SandboxManager(self.config, publish=self._publish_sandbox, state_dir=self.loaded.state_dir)
        self.sandbox_stats = StatsSampler(self.bus.publish)
        self.sandbox_stats.start()
        self._sandbox_task(self._sync_sandbox_stats(), "sandbox-stats-sync")
        self._sandbox_task(self._process_stats_loop(), "sandbox-process-stats")

    async def _stop_sandbox(self) -> None:
        """Stop the sampler and the manager's clients; containers stay for reuse (spec §6.1)."""
        tasks, self._sandbox_tasks = list(self._sandbox_tasks), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE_S)
        sampler, self.sandbox_stats = self.sandbox_stats, None
        manager, self.sandbox = self.sandbox, None
        self.sandbox_containers.clear()
        if sampler is not None:
            await sampler.close()
        if manager is not None:
            await manager.close()

    def _sandbox_task(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._sandbox_tasks.add(task)
        task.add_done_callback(self._sandbox_task_done)

    def _sandbox_task_done(self, task: asyncio.Task[Any]) -> None:
        self._sandbox_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("sandbox task %s failed: %s", task.get_name(), task.exception())

    def _publish_sandbox(self, event: Event) -> None:
        """The manager's publish: to the bus, and a container coming or going re-syncs the stats
        sampler (so a container created by an exec is watched at once). Safe from worker threads."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._sandbox_loop is not None and running is not self._sandbox_loop:
            self._sandbox_loop.call_soon_threadsafe(self._publish_sandbox, event)
            return
        self.bus.publish(event)
        if event.kind == "sandbox.container_removed":
            self.sandbox_containers.pop(getattr(event, "name", ""), None)
        # A reuse of a container already known changes nothing; anything else re-syncs.
        reused_known = event.kind == "sandbox.container_reused" and getattr(event, "name", "") in self.sandbox_containers
        if self.sandbox_stats is not None and event.kind in SANDBOX_RESYNC and not reused_known:
            self._sandbox_task(self._sync_sandbox_stats(), "sandbox-stats-sync")

    async def _sync_sandbox_stats(self) -> None:
        """Refresh the known sandboxes (limits, hardening) and, on Docker, watch every running
        container of this gateway's prefix with the stats sampler."""
        manager, sampler = self.sandbox, self.sandbox_stats
        if manager is None or sampler is None:
            return
        backend = await manager.backend()
        self.sandbox_containers = {info.name: info for info in await manager.list()}
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
        manager = self.sandbox
        if manager is None:
            return
        backend = await manager.backend()
        if backend.isolated or not hasattr(backend, "stats"):
            return
        while True:
            await backend.stats()
            await asyncio.sleep(PROCESS_STATS_S)

    async def _reconfigure_sandbox(self, old: Any, new: Any, paths: list[str]) -> None:
        """Sandbox keys on reload: mode on/off starts or stops the manager; ``cpus``, ``memory``,
        ``memorySwap`` and ``pidsLimit`` go to running containers in place (one engine update
        each, events from the tuning module); any other key is config drift, which the manager
        handles on the next ensure (recreate when idle)."""
        old_sb, new_sb = old.agents.defaults.sandbox, new.agents.defaults.sandbox
        if old_sb == new_sb:
            return
        if (old_sb.mode == "off") != (new_sb.mode == "off"):
            await self._stop_sandbox()
            self._start_sandbox()
            return
        manager = self.sandbox
        if manager is None:
            return
        manager.config = new_sb
        backend = getattr(manager, "_backend", None)
        if backend is not None and hasattr(backend, "config"):
            backend.config = new_sb  # the backend hashes its own copy: drift must see the new one
        if not any(p.startswith(SANDBOX_LIVE_PATHS) for p in paths):
            return
        from core.sandbox.tuning import apply_live_limits_async

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
            self._publish_sandbox(event)

    async def _on_config_invalid(self, error: ConfigError) -> None:
        self.config_error = error
        issues = tuple(issue.format() for issue in error.issues)
        self.bus.publish(ConfigInvalid(path=str(self.loaded.path), issues=issues))
        log.warning("config reload skipped (invalid config): %s", "; ".join(issues))


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
