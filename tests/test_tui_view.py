"""The dashboard talks to the core only through ``core.view.GatewayView``.

Checked three ways: the real :class:`Gateway` offers every member with the right shape; the
whole app runs (every pane mounted, fed, drilled into; chat, slash commands, theme save)
against a small fake that implements only the Protocol and records any other attribute asked
for; and a static scan of ``tui/`` finds no attribute of a gateway outside the Protocol, no
import of the CLI or of the gateway implementation, no ``getattr`` and no kind-string dispatch.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Input

from core.bench.runner import BenchRunner, BenchSpec
from core.bench.store import RunRow
from core.chat.events import ChatTurnFinished
from core.chat.result import TurnResult
from core.compaction.compactor import CompactionResult
from core.compaction.events import CompactionAborted
from core.config.errors import ConfigError
from core.config.schema import ClawtopConfig
from core.context.events import ContextReportUpdated
from core.events import ConfigReloaded, EventBus, GatewayStarted, Subscription
from core.providers.types import Usage
from core.pruning.events import PruneDecision
from core.retry.events import RetryAttempt
from core.retry.records import OperationRecord
from core.sandbox.api import ContainerInfo
from core.sandbox.events import SandboxStats
from core.telemetry.records import StoredEvent
from core.view import GatewayState, GatewayView, OnDelta, OnTool
from tests import tui_support
from tests.tui_support import gateway_with_config
from tui.app import ClawtopApp
from tui.panes import ChatPane, PrunesPane, RetriesPane, SandboxPane
from tui.screens.prune_detail import PruneDetailScreen
from tui.screens.retry_detail import RetryDetailScreen
from tui.screens.sandbox_detail import SandboxDetailScreen

ROOT = Path(__file__).resolve().parent.parent
TUI = ROOT / "tui"
SIZE = (160, 50)
wait_until = partial(tui_support.wait_until, timeout=10.0, step=0.02)

MEMBERS = frozenset(name for name in vars(GatewayView) if not name.startswith("_"))
"""Every member of the Protocol (what the dashboard may use)."""


def test_the_protocol_is_what_the_brief_asks_for() -> None:
    assert {"state", "start", "stop", "subscribe", "events_published", "events_dropped", "config",
            "config_source", "config_path", "config_error", "restart_pending", "save_config_value",
            "chat_send", "cancel_turn", "chat_new", "chat_compact", "chat_context", "prune_detail",
            "stored_events", "bench_runner", "run_bench", "sandbox_containers"} <= MEMBERS


def test_gateway_implements_every_member_with_the_same_shape(tmp_path: Path) -> None:
    gateway = gateway_with_config(tmp_path)
    view: GatewayView = gateway  # mypy checks the structure; the loop below checks it at run time
    for name in MEMBERS:
        declared = vars(GatewayView)[name]
        assert hasattr(view, name), name
        actual = getattr(view, name)
        if isinstance(declared, property):
            assert not inspect.ismethod(actual), f"{name} must be a value, not a method"
        else:
            assert inspect.ismethod(actual), f"{name} must be a method"
            assert inspect.iscoroutinefunction(actual) == inspect.iscoroutinefunction(declared), name
    assert view.state is GatewayState.STOPPED
    assert view.config_source == gateway.loaded.source and view.config_path == gateway.loaded.path
    assert view.restart_pending == () and view.config_error is None
    assert view.session_cache_hit_rate is None and dict(view.sandbox_containers) == {}


async def test_cancel_turn_cancels_the_turn_in_flight(tmp_path: Path) -> None:
    gateway = gateway_with_config(
        tmp_path, "{ simulator: { models: { fast: { ttftMs: 5, tokensPerSec: 20, replyTokens: 400 } } } }")
    sub = gateway.subscribe("test")
    await gateway.start()
    try:
        assert gateway.cancel_turn() == 0
        turn = asyncio.ensure_future(gateway.chat_send("hi"))
        for _ in range(500):
            if gateway.inflight:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # streaming by now
        assert gateway.cancel_turn() == 1
        try:
            await turn
            raise AssertionError("the turn was not cancelled")
        except asyncio.CancelledError:
            pass
    finally:
        await gateway.stop()
    finished = [e for e in sub.take_nowait() if isinstance(e, ChatTurnFinished)]
    assert [e.outcome for e in finished] == ["cancelled"]


# -- the app against a fake that is only a GatewayView ----------------------------------------


class ProtocolOnly:
    """Implements GatewayView and nothing else; records every public attribute asked for."""

    def __init__(self) -> None:
        self._bus = EventBus()
        self._config = ClawtopConfig.model_validate({"agents": {"defaults": {"sandbox": {"mode": "all"}}}})
        self._state = GatewayState.STOPPED
        self._decision = PruneDecision(session_id="s1", model="fast", skipped=False, reason="pruned",
                                       touched=({"index": 1, "tool": "read", "action": "soft_trim"},))
        self.used: set[str] = set()
        self.foreign: set[str] = set()
        self.saved: list[tuple[str, object]] = []
        self.sent: list[str] = []

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and name not in ("used", "foreign", "saved", "sent"):
            (self.used if name in MEMBERS else self.foreign).add(name)
        return object.__getattribute__(self, name)

    @property
    def state(self) -> GatewayState:
        return self._state

    async def start(self) -> None:
        self._state = GatewayState.RUNNING
        self._bus.publish(GatewayStarted(config_source="fake", state_dir="/nowhere"))

    async def stop(self) -> None:
        self._state = GatewayState.STOPPED

    def subscribe(self, name: str) -> Subscription:
        return self._bus.subscribe(name)

    @property
    def events_published(self) -> int:
        return self._bus.published

    @property
    def events_dropped(self) -> int:
        return self._bus.dropped

    async def stored_events(self, kinds: Sequence[str], *, limit: int,
                            newest_first: bool = True) -> list[StoredEvent]:
        d = self._decision
        return [StoredEvent(id=1, kind=PruneDecision.kind, wall=d.wall - 1, mono=d.mono - 1,
                            payload=d.payload())] if PruneDecision.kind in kinds else []

    @property
    def config(self) -> ClawtopConfig:
        return self._config

    @property
    def config_source(self) -> str:
        return "fake"

    @property
    def config_path(self) -> Path:
        return Path("/nowhere/config.json5")

    @property
    def config_error(self) -> ConfigError | None:
        return None

    @property
    def restart_pending(self) -> tuple[str, ...]:
        return ()

    @property
    def config_raw_hash(self) -> str | None:
        return "h0"

    async def save_config_value(self, key: str, value: object, *, base_hash: str | None) -> str | None:
        self.saved.append((key, value))
        return "h1"

    @property
    def session_cache_hit_rate(self) -> float | None:
        return None

    async def chat_send(self, text: str, *, on_delta: OnDelta | None = None,
                        on_tool: OnTool | None = None) -> TurnResult:
        self.sent.append(text)
        if on_delta is not None:
            on_delta("fake reply")
        record = OperationRecord(op_id="op", operation="chat.send", provider="fake")
        return TurnResult(reply="fake reply", usage=Usage(), model="fake/model", stop_reason="end_turn",
                          ttft_ms=1.0, latency_ms=2.0, record=record, records=[record], models=["fake/model"])

    def cancel_turn(self) -> int:
        return 0

    async def chat_new(self) -> str:
        return "new-session"

    async def chat_compact(self, instructions: str | None = None) -> CompactionResult:
        event = CompactionAborted(session_id="s", trigger="manual", reason="nothing_to_summarize")
        return CompactionResult(entry=None, aborted="nothing_to_summarize", tokens_before=0, tokens_after=None,
                                event=event)

    async def chat_context(self, mode: str = "list") -> str:
        return f"context {mode}"

    def prune_detail(self, decision: PruneDecision) -> list[dict[str, Any]] | None:
        return [{"index": 1, "before": "long text", "after": "short"}] if decision == self._decision else None

    def bench_runner(self, spec: BenchSpec) -> BenchRunner:
        raise AssertionError("not started in this test")

    async def run_bench(self, runner: BenchRunner) -> dict[str, Any]:
        raise AssertionError("not started in this test")

    async def bench_history(self, limit: int = 50) -> list[RunRow]:
        return []

    async def bench_run(self, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        raise AssertionError("no stored run")

    @property
    def sandbox_containers(self) -> Mapping[str, ContainerInfo]:
        return {}


async def test_the_whole_app_runs_on_the_protocol_alone() -> None:
    fake = ProtocolOnly()
    view: GatewayView = fake
    app = ClawtopApp(view)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.status_info().gateway_state == "running")
        prunes = app.dashboard.query_one(PrunesPane)
        await wait_until(pilot, lambda: len(prunes.stored_keys) == 1)
        fake._bus.publish(fake._decision)
        fake._bus.publish(RetryAttempt(
            op_id="op1", operation="chat.send", provider="sim", model="sim/fast", attempt=1, max_attempts=4,
            idempotent=False, outcome="ok", error_class=None, reason=None, status=200, planned_delay_ms=0,
            slept_ms=0, retry_after_ms=None, retry_after_raw=None, retry_after_source=None, decision_reason="done",
            policy="attempts=4", start=1.0, end=1.5, duration_ms=500, budget_tokens=None,
            deadline_remaining_ms=None))
        fake._bus.publish(SandboxStats(name="c1", cpu_percent=5.0, memory_bytes=1 << 20, memory_limit_bytes=None,
                                       pids=2, pids_limit=None))
        fake._bus.publish(ContextReportUpdated(
            session_id="s1", model="sim/fast", window_tokens=1000, window_source="model", estimated_tokens=100,
            free_tokens=900, reserved_output_tokens=0, categories={"user": 100}, thresholds={"softTrim": 200},
            chars_per_token=4.0))
        fake._bus.publish(ConfigReloaded(changed_paths=("ui.refreshMs", "agents.defaults.sandbox.mode")))
        retries = app.dashboard.query_one(RetriesPane)
        sandbox = app.dashboard.query_one(SandboxPane)
        await wait_until(pilot, lambda: "op1" in retries.ops and "c1" in sandbox.containers
                         and len(prunes.decisions) == 2)
        # Drill into each pane's detail.
        for key, pane_table, screen in (("2", prunes.query_one(DataTable), PruneDetailScreen),
                                        ("3", retries.query_one("#retries-ops", DataTable), RetryDetailScreen),
                                        ("4", sandbox.query_one("#sandbox-containers", DataTable),
                                         SandboxDetailScreen)):
            await pilot.press(key)
            pane_table.move_cursor(row=0)
            await pilot.press("enter")
            await wait_until(pilot, lambda screen=screen: isinstance(app.screen, screen))  # type: ignore[misc]
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is app.dashboard)
        # Chat: a turn and each slash command.
        chat = app.dashboard.query_one(ChatPane)
        await wait_until(pilot, lambda: not chat.query_one(Input).disabled)
        await pilot.press("6")
        assert app.focused is chat.query_one(Input)
        for text in ("hello", "/context detail", "/new", "/compact"):
            chat.query_one(Input).value = text
            await pilot.press("enter")
            await wait_until(pilot, lambda: not chat.busy)
        assert fake.sent == ["hello"]
        assert [t for _, t in chat.transcript][-1] == "Not compacted: nothing_to_summarize — "
        # A theme picked by the user is saved through the Protocol.
        app.theme = "textual-light"
        await wait_until(pilot, lambda: fake.saved == [("ui.theme", "textual-light")])
    assert fake.foreign == set(), f"the dashboard used non-GatewayView members: {sorted(fake.foreign)}"
    assert {"subscribe", "state", "config", "events_published", "stored_events", "prune_detail", "chat_send",
            "chat_context", "chat_new", "chat_compact", "save_config_value", "sandbox_containers",
            "bench_history", "stop"} <= fake.used


# -- static checks of tui/ ----------------------------------------------------------------------


def _sources() -> list[Path]:
    return sorted(TUI.rglob("*.py"))


def _gateway_attributes(tree: ast.AST) -> set[str]:
    """Attribute names read off anything called ``gateway`` (``gateway.x``, ``self.gateway.x``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = node.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if owner_name == "gateway":
                names.add(node.attr)
    return names


def test_tui_reads_no_gateway_attribute_outside_the_protocol() -> None:
    seen: dict[str, set[str]] = {}
    for path in _sources():
        used = _gateway_attributes(ast.parse(path.read_text(encoding="utf-8")))
        if used:
            seen[str(path.relative_to(ROOT))] = used
    assert seen, "the scan found no gateway use at all: it is not looking at the right thing"
    outside = {path: sorted(names - MEMBERS) for path, names in seen.items() if names - MEMBERS}
    assert outside == {}


def test_the_scan_would_catch_a_reach_into_the_gateway() -> None:
    tree = ast.parse("self.app.gateway.agent.hooks.prune_detail(d)\ngateway.store.query()\nself.gateway.config")
    assert _gateway_attributes(tree) == {"agent", "store", "config"}


def test_tui_imports_neither_the_cli_nor_the_gateway_implementation() -> None:
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for module in modules:
                cli = module == "clawtop" or module.startswith("clawtop.")
                # tui/screenshot.py is a composition root (it builds the Gateway it pictures).
                gateway = module == "core.gateway" or module.startswith("core.gateway.")
                implementation = gateway and path.name != "screenshot.py"
                if cli or implementation:
                    offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []


def test_no_getattr_and_no_kind_string_dispatch_in_tui() -> None:
    pattern = re.compile(r"getattr\(|\.kind ?== ?|\.kind in |kind\.startswith")
    hits = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for path in _sources()
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if pattern.search(line)]
    assert hits == []


def test_refresh_bounds_are_the_schema_s() -> None:
    import pydantic

    from core.config.schema.ui import UiConfig
    from tui.refresh import REFRESH_DEFAULT_MS, REFRESH_MAX_MS, REFRESH_MIN_MS

    for valid in (REFRESH_MIN_MS, REFRESH_MAX_MS):
        assert UiConfig.model_validate({"refreshMs": valid}).refresh_ms == valid
    for invalid in (REFRESH_MIN_MS - 1, REFRESH_MAX_MS + 1):
        try:
            UiConfig.model_validate({"refreshMs": invalid})
            raise AssertionError(f"{invalid} accepted")
        except pydantic.ValidationError:
            pass
    assert UiConfig.model_validate({}).refresh_ms == REFRESH_DEFAULT_MS
