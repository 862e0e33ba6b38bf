"""The agent turn against the real simulator: tool calls run in the workspace, ``toolResult``s
land in the JSONL transcript, the prune hook runs before every model call (continuations too)
and its decision matches ``clawtop prune --dry-run --json`` on the stored transcript."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.agent.events import ToolRefused
from core.config.loader import load_config
from core.gateway import Gateway
from core.pruning import PruneDecision

ROOT = Path(__file__).resolve().parent.parent
FAST = "fast: { ttftMs: 2, tokensPerSec: 8000, replyTokens: 12, contextWindow: 16000 }"


def write_config(home: Path, extra: str = "") -> Path:
    (home / "ws").mkdir(exist_ok=True)
    path = home / "config.json5"
    path.write_text(f"""{{
      simulator: {{ models: {{ {FAST} }} }},
      agents: {{ defaults: {{ workspace: "{home / 'ws'}", {extra} }} }},
    }}""", encoding="utf-8")
    return path


def gateway_for(home: Path, extra: str = "") -> Gateway:
    env = {"HOME": str(home), "CLAWTOP_STATE_DIR": str(home / "state")}
    return Gateway(load_config(write_config(home, extra), env=env, dotenv=False), env=env, watch_config=False)


def transcript_lines(gateway: Gateway, session_id: str) -> list[dict[str, object]]:
    assert gateway.sessions is not None
    path = gateway.sessions.transcript_path(session_id)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def append_bytes(path: Path, data: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(data)


async def test_tool_turn_stores_tool_results_in_the_transcript(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path)
    (tmp_path / "ws" / "big.txt").write_text("line of text\n" * 500, encoding="utf-8")
    sub = gateway.bus.subscribe("test", kinds=["agent.tool_called", "agent.tool_refused", "chat.turn_finished"])
    await gateway.start()
    try:
        tools: list[dict[str, object]] = []
        result = await gateway.chat.send('please [[tool:read {"path":"big.txt"}]]', on_tool=tools.append)
        refused = await gateway.chat.send('[[tool:read {"path":"../config.json5"}]]')
    finally:
        await gateway.stop()
    assert result.reply and result.stop_reason == "end_turn"
    assert [t["name"] for t in result.tool_calls] == ["read"] and tools == result.tool_calls
    assert result.tool_calls[0]["chars"] == 6500 and not result.tool_calls[0]["isError"]
    assert len(result.records) == 2  # the first call and its continuation
    assert refused.tool_calls[0]["isError"] and refused.session_id == result.session_id
    lines = transcript_lines(gateway, result.session_id)
    assert lines[0]["type"] == "session"
    messages = [line["message"] for line in lines if line["type"] == "message"]
    roles = [m["role"] for m in messages]  # type: ignore[index]
    assert roles == ["user", "assistant", "toolResult", "assistant"] * 2
    first_result = messages[2]
    assert first_result["toolName"] == "read" and first_result["content"][0]["text"] == "line of text\n" * 500  # type: ignore[index]
    assert first_result["toolCallId"] == messages[1]["content"][0]["id"]  # type: ignore[index]
    assert "outside the workspace" in messages[6]["content"][0]["text"] and messages[6]["isError"]  # type: ignore[index]
    events = sub.take_nowait()
    assert [e.kind for e in events if e.kind == "agent.tool_refused"] == ["agent.tool_refused"]
    refusal = next(e for e in events if isinstance(e, ToolRefused))
    assert refusal.path == "../config.json5" and refusal.session_id == result.session_id
    finished = [e for e in events if e.kind == "chat.turn_finished"]
    assert [e.outcome for e in finished] == ["ok", "ok"]


async def test_history_survives_a_restart_of_the_gateway(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path)
    await gateway.start()
    try:
        first = await gateway.chat.send("remember me")
    finally:
        await gateway.stop()
    again = gateway_for(tmp_path)
    await again.start()
    try:
        second = await again.chat.send("still there?")
    finally:
        await again.stop()
    assert second.session_id == first.session_id
    assert [m.role for m in again.chat.history] == ["user", "assistant", "user", "assistant"]


async def test_prune_hook_runs_before_every_call_and_matches_the_cli(tmp_path: Path) -> None:
    extra = ('contextPruning: { mode: "cache-ttl", ttl: "10ms", keepLastAssistants: 1, '
             'minPrunableToolChars: 1000 }')
    gateway = gateway_for(tmp_path, extra)
    (tmp_path / "ws" / "big.txt").write_text("0123456789abcdef\n" * 2000, encoding="utf-8")  # 34,000 chars
    sub = gateway.bus.subscribe("test", kinds=["prune.decision"])
    await gateway.start()
    try:
        first = await gateway.chat.send('[[tool:read {"path":"big.txt"}]]')
        await asyncio.sleep(0.05)  # past the TTL
        assert gateway.sessions is not None
        snapshot = tmp_path / "before.jsonl"
        shutil.copy(gateway.sessions.transcript_path(first.session_id), snapshot)
        await gateway.chat.send("thanks")
    finally:
        await gateway.stop()
    decisions = [e for e in sub.take_nowait() if isinstance(e, PruneDecision)]
    # One decision per model call: 2 in the tool turn (first call + continuation), 1 after.
    assert len(decisions) == 3
    assert [d.reason for d in decisions[:2]] == ["no_cache_touch", "no_cache_touch"]
    pruned = decisions[2]
    assert not pruned.skipped and pruned.outcome == "ran"
    assert [t["action"] for t in pruned.touched] == ["soft_trim"]
    # The marker after the turn records the sticky decision.
    lines = transcript_lines(gateway, first.session_id)
    markers = [line for line in lines if line.get("customType") == "openclaw.cache-ttl"]
    assert len(markers) == 2 and markers[-1]["data"]["pruned"]  # type: ignore[index]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWTOP_")}
    env.update(HOME=str(tmp_path), CLAWTOP_STATE_DIR=str(tmp_path / "state"))
    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "clawtop", "prune", "--config", str(tmp_path / "config.json5"),
         "--transcript", str(snapshot), "--dry-run", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    doc = json.loads(cli.stdout)["decision"]
    assert (doc["reason"], doc["outcome"], doc["hard_clear_gate"]) == (pruned.reason, pruned.outcome,
                                                                       pruned.hard_clear_gate)
    assert doc["touched"] == [dict(t) for t in pruned.touched]
    assert doc["context_window_tokens"] == pruned.context_window_tokens == 16000


@pytest.mark.parametrize("ttl", ["10ms"])
async def test_prune_hook_runs_before_continuation_calls(tmp_path: Path, ttl: str) -> None:
    extra = f'contextPruning: {{ mode: "cache-ttl", ttl: "{ttl}", keepLastAssistants: 1 }}'
    gateway = gateway_for(tmp_path, extra)
    (tmp_path / "ws" / "a.txt").write_text("x" * 30_000, encoding="utf-8")
    sub = gateway.bus.subscribe("test", kinds=["prune.decision"])
    await gateway.start()
    try:
        await gateway.chat.send('[[tool:read {"path":"a.txt"}]]')
        await asyncio.sleep(0.05)
        await gateway.chat.send('[[tool:ls {}]]')
    finally:
        await gateway.stop()
    decisions = [e for e in sub.take_nowait() if isinstance(e, PruneDecision)]
    assert len(decisions) == 4
    second_turn = decisions[2:]
    assert not second_turn[0].skipped  # the first call after the TTL prunes
    # The continuation call is evaluated too: the earlier trim is replayed byte-identically.
    assert [t["action"] for t in second_turn[1].touched] == ["replayed"]


async def test_prune_detail_keeps_the_text_before_and_after_each_touched_result(tmp_path: Path) -> None:
    """Events never carry content: the runner keeps, per decision it made, what each touched tool
    result said before and after (the Prunes pane's detail screen reads it)."""
    extra = 'contextPruning: { mode: "cache-ttl", ttl: "10ms", keepLastAssistants: 1 }'
    gateway = gateway_for(tmp_path, extra)
    (tmp_path / "ws" / "a.txt").write_text("x" * 30_000, encoding="utf-8")
    sub = gateway.bus.subscribe("test", kinds=["prune.decision"])
    await gateway.start()
    try:
        await gateway.chat.send('[[tool:read {"path":"a.txt"}]]')
        await asyncio.sleep(0.05)
        await gateway.chat.send("thanks")
    finally:
        await gateway.stop()
    decisions = [e for e in sub.take_nowait() if isinstance(e, PruneDecision)]
    skipped, pruned = decisions[0], decisions[-1]
    assert skipped.skipped and gateway.agent.prune_detail(skipped) == []
    assert not pruned.skipped and pruned.touched
    detail = gateway.agent.prune_detail(pruned)
    assert detail is not None and len(detail) == len(pruned.touched)
    first = detail[0]
    assert first["toolCallId"] == pruned.touched[0]["toolCallId"]
    assert "x" * 1000 in first["before"] and len(first["after"]) < len(first["before"])
    # A decision this gateway did not make (e.g. replayed from the store) has no text.
    assert gateway.agent.prune_detail(dataclasses.replace(pruned, mono=pruned.mono + 1)) is None


async def test_a_torn_transcript_line_loads_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gateway = gateway_for(tmp_path)
    await gateway.start()
    try:
        first = await gateway.chat.send("before the crash")
    finally:
        await gateway.stop()
    assert gateway.sessions is not None
    path = gateway.sessions.transcript_path(first.session_id)
    # A crash mid-append: half a JSON line, no newline.
    await asyncio.to_thread(append_bytes, path, b'{"type":"message","id":"deadbeef","message":{"role":"us')
    again = gateway_for(tmp_path)
    sub = again.bus.subscribe("test", kinds=["session.line.skipped"])
    await again.start()
    try:
        second = await again.chat.send("after the crash")
    finally:
        await again.stop()
    assert second.session_id == first.session_id
    (torn,) = sub.take_nowait()
    assert torn.last is True and torn.path == str(path)
    assert any("torn last line" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    lines = transcript_lines(again, first.session_id)
    roles = [line["message"]["role"] for line in lines if line["type"] == "message"]  # type: ignore[index]
    assert roles == ["user", "assistant", "user", "assistant"]
