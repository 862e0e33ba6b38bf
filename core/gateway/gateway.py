"""The gateway: one object that owns the config, the event bus, the telemetry store, the model
providers (with the built-in simulator), the retry engine and the chat service.

Later capabilities hang off it too: sessions, and — when ``agents.defaults.sandbox.mode`` is
not ``off`` — the sandbox runtime (:mod:`core.sandbox.runtime`: the manager ``exec`` runs in, its stats
sampler and live limit tuning). It is async-first: the dashboard runs
it as a background task of its own event loop, ``clawtop gateway`` runs it headless. It never
imports the UI; the UI subscribes to its bus through :mod:`core.gateway.facade`.

This module holds its construction, lifecycle (start, stop, providers and simulator) and config
reload (plan, appliers, in-process restart).

The simulator is the default model: when ``simulator.enabled`` (the default) the gateway starts
it on a loopback port of its own and registers it as provider ``sim`` (Anthropic Messages API),
used exactly like a configured provider, so a fresh install has a live dashboard.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

from core.agent.loop import AgentRunner
from core.agent.transcripts import workspace_dir
from core.chat import ChatService
from core.config.appliers import ReloadAppliers
from core.config.diff import config_changed_paths
from core.config.errors import ConfigError
from core.config.loader import LoadedConfig, load_config
from core.config.reload_plan import decide, plan_reload
from core.config.schema.root import ClawtopConfig
from core.config.schema.simulator import SIM_PROVIDER_ID
from core.config.watcher import ConfigWatcher
from core.context import Calibrator, ContextAccountant
from core.events import ConfigInvalid, ConfigReloaded, Event, EventBus, GatewayStarted, GatewayStopped
from core.events.kinds import ReloadAction
from core.gateway.facade import GatewayFacade
from core.gateway.state import GatewayState
from core.providers import ProviderRegistry
from core.providers.call import ModelAccess
from core.retry import CooldownTracker, RetryEngine
from core.sandbox.api import SandboxManager
from core.sandbox.runtime import SandboxRuntime
from core.sandbox.stats import StatsSampler
from core.sessions.events import TornLineSkipped
from core.sessions.store import SessionStore
from core.sim import SimulatorServer, needs_new_server
from core.telemetry.store import EventStore
from core.tuning.service import TuningService

STOP_GRACE_S = 5.0
"""How long ``stop()`` lets cancelled in-flight turns unwind before closing their clients."""

log = logging.getLogger("clawtop.gateway")


class Gateway(GatewayFacade):
    """Owns config, bus and store; ``start()`` brings them up, ``stop()`` flushes and closes.

    ``watch_config`` turns on hot reload of the config file (on for real runs, off for tests
    that want a frozen config). What the dashboard asks of it (:class:`core.view.GatewayView`) is
    in :class:`GatewayFacade`.
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
        self.tuning = TuningService(loaded=lambda: self.loaded, env=env, publish=self.bus.publish,
                                    reload=self._reload_from_disk)
        """Live tuning: catalogue, apply, undo, history and the settings version in force."""
        self.retry = RetryEngine(self.bus.publish, settings_version=lambda: self.tuning.version)
        """The single retry owner of every provider call (its budgets outlive restarts)."""
        self.cooldowns = CooldownTracker(self.config.auth.cooldowns, publish=self.bus.publish)
        """Provider cooldown ladders shared by every turn's fallback chain."""
        self.inflight: set[asyncio.Task[object]] = set()
        """Tasks running a turn; ``stop()`` cancels them before closing the providers."""
        self.sessions = self._make_sessions()
        """Session transcripts (``<state dir>/agents/main/sessions``); None if unavailable."""
        self.context = self._make_context()
        """Context accounting: system prompt, window, calibration, the ``/context`` report."""
        self.sandbox_runtime = SandboxRuntime(lambda: self.loaded, self.bus.publish)
        """Sandbox manager, stats sampler and their reload handling (when sandboxing is on)."""
        self.models = ModelAccess(config=lambda: self.config, providers=lambda: self.providers, retry=self.retry,
                                  cooldowns=self.cooldowns, publish=self.bus.publish)
        """What every model call uses (chat, agent, compaction, bench): see :mod:`core.providers.call`."""
        self.agent = AgentRunner(config=lambda: self.config, publish=self.bus.publish, sessions=self.sessions,
                                 context=self.context, models=self.models, sandbox=lambda: self.sandbox,
                                 workspace=self._workspace_dir, inflight=self.inflight,
                                 settings_version=lambda: self.tuning.version)
        """Agent turns: tools, prune hook, transcript, compaction (one per session at a time)."""
        self.chat = ChatService(self.agent)
        """Chat turns (the dashboard's Chat pane and ``clawtop send``) on the agent runner."""
        self.reload_appliers = ReloadAppliers()
        """How a reloaded config reaches each running part, by the prefix it reads live."""
        self._register_appliers()

    @property
    def sandbox(self) -> SandboxManager | None:
        """The sandbox manager while running with ``agents.defaults.sandbox.mode`` not ``off``."""
        return self.sandbox_runtime.manager

    @property
    def sandbox_stats(self) -> StatsSampler | None:
        """The sandbox stats sampler while the sandbox manager runs."""
        return self.sandbox_runtime.stats

    def _workspace_dir(self) -> Path:
        """Where the agent's tools work (read per turn: ``agents.defaults.workspace`` is hot)."""
        return workspace_dir(self.loaded, self._env)

    def _make_sessions(self) -> SessionStore:
        session = self.config.session
        return SessionStore(self.loaded.state_dir, "main", publish=self._publish_session_event,
                            cache_ttl_ms=session.manager_cache_ttl_ms,
                            store_cache_ttl_ms=session.store_cache_ttl_ms, fsync=session.fsync)

    def _publish_session_event(self, event: Event) -> None:
        """Session events go to the bus; a skipped transcript line is also a log warning (a torn
        tail after a crash is expected, a bad line mid-file means corruption: both are said)."""
        if isinstance(event, TornLineSkipped):
            where = "torn last line" if event.last else "corrupt line"
            log.warning("transcript %s: %s %d skipped (%s)", event.path, where, event.line_no, event.error)
        self.bus.publish(event)

    def _make_context(self) -> ContextAccountant:
        calibrator = Calibrator.in_state_dir(self.loaded.state_dir, publish=self.bus.publish)
        return ContextAccountant(self.config, state_dir=self.loaded.state_dir, calibrator=calibrator,
                                 publish=self.bus.publish)

    @property
    def calibration(self) -> Calibrator:
        """Per-model chars-per-token calibration (docs/design/context.md#chars-per-token-calibration), persisted in the
        state dir."""
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

    async def start(self) -> None:
        """Open the store, attach it to the bus, start watching the config file."""
        async with self._lock:
            if self.state is not GatewayState.STOPPED:
                return
            self.state = GatewayState.STARTING
            await self.tuning.refresh_version()
            await self.store.open()
            self.store.attach(self.bus, queue_size=self.config.telemetry.subscriber_queue_size)
            try:
                await self._start_providers()
                self.sandbox_runtime.start()
            except BaseException:
                await self.sandbox_runtime.stop()
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
            await self.sandbox_runtime.stop()
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
        self.providers = ProviderRegistry.for_models(config.models, publish=self.bus.publish)
        if self.simulator is not None:
            self.providers.add_simulator(SIM_PROVIDER_ID, self.simulator.base_url)
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
        action: ReloadAction
        if mode == "off":
            action = "ignored"
        else:
            old = self.loaded
            self.loaded = new
            await self.reload_appliers.apply(old.config, new.config, paths)
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

    def _register_appliers(self) -> None:
        """The running parts that read config live, each under the prefix it reads (retry,
        pruning and compaction settings need none: they are read from the config per turn)."""
        def cooldowns(_old: ClawtopConfig, new: ClawtopConfig, _paths: tuple[str, ...]) -> None:
            self.cooldowns.config = new.auth.cooldowns

        async def turn_limit(_old: ClawtopConfig, new: ClawtopConfig, _paths: tuple[str, ...]) -> None:
            await self.agent.scheduler.set_limit(new.agents.defaults.max_concurrent)

        def context(_old: ClawtopConfig, new: ClawtopConfig, _paths: tuple[str, ...]) -> None:
            self.context.reconfigure(new)

        def debounce(_old: ClawtopConfig, new: ClawtopConfig, _paths: tuple[str, ...]) -> None:
            if self._watcher is not None:
                self._watcher.set_debounce(new.gateway.reload.debounce_ms)

        register = self.reload_appliers.register
        register("auth.cooldowns", cooldowns, name="cooldowns")
        register("agents.defaults.maxConcurrent", turn_limit, name="turn-limit")
        register("", context, name="context")  # it holds the whole config: every change
        register("agents.defaults.sandbox", self.sandbox_runtime.reconfigure, name="sandbox")
        register("gateway.reload.debounceMs", debounce, name="watcher")
        register("", self.tuning.on_reload, name="settings-version")
        register("simulator.faults", self._apply_sim_faults, name="sim-faults")

    def _apply_sim_faults(self, _old: ClawtopConfig, new: ClawtopConfig, paths: tuple[str, ...]) -> None:
        """Swap the running simulator's fault plan (the declared-live ``simulator.faults`` keys);
        a ``seed`` change is left to the restart the reload plan orders for it, and a simulator
        that is not running picks the file up when it starts."""
        if self.simulator is None:
            return
        new_script = any(p in ("simulator.faults.script", "simulator.faults.enabled") for p in paths)
        self.simulator.reconfigure_faults(new.simulator.faults, new_script=new_script)

    async def _restart_core(self, old: LoadedConfig) -> None:
        """Restart the core in process with the new config; the bus and its subscribers
        (the dashboard) stay up. The store restarts when ``telemetry.*`` changed; the providers
        and the simulator when ``models``, ``simulator`` (apart from its live fault settings) or
        ``auth`` did (in-flight turns are cancelled first: their clients are about to close). The
        retry budgets and the chat's conversation carry over."""
        new = self.config
        if old.db_path != self.loaded.db_path or old.config.telemetry != new.telemetry:
            # Attach the new store before closing the old one so no event falls in between.
            old_store, self.store = self.store, self._make_store()
            await self.store.open()
            self.store.attach(self.bus, queue_size=new.telemetry.subscriber_queue_size)
            await old_store.close()
        if old.config.models != new.models or needs_new_server(old.config.simulator, new.simulator):
            await self._cancel_inflight()
            await self._stop_providers()
            await self._start_providers()

    async def _on_config_invalid(self, error: ConfigError) -> None:
        self.config_error = error
        issues = tuple(issue.format() for issue in error.issues)
        self.bus.publish(ConfigInvalid(path=str(self.loaded.path), issues=issues))
        log.warning("config reload skipped (invalid config): %s", "; ".join(issues))

    async def _reload_from_disk(self) -> None:
        """Take the config file as now written, through the same path as a watched change (reload plan,
        appliers, ``config.reloaded``), so a tuned value is used by the very next call."""
        try:
            new = await asyncio.to_thread(load_config, self.loaded.path if self.loaded.explicit else None,
                                          env=self._env)
        except ConfigError as exc:
            await self._on_config_invalid(exc)
            return
        await self._on_config_change(new)

