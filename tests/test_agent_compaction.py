"""Compaction wired into the agent turn, against the built-in simulator: the docs/design/compaction.md#memory-flush
memory flush before a threshold compaction (once per compaction cycle) and the docs/design/compaction.md#overflow-errors
context-overflow loop.

The overflow is the simulator's own ``400:context-overflow`` fault (the real APIs' "prompt is too
long" 400), scripted after the turns that fill the session, so the whole path is real: the
provider error, the retry classifier's ``context_overflow``, the compaction summary call and the
retried request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.chat.result import TurnFailed
from core.config.loader import load_config
from core.gateway import Gateway


def gateway_for(home: Path, compaction: str, window: int = 200_000, script: str = "") -> Gateway:
    fast = f"fast: {{ ttftMs: 2, tokensPerSec: 8000, replyTokens: 40, contextWindow: {window} }}"
    (home / "ws").mkdir(exist_ok=True)
    path = home / "config.json5"
    path.write_text(f"""{{ simulator: {{ models: {{ {fast} }}, faults: {{ script: "{script}" }} }},
      agents: {{ defaults: {{ workspace: "{home / 'ws'}", compaction: {{ {compaction} }} }} }} }}""",
                    encoding="utf-8")
    env = {"HOME": str(home), "CLAWTOP_STATE_DIR": str(home / "state")}
    return Gateway(load_config(path, env=env, dotenv=False), env=env, watch_config=False)


FILL_TURNS = 4
OVERFLOW = "400:context-overflow"


def after_fill(*outcomes: str) -> str:
    """A simulator script: ``ok`` for the requests of ``fill`` (one per turn), then ``outcomes``."""
    return ",".join(["ok"] * FILL_TURNS + list(outcomes))


def sim_statuses(events: list[Any]) -> list[int | None]:
    return [e.status for e in events if e.kind in ("sim.request_served", "sim.fault_injected")]


async def fill(gateway: Gateway, turns: int = FILL_TURNS) -> Any:
    result = None
    for i in range(turns):
        result = await gateway.chat.send(f"message number {i} " + "with some padding " * 40)
    return result


async def test_overflow_compacts_and_retries(tmp_path: Path) -> None:
    # the overflow, then the compaction's summary call and the retried request succeed
    gateway = gateway_for(tmp_path, "keepRecentTokens: 50", script=after_fill(OVERFLOW))
    sub = gateway.bus.subscribe("test", kinds=["compaction.finished", "compaction.aborted"])
    sim = gateway.bus.subscribe("sim", kinds=["sim.request_served", "sim.fault_injected"])
    await gateway.start()
    try:
        first = await fill(gateway)
        assert sim_statuses(sim.take_nowait()) == [200] * FILL_TURNS  # the script lines up
        after = await gateway.chat.send("does this still fit?")
    finally:
        await gateway.stop()
    assert sim_statuses(sim.take_nowait()) == [400, 200, 200]
    assert [(e.kind, e.trigger) for e in sub.take_nowait()] == [("compaction.finished", "overflow")]
    assert after.reply and after.session_id == first.session_id
    assert gateway.sessions is not None
    lines = [json.loads(x) for x in gateway.sessions.transcript_path(first.session_id).read_text().splitlines()]
    types = [x["type"] for x in lines]
    assert types.count("compaction") == 1
    # the failed request left nothing behind: the question is stored once, after the compaction
    questions = [i for i, x in enumerate(lines) if x["type"] == "message"
                 and "does this still fit?" in json.dumps(x["message"].get("content"))]
    assert len(questions) == 1 and questions[0] > types.index("compaction")


async def test_persistent_overflow_ends_with_a_clear_error(tmp_path: Path) -> None:
    # every agent request overflows; the compaction's summary call (the ok) goes through
    script = after_fill(OVERFLOW, "ok", *[OVERFLOW] * 10)
    gateway = gateway_for(tmp_path, "keepRecentTokens: 50", script=script)
    sub = gateway.bus.subscribe("test", kinds=["compaction.finished", "compaction.aborted"])
    sim = gateway.bus.subscribe("sim", kinds=["sim.request_served", "sim.fault_injected"])
    await gateway.start()
    try:
        await fill(gateway)
        assert sim_statuses(sim.take_nowait()) == [200] * FILL_TURNS
        with pytest.raises(TurnFailed) as info:
            await gateway.chat.send("will this ever fit?")
    finally:
        await gateway.stop()
    # one real compaction, then the next one has nothing left to cut: stop instead of looping
    assert [e.kind for e in sub.take_nowait()] == ["compaction.finished", "compaction.aborted"]
    assert sim_statuses(sim.take_nowait()) == [400, 200, 400]
    failure = info.value
    assert failure.error_class == "context_overflow" and failure.reason == "overflow_compaction_exhausted"
    assert "/compact" in failure.message and "/new" in failure.message


async def test_overflow_budget_is_three_compactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every compaction 'succeeds' but the request never fits: three compactions, then the error."""
    from core.agent.compaction import OverflowBudget

    compactions: list[str] = []

    class Hooks:
        async def compact(self, key: str, *, trigger: str, ref: str) -> Any:
            compactions.append(trigger)
            return type("R", (), {"entry": object(), "aborted": None})()

    budget = OverflowBudget()
    failure = TurnFailed("context length exceeded", error_class="context_overflow", model="sim/fast", records=[])
    for _ in range(3):
        await budget.recover(failure, Hooks(), "main", "sim/fast")  # type: ignore[arg-type]
    with pytest.raises(TurnFailed, match="still too large after 3 compaction"):
        await budget.recover(failure, Hooks(), "main", "sim/fast")  # type: ignore[arg-type]
    assert compactions == ["overflow"] * 3


async def test_memory_flush_runs_once_before_each_threshold_compaction(tmp_path: Path) -> None:
    # window 30000 − reserve 29000 → compact above 1000 tokens, i.e. after every turn that has
    # something to cut; the flush threshold (30000 − 29000 − 4000) is always reached.
    gateway = gateway_for(tmp_path, "keepRecentTokens: 50, reserveTokensFloor: 29000", window=30_000)
    sub = gateway.bus.subscribe("test", kinds=["compaction.finished", "compaction.aborted",
                                                "compaction.memory_flush", "chat.turn_started"])
    await gateway.start()
    try:
        first = await fill(gateway, turns=3)
    finally:
        await gateway.stop()
    events = sub.take_nowait()
    flushes = [e for e in events if e.kind == "compaction.memory_flush"]
    finished = [i for i, e in enumerate(events) if e.kind == "compaction.finished"]
    assert finished, [e.kind for e in events]
    assert all(f.outcome == "ran" for f in flushes) and len(flushes) == len(finished)
    # each flush is a real (silent) agent turn through the simulator
    assert sum(e.kind == "chat.turn_started" for e in events) == 3 + len(flushes)
    for i in finished:  # a flush ran right before each compaction
        before = [e.kind for e in events[:i]]
        assert before.count("compaction.memory_flush") == finished.index(i) + 1
    assert gateway.sessions is not None
    row = gateway.sessions.find(first.session_id)
    assert row is not None and row.memory_flush_at and row.memory_flush_context_hash
    # the last flush belongs to the cycle before the last compaction
    assert row.memory_flush_compaction_count == (row.compaction_count or 0) - 1
