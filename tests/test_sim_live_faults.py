"""Faults you can tune against, live: ``simulator.faults.*`` reloads into the running simulator
without a core restart, and a one-shot fault can be queued ahead of the script.

The plan and its lock are tested directly; the live behaviour runs a real gateway on a real
config file (the file watcher picks the edit up), with the simulator on loopback and the real
retry engine, and reads what a user would see: the reload event, the turn's retry attempts.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from core.chat.result import TurnFailed
from core.config.loader import load_config
from core.config.reload_plan import plan_reload, rule_for
from core.config.schema.reload import Reload
from core.config.schema.simulator import SimFaults, SimulatorConfig
from core.events import ConfigReloaded, Event, Subscription
from core.faults import FAULT_VOCABULARY
from core.gateway import Gateway
from core.sim import FaultInjectionError, SimFaultInjected, SimFaultQueued, SimulatorServer, needs_new_server
from core.sim.faults import FaultPlan, parse_fault_token, parse_script

# A fast model and a short retry floor: a retried turn takes milliseconds, not seconds.
FAST = "models: { fast: { ttftMs: 5, tokensPerSec: 5000, replyTokens: 10 } }"
RETRY = "retry: { provider: { minDelayMs: 10, maxDelayMs: 50 } }"
RELOAD = "gateway: { reload: { debounceMs: 50 } }"


def config_text(faults: str, *, models: str = FAST) -> str:
    return f"{{\n  // tuned by hand\n  {RELOAD},\n  {RETRY},\n  simulator: {{ {models},\n    faults: {faults} }},\n}}\n"


def _env(tmp_path: Path) -> dict[str, str]:
    return {"CLAWTOP_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)}


async def running(tmp_path: Path, text: str) -> tuple[Gateway, Path]:
    path = tmp_path / "config.json5"
    path.write_text(text, encoding="utf-8")
    env = _env(tmp_path)
    gateway = Gateway(load_config(path, env=env, dotenv=False), env=env)
    await gateway.start()
    return gateway, path


async def next_event(sub: Subscription, kind: type[Event], timeout: float = 10.0) -> Event:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in await sub.get_batch(timeout=0.1):
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__} event within {timeout}s")


def statuses(result: object) -> list[int | None]:
    """Each attempt's HTTP status in the turn's retry operation (None = answered)."""
    return [a.status for a in result.record.attempts]  # type: ignore[attr-defined]


# --- declarations -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["enabled", "script", "faultRate", "randomFaults"])
def test_the_fault_settings_are_declared_live(key: str) -> None:
    rule = rule_for(f"simulator.faults.{key}")
    assert (rule.reload, rule.action, rule.effect) == (Reload.HOT, "sim-faults", "applies live")


@pytest.mark.parametrize("path", ["simulator.faults.seed", "simulator.port", "simulator.enabled",
                                  "simulator.models.fast.ttftMs", "simulator.rateLimits.rpm",
                                  "simulator.cache.defaultTtl"])
def test_other_simulator_keys_still_need_a_restart(path: str) -> None:
    assert rule_for(path).reload is Reload.RESTART
    assert plan_reload([path]).needs_restart


def test_only_a_non_fault_change_rebuilds_the_simulator() -> None:
    base = SimulatorConfig()
    faults = SimulatorConfig.model_validate({"faults": {"script": "503", "faultRate": 0.5, "enabled": False,
                                                        "randomFaults": ["500"]}})
    assert not needs_new_server(base, faults)
    assert needs_new_server(base, SimulatorConfig.model_validate({"faults": {"seed": 7}}))
    assert needs_new_server(base, SimulatorConfig.model_validate({"port": 40999}))
    assert needs_new_server(base, SimulatorConfig.model_validate({"models": {"fast": {"ttftMs": 7}}}))


# --- the plan -----------------------------------------------------------------------------------


def tokens(plan: FaultPlan, n: int) -> list[str]:
    return [plan.next().token for _ in range(n)]


def test_a_new_script_starts_from_its_first_token_and_none_keeps_the_place() -> None:
    plan = FaultPlan(parse_script("429,500,502"))
    assert tokens(plan, 1) == ["429"]
    plan.reconfigure(script=None, fault_rate=0.0, random_faults=())
    assert tokens(plan, 1) == ["500"] and plan.script_remaining == 1
    plan.reconfigure(script=parse_script("503,529"), fault_rate=0.0, random_faults=())
    assert tokens(plan, 3) == ["503", "529", "ok"]
    plan.reconfigure(script=None, fault_rate=1.0, random_faults=parse_script("502"))
    assert tokens(plan, 2) == ["502", "502"]
    with pytest.raises(ValueError, match="needs at least one random fault"):
        plan.reconfigure(script=None, fault_rate=0.5, random_faults=())
    assert tokens(plan, 1) == ["502"]  # a rejected change leaves the plan as it was


def test_an_injection_goes_ahead_of_the_script_without_using_a_slot() -> None:
    plan = FaultPlan(parse_script("429"))
    assert plan.inject(parse_fault_token("503")) == 1
    assert plan.inject(parse_fault_token("timeout")) == 2
    assert plan.injected_pending == 2
    assert tokens(plan, 4) == ["503", "timeout", "429", "ok"]
    assert plan.position == 4 and plan.injected_pending == 0
    # A reload keeps what is queued.
    plan.inject(parse_fault_token("500"))
    plan.reconfigure(script=parse_script("529"), fault_rate=0.0, random_faults=())
    assert tokens(plan, 3) == ["500", "529", "ok"]


def test_draws_and_swaps_from_many_threads_never_lose_or_repeat_a_slot() -> None:
    plan = FaultPlan(parse_script(["503"] * 4000))
    drawn: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(5)

    def draw() -> None:
        start.wait()
        local = Counter(plan.next().token for _ in range(2000))
        with lock:
            drawn.update(local)

    def inject() -> None:
        start.wait()
        for _ in range(500):
            plan.inject(parse_fault_token("500"))

    threads = [threading.Thread(target=draw) for _ in range(4)] + [threading.Thread(target=inject)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 8000 draws: each injection served at most once (ahead of the script), each of the 4000
    # script slots exactly once, the rest ok; nothing served twice, nothing lost.
    assert plan.position == 8000 and plan.script_remaining == 0
    assert drawn["503"] == 4000 and drawn["500"] + plan.injected_pending == 500
    assert drawn["ok"] == 8000 - 4000 - drawn["500"] and set(drawn) <= {"500", "503", "ok"}


def test_the_server_swaps_faults_and_command_line_overrides_keep_winning() -> None:
    config = SimulatorConfig.model_validate({"faults": {"script": "429"}})
    server = SimulatorServer(config)
    plan = server._state.faults
    server.reconfigure_faults(SimFaults.model_validate({"script": "503"}), new_script=True)
    assert tokens(plan, 2) == ["503", "ok"] and server.config.faults.script == ["503"]
    server.reconfigure_faults(SimFaults.model_validate({"script": "502", "enabled": False}), new_script=True)
    assert tokens(plan, 1) == ["ok"]  # the master switch silences the script

    pinned = SimulatorServer(config, script="500,500", fault_rate=0.0)
    pinned.reconfigure_faults(SimFaults.model_validate({"script": "503", "faultRate": 1.0}), new_script=True)
    assert tokens(pinned._state.faults, 3) == ["500", "500", "ok"]  # --script and --fault-rate win


def test_an_unknown_token_is_refused_with_the_vocabulary() -> None:
    server = SimulatorServer(SimulatorConfig())
    for bad in ("418", "bogus", "503:retry-after=soon", "400"):
        with pytest.raises(FaultInjectionError) as caught:
            server.inject_fault(bad)
        message = str(caught.value)
        assert all(token in message for token in FAULT_VOCABULARY), message
    assert server.faults_pending == (0, 0)


# --- live, on a running gateway -----------------------------------------------------------------


async def test_a_script_edited_in_the_file_applies_live_and_spares_the_turn_in_flight(tmp_path: Path) -> None:
    slow = "models: { fast: { ttftMs: 1500, tokensPerSec: 5000, replyTokens: 10 } }"
    gateway, path = await running(tmp_path, config_text("{ script: [] }", models=slow))
    sub = gateway.bus.subscribe("test")
    try:
        simulator = gateway.simulator
        assert simulator is not None
        port = simulator.port
        in_flight = asyncio.create_task(gateway.chat.send("first"))
        for _ in range(500):  # until the first request has drawn its outcome (ok)
            if simulator.stats.active:
                break
            await asyncio.sleep(0.01)
        assert simulator.stats.active == 1
        path.write_text(config_text('{ script: "503" }', models=slow), encoding="utf-8")
        reloaded = await next_event(sub, ConfigReloaded)
        assert isinstance(reloaded, ConfigReloaded)
        assert reloaded.changed_paths == ("simulator.faults.script",)
        assert reloaded.action == "applied" and reloaded.restart_paths == ()
        assert gateway.simulator is simulator and simulator.port == port

        first = await in_flight  # not cancelled: the swap does not touch it
        assert first.record.outcome == "ok" and statuses(first) == [None]

        second = await gateway.chat.send("second")
        assert statuses(second) == [503, None]
        assert [a.outcome for a in second.record.attempts] == ["retry", "ok"]
    finally:
        await gateway.stop()


async def test_rate_and_switch_apply_live_and_reenabling_restarts_the_script(tmp_path: Path) -> None:
    gateway, path = await running(tmp_path, config_text('{ script: "502,500" }'))
    sub = gateway.bus.subscribe("test")
    try:
        assert statuses(await gateway.chat.send("a")) == [502, 500, None]
        path.write_text(config_text('{ script: "502,500", enabled: false }'), encoding="utf-8")
        event = await next_event(sub, ConfigReloaded)
        assert event.action == "applied"  # type: ignore[attr-defined]
        assert statuses(await gateway.chat.send("b")) == [None]
        path.write_text(config_text('{ script: "502,500", faultRate: 1, randomFaults: ["529"] }'),
                        encoding="utf-8")
        event = await next_event(sub, ConfigReloaded)
        assert event.action == "applied"  # type: ignore[attr-defined]
        assert set(event.changed_paths) == {"simulator.faults.enabled", "simulator.faults.faultRate",  # type: ignore[attr-defined]
                                            "simulator.faults.randomFaults"}
        # Switched back on: the script from its first token, then the rate (529 on every try).
        with pytest.raises(TurnFailed) as failed:
            await gateway.chat.send("c")
        assert [a.status for a in failed.value.records[0].attempts] == [502, 500, 529, 529]
    finally:
        await gateway.stop()


async def test_a_seed_change_restarts_the_simulator_as_before(tmp_path: Path) -> None:
    gateway, path = await running(tmp_path, config_text("{ seed: 1 }"))
    sub = gateway.bus.subscribe("test")
    try:
        simulator = gateway.simulator
        path.write_text(config_text('{ seed: 2, script: "503" }'), encoding="utf-8")
        event = await next_event(sub, ConfigReloaded)
        assert event.action == "restarted"  # type: ignore[attr-defined]
        assert event.restart_paths == ("simulator.faults.seed",)  # type: ignore[attr-defined]
        assert gateway.simulator is not simulator
        assert statuses(await gateway.chat.send("x")) == [503, None]
    finally:
        await gateway.stop()


async def test_an_injected_fault_meets_the_next_turn_ahead_of_the_script(tmp_path: Path) -> None:
    gateway, _path = await running(tmp_path, config_text('{ script: "529" }'))
    sub = gateway.bus.subscribe("test")
    try:
        queued = gateway.inject_fault(" 503 ")
        assert isinstance(queued, SimFaultQueued)
        assert (queued.kind, queued.token, queued.pending) == ("sim.fault_queued", "503", 1)
        assert await next_event(sub, SimFaultQueued) == queued
        result = await gateway.chat.send("hi")
        assert statuses(result) == [503, 529, None]
        served = await next_event(sub, SimFaultInjected)
        assert served.fault == "503"  # type: ignore[attr-defined]
        await gateway.store.flush()
        stored = await gateway.stored_events(["sim.fault_queued"], limit=5)
        assert [e.payload["token"] for e in stored] == ["503"]
    finally:
        await gateway.stop()


async def test_injection_needs_a_known_token_and_a_running_simulator(tmp_path: Path) -> None:
    env = _env(tmp_path)
    path = tmp_path / "config.json5"
    path.write_text("{}", encoding="utf-8")
    idle = Gateway(load_config(path, env=env, dotenv=False), env=env, watch_config=False)
    with pytest.raises(FaultInjectionError, match="not running"):
        idle.inject_fault("503")

    gateway, _ = await running(tmp_path, config_text("{}"))
    try:
        with pytest.raises(FaultInjectionError, match=r"unknown fault token 'teapot'.*stream-error"):
            gateway.inject_fault("teapot")
        assert gateway.simulator.faults_pending == (0, 0)  # type: ignore[union-attr]
    finally:
        await gateway.stop()

    off = tmp_path / "off.json5"
    off.write_text("""{
      simulator: { enabled: false },
      models: { providers: { local: { baseUrl: "http://127.0.0.1:9", api: "anthropic-messages",
                                      models: [{ id: "m" }] } } },
      agents: { defaults: { model: { primary: "local/m" } } },
      bench: { models: ["local/m"] },
    }""", encoding="utf-8")
    disabled = Gateway(load_config(off, env=env, dotenv=False), env=env, watch_config=False)
    await disabled.start()
    try:
        with pytest.raises(FaultInjectionError, match=r"simulator is disabled \(simulator.enabled is false\)"):
            disabled.inject_fault("503")
    finally:
        await disabled.stop()
