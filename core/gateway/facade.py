"""The gateway as a front end sees it: the members of :class:`core.view.GatewayView` that are not its
lifecycle, as thin delegations to the gateway's parts, so the UI never reaches into the bus, store,
loader or agent.

:class:`GatewayFacade` is a mixin of :class:`core.gateway.Gateway`; its annotations declare what it
uses of the gateway (built by ``Gateway.__init__``). It does not import :mod:`core.view`: the view
imports the gateway package, and ``tests/test_tui_view.py`` checks the gateway offers every member.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.agent.loop import AgentRunner, OnDelta, OnTool
from core.bench.runner import BenchRunner, BenchSpec, run_and_store
from core.bench.store import RunRow, list_runs, load_run
from core.chat import ChatService
from core.chat.result import TurnResult
from core.compaction.compactor import CompactionResult
from core.config.loader import LoadedConfig
from core.config.schema.root import ClawtopConfig
from core.config.writer import set_value
from core.events import EventBus, Subscription
from core.gateway.state import GatewayState
from core.providers.call import ModelAccess
from core.pruning.events import PruneDecision
from core.sandbox.api import ContainerInfo
from core.sandbox.runtime import SandboxRuntime
from core.sessions.store import SessionStore
from core.sim import FaultInjectionError, SimFaultQueued, SimulatorServer
from core.telemetry.records import StoredEvent
from core.telemetry.store import EventStore
from core.tuning import Change, Proposal, TunableValue, Tuning
from core.tuning.preview import Preview, PreviewSources, preview_proposal
from core.tuning.service import TuningService


class GatewayFacade:
    """Everything the dashboard asks of the gateway apart from ``start()`` and ``stop()``."""

    # What the facade uses of the gateway, all set by ``Gateway.__init__``.
    loaded: LoadedConfig
    state: GatewayState
    bus: EventBus
    store: EventStore
    models: ModelAccess
    sessions: SessionStore
    agent: AgentRunner
    chat: ChatService
    tuning: TuningService
    sandbox_runtime: SandboxRuntime
    simulator: SimulatorServer | None
    inflight: set[asyncio.Task[object]]
    _env: Mapping[str, str] | None

    # -- config, sandbox, events, chat, prune detail, bench --------------------------------------

    @property
    def config(self) -> ClawtopConfig:
        """The config in force (the last valid one)."""
        return self.loaded.config

    @property
    def sandbox_containers(self) -> dict[str, ContainerInfo]:
        """Latest ``ContainerInfo`` per sandbox name (limits, hardening) for the dashboard."""
        return self.sandbox_runtime.containers

    def subscribe(self, name: str) -> Subscription:
        return self.bus.subscribe(name)

    @property
    def events_published(self) -> int:
        return self.bus.published

    @property
    def events_dropped(self) -> int:
        return self.bus.dropped

    async def stored_events(self, kinds: Sequence[str], *, limit: int,
                            newest_first: bool = True) -> list[StoredEvent]:
        return await self.store.query(kinds=list(kinds), limit=limit, newest_first=newest_first)

    @property
    def config_source(self) -> str:
        return self.loaded.source

    @property
    def config_path(self) -> Path:
        return self.loaded.path

    @property
    def config_raw_hash(self) -> str | None:
        return self.loaded.raw_hash

    async def save_config_value(self, key: str, value: object, *, base_hash: str | None) -> str | None:
        result = await asyncio.to_thread(set_value, self.loaded.path, key, value, base_hash=base_hash,
                                         env=self._env)
        return result.new_hash

    @property
    def session_cache_hit_rate(self) -> float | None:
        stats = self.sessions.manager_cache.stats
        return stats.hit_rate if stats.hits + stats.misses else None

    async def chat_send(self, text: str, *, on_delta: OnDelta | None = None,
                        on_tool: OnTool | None = None) -> TurnResult:
        return await self.chat.send(text, on_delta=on_delta, on_tool=on_tool)

    def cancel_turn(self) -> int:
        tasks = [task for task in self.inflight if not task.done()]
        for task in tasks:
            task.cancel()
        return len(tasks)

    async def chat_new(self) -> str:
        return await self.chat.reset()

    async def chat_compact(self, instructions: str | None = None) -> CompactionResult:
        result: CompactionResult = await self.chat.compact(instructions)
        return result

    async def chat_context(self, mode: str = "list") -> str:
        return await self.chat.context(mode)

    def prune_detail(self, decision: PruneDecision) -> list[dict[str, Any]] | None:
        return self.agent.prune_detail(decision)

    def bench_runner(self, spec: BenchSpec) -> BenchRunner:
        return BenchRunner(self, spec)

    async def run_bench(self, runner: BenchRunner) -> dict[str, Any]:
        return await run_and_store(self, runner.spec, runner=runner)

    async def bench_history(self, limit: int = 50) -> list[RunRow]:
        return await asyncio.to_thread(list_runs, self.loaded.db_path, limit=limit)

    async def bench_run(self, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return await asyncio.to_thread(load_run, self.loaded.db_path, ref)

    # -- live tuning: catalogue, propose, apply, undo, history (issue #11, tune-core) -------------

    @property
    def settings_version(self) -> str | None:
        return self.tuning.version

    async def tunables(self, prefix: str = "") -> list[TunableValue]:
        return await self.tuning.tunables(prefix)

    async def propose_tuning(self, changes: Sequence[Change]) -> Proposal:
        return await self.tuning.propose(changes)

    async def apply_tuning(self, changes: Sequence[Change], *, expected_hash: str | None = None) -> Tuning:
        return await self.tuning.apply(changes, origin="dashboard", expected_hash=expected_hash)

    async def undo_tuning(self, tuning_id: str | None = None) -> Tuning:
        return await self.tuning.undo(tuning_id, origin="dashboard")

    async def tuning_history(self) -> list[Tuning]:
        return await self.tuning.history()

    # -- tuning previews (core/tuning/preview, docs/design/tuning.md#previews) --------------------

    async def preview_tuning(self, changes: Proposal | Sequence[Change],
                             session_key: str | None = None) -> Preview:
        proposal = changes if isinstance(changes, Proposal) else await self.tuning.propose(changes)
        running = self.state is GatewayState.RUNNING
        sources = PreviewSources(sessions=self.sessions, session=session_key or self.chat.session_key,
                                 query_events=self.stored_events if running else None)
        return await preview_proposal(self.config, proposal, sources)

    # -- live tuning: simulator faults (issue #11, tune-faults) -----------------------------------

    def inject_fault(self, token: str) -> SimFaultQueued:
        """Queue a one-shot simulator fault for the next model request (see :class:`GatewayView`)."""
        if self.simulator is None:
            if not self.config.simulator.enabled:
                raise FaultInjectionError(
                    "the simulator is disabled (simulator.enabled is false): there is no simulated "
                    "provider to inject a fault into")
            raise FaultInjectionError("the simulator is not running (the gateway has not started)")
        return self.simulator.inject_fault(token)
