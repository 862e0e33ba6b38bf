"""The chat turn service on a real gateway with its own simulator on loopback: streaming,
events, history, failover, the fault-rate soak (nothing hangs, every failure classified) and
stopping the gateway in the middle of a turn."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from core.chat import ChatTurnFinished, ChatTurnStarted, TurnFailed, turn_json
from core.config.loader import load_config
from core.events import Event
from core.gateway import Gateway, GatewayState
from core.retry import Failover

FAST = "fast: { ttftMs: 5, tokensPerSec: 4000, replyTokens: 20 }"
QUICK_RETRY = "retry: { provider: { minDelayMs: 5, maxDelayMs: 50 } }"


def gateway_for(home: Path, text: str) -> Gateway:
    path = home / "config.json5"
    path.write_text(text, encoding="utf-8")
    env = {"HOME": str(home), "CLAWTOP_STATE_DIR": str(home / "state")}
    return Gateway(load_config(path, env=env, dotenv=False), env=env, watch_config=False)


async def test_turn_streams_records_and_keeps_history(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path, f"{{ simulator: {{ models: {{ {FAST} }} }} }}")
    sub = gateway.bus.subscribe("test")
    await gateway.start()
    try:
        assert gateway.simulator is not None and gateway.simulator.base_url.startswith("http://127.0.0.1:")
        assert gateway.providers is not None and "sim" in gateway.providers
        deltas: list[str] = []
        result = await gateway.chat.send("hello", on_delta=deltas.append)
        assert result.reply == "".join(deltas) and len(deltas) > 1
        assert result.model == "sim/fast" and result.usage.output_tokens == 20
        assert result.stop_reason == "end_turn" and result.record.outcome == "ok"
        assert 0 < result.ttft_ms <= result.latency_ms
        second = await gateway.chat.send("and again")
        assert [m.role for m in gateway.chat.history] == ["user", "assistant", "user", "assistant"]
        assert second.usage.input_tokens > result.usage.input_tokens  # the history went along
    finally:
        await gateway.stop()
    events = sub.take_nowait()
    started = [e for e in events if isinstance(e, ChatTurnStarted)]
    finished = [e for e in events if isinstance(e, ChatTurnFinished)]
    assert len(started) == len(finished) == 2
    assert finished[0].outcome == "ok" and finished[0].op_id == result.record.op_id
    assert finished[0].output_tokens == 20 and finished[0].attempts == 1
    # No event carries message text (docs/design/retry.md#retry-events).
    for event in events:
        assert "hello" not in json.dumps(event.payload()) and result.reply not in json.dumps(event.payload())
    assert gateway.simulator is None and gateway.providers is None


async def test_over_long_retry_after_fails_over_to_the_next_model(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path, f"""{{
      simulator: {{ models: {{ {FAST}, slow: {{ ttftMs: 5, tokensPerSec: 4000, replyTokens: 10 }} }},
                   faults: {{ script: "429:retry-after=120" }} }},
      agents: {{ defaults: {{ model: {{ primary: "sim/fast", fallbacks: ["sim/slow"] }} }} }},
    }}""")
    sub = gateway.bus.subscribe("test", kinds=["retry.failover"])
    await gateway.start()
    try:
        result = await gateway.chat.send("hi")
    finally:
        await gateway.stop()
    assert result.model == "sim/slow" and result.usage.output_tokens == 10
    assert [r.outcome for r in result.records] == ["failover", "ok"]
    doc = turn_json(result)
    assert [a["model"] for a in doc["attempts"]] == ["sim/fast", "sim/slow"]
    assert doc["attempts"][0]["retryAfterMs"] == 120_000 and doc["attempts"][0]["sleptMs"] == 0
    (failover,) = sub.take_nowait()
    assert isinstance(failover, Failover) and (failover.from_ref, failover.to_ref) == ("sim/fast", "sim/slow")


async def test_explicit_model_is_strict(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path, f"""{{
      simulator: {{ models: {{ {FAST} }}, faults: {{ script: "429:retry-after=120" }} }},
      agents: {{ defaults: {{ model: {{ primary: "sim/fast", fallbacks: ["sim/slow"] }} }} }},
    }}""")
    await gateway.start()
    try:
        with pytest.raises(TurnFailed) as caught:
            await gateway.chat.send("hi", model_ref="sim/fast")
    finally:
        await gateway.stop()
    failure = caught.value
    assert failure.error_class == "rate_limit" and "asked to wait 120 s" in failure.message
    assert failure.models == ["sim/fast"]


async def test_fault_rate_soak_every_turn_completes_or_fails_classified(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path, f"""{{
      simulator: {{ models: {{ {FAST} }}, faults: {{ faultRate: 0.3, seed: 7 }} }},
      {QUICK_RETRY},
    }}""")
    await gateway.start()
    outcomes: list[str] = []
    try:
        for i in range(20):
            try:
                async with asyncio.timeout(20):
                    result = await gateway.chat.send(f"turn {i}")
            except TurnFailed as failure:
                assert failure.error_class and failure.message
                outcomes.append(failure.error_class)
            else:
                assert result.reply
                outcomes.append("ok")
    finally:
        await gateway.stop()
    assert len(outcomes) == 20 and "ok" in outcomes
    assert all(o != "unknown" for o in outcomes), outcomes


async def test_stop_cancels_a_turn_in_flight(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path, '{ simulator: { models: { slow: { ttftMs: 5000 } } } }')
    sub = gateway.bus.subscribe("test", kinds=["chat.turn_finished"])
    await gateway.start()
    turn = asyncio.create_task(gateway.chat.send("hi", model_ref="sim/slow"))
    while not gateway.inflight:  # noqa: ASYNC110 - no event marks a task entering the in-flight set
        await asyncio.sleep(0.01)
    async with asyncio.timeout(10):
        await gateway.stop()
    assert gateway.state is GatewayState.STOPPED
    with pytest.raises(asyncio.CancelledError):
        await turn
    events: list[Event] = sub.take_nowait()
    assert [getattr(e, "outcome", None) for e in events] == ["cancelled"]


async def test_send_before_start_is_refused(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path, "{}")
    with pytest.raises(RuntimeError, match="not running"):
        await gateway.chat.send("hi")
