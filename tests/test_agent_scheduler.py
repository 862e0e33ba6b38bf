"""Turn scheduling (one turn per session at a time, ``maxConcurrent`` sessions at once, the limit
hot-changeable) and the tool-iteration cap (a runaway loop stops with well-formed results)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import core.agent.loop as loop_module
from core.agent.scheduler import TurnScheduler
from core.config.loader import load_config
from core.gateway import Gateway
from core.providers.call import ModelCall
from core.providers.types import ToolCall, Usage
from core.retry.records import OperationRecord


async def test_turns_of_one_session_are_serialised() -> None:
    scheduler = TurnScheduler(4)
    order: list[str] = []

    async def turn(key: str, name: str) -> None:
        async with scheduler.turn(key):
            order.append(f"start {name}")
            await asyncio.sleep(0.02)
            order.append(f"end {name}")

    await asyncio.gather(turn("s", "a"), turn("s", "b"), turn("s", "c"))
    assert order == ["start a", "end a", "start b", "end b", "start c", "end c"]
    assert scheduler.peak == 1


async def test_sessions_run_concurrently_up_to_the_limit() -> None:
    scheduler = TurnScheduler(2)
    running: list[int] = []

    async def turn(key: str) -> None:
        async with scheduler.turn(key):
            running.append(scheduler.running)
            await asyncio.sleep(0.03)

    await asyncio.gather(*(turn(f"s{i}") for i in range(5)))
    assert scheduler.peak == 2 and max(running) == 2 and scheduler.running == 0
    await scheduler.set_limit(5)
    await asyncio.gather(*(turn(f"s{i}") for i in range(5)))
    assert scheduler.peak == 5


async def test_a_queued_turn_of_a_busy_session_holds_no_global_slot() -> None:
    scheduler = TurnScheduler(2)
    started: list[str] = []
    release = asyncio.Event()

    async def turn(key: str, name: str) -> None:
        async with scheduler.turn(key):
            started.append(name)
            await release.wait()

    tasks = [asyncio.create_task(turn("a", "a1")), asyncio.create_task(turn("a", "a2")),
             asyncio.create_task(turn("b", "b1"))]
    await asyncio.sleep(0.02)
    assert sorted(started) == ["a1", "b1"]  # a2 waits for its session, b1 got the second slot
    release.set()
    await asyncio.gather(*tasks)
    assert started[-1] == "a2"


def _gateway(home: Path, extra: str) -> Gateway:
    (home / "ws").mkdir(exist_ok=True)
    path = home / "config.json5"
    path.write_text(f'{{ agents: {{ defaults: {{ workspace: "{home / "ws"}", {extra} }} }} }}', encoding="utf-8")
    env = {"HOME": str(home), "CLAWTOP_STATE_DIR": str(home / "state")}
    return Gateway(load_config(path, env=env, dotenv=False), env=env, watch_config=False)


async def test_iteration_cap_stops_a_runaway_tool_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    async def always_tools(gateway, messages, *, refs, op_id, clock, system=None, tools=(), on_delta=None):  # type: ignore[no-untyped-def]
        calls.append(len(messages))
        record = OperationRecord(op_id=op_id, operation="chat.send", provider="sim")
        return ModelCall(ref=refs[0], text="", tool_calls=[ToolCall(id=f"t{len(calls)}", name="ls", input={})],
                         usage=Usage(10, 5), stop_reason="tool_use", record=record, records=[record],
                         models=[refs[0]], first_token_at=None)

    monkeypatch.setattr(loop_module, "call_model", always_tools)
    gateway = _gateway(tmp_path, "maxToolIterations: 3")
    await gateway.start()
    try:
        result = await gateway.chat.send("loop forever")
    finally:
        await gateway.stop()
    assert len(calls) == 4  # the first call and 3 continuations
    assert result.stop_reason == "max_tool_iterations" and "3 tool iterations" in result.reply
    assert [t["isError"] for t in result.tool_calls] == [False, False, False, True]
    assert result.usage.input_tokens == 40  # summed over the calls
    assert gateway.sessions is not None
    path = gateway.sessions.transcript_path(result.session_id)
    messages = [json.loads(line)["message"] for line in path.read_text().splitlines()
                if json.loads(line).get("type") == "message"]
    # Every toolCall has its toolResult, the last one an error saying why it did not run.
    assert [m["role"] for m in messages] == ["user"] + ["assistant", "toolResult"] * 4
    assert "maxToolIterations" in messages[-1]["content"][0]["text"] and messages[-1]["isError"]


async def test_two_sessions_turns_through_the_gateway_respect_max_concurrent(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, "maxConcurrent: 1")
    await gateway.start()
    try:
        a, b = await asyncio.gather(gateway.chat.send("one", session_key="alpha"),
                                    gateway.chat.send("two", session_key="beta"))
    finally:
        await gateway.stop()
    assert a.session_id != b.session_id and gateway.agent.scheduler.peak == 1
