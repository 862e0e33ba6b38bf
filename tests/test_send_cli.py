"""``clawtop send`` as a user runs it: a subprocess, exit codes, stdout/stderr and the JSON.

The behaviour checks of the issue: against a 429 with ``retry-after: 2`` the send succeeds and
its second attempt starts ≥ 2.0 s after the first response ended (from the recorded wall
timestamps); against ``reset`` (the connection cut after output was delivered: the turn is no
longer replayable, docs/design/retry.md#call-site-safety) nothing is retried and the error is clear. Both the gateway's
own simulator and a separately started one (configured as an ordinary provider) are exercised.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from core.config.loader import load_config
from core.sim import SimulatorServer

ROOT = Path(__file__).resolve().parent.parent
FAST = "models: { fast: { ttftMs: 5, tokensPerSec: 2000, replyTokens: 30 } }"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWTOP_")}
    env.update(HOME=str(home), CLAWTOP_STATE_DIR=str(home / "state"))
    return env


def _config(home: Path, text: str) -> Path:
    path = home / "config.json5"
    path.write_text(text, encoding="utf-8")
    return path


def send(home: Path, *args: str, config: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "clawtop", "send", *args]
    if config is not None:
        cmd[4:4] = ["--config", str(_config(home, config))]
    return subprocess.run(cmd, cwd=ROOT, env=_env(home), capture_output=True, text=True, timeout=timeout)


async def send_async(home: Path, *args: str, config: str, timeout: float = 60) -> tuple[int, str, str]:
    """The same, without blocking the event loop (a simulator in this process must keep serving)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "clawtop", "send", "--config", str(_config(home, config)), *args,
        cwd=ROOT, env=_env(home), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def test_plain_send_streams_the_reply_and_records_the_turn(tmp_path: Path) -> None:
    result = send(tmp_path, "hello", config=f"{{ simulator: {{ {FAST} }} }}")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) > 3 and result.stdout.endswith("\n")
    db = tmp_path / "state" / "telemetry.sqlite3"
    if not db.exists():
        db = next((tmp_path / "state").rglob("*.sqlite3"))
    with sqlite3.connect(db) as conn:
        kinds = [row[0] for row in conn.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds[0] == "gateway.started" and kinds[-1] == "gateway.stopped"
    assert {"chat.turn_started", "chat.turn_finished", "retry.attempt", "retry.finished"} <= set(kinds)


def test_json_after_429_retry_after_2_waits_at_least_2s(tmp_path: Path) -> None:
    result = send(tmp_path, "--json", "hi",
                  config=f'{{ simulator: {{ {FAST}, faults: {{ script: "429:retry-after=2" }} }} }}')
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["error"] is None and doc["reply"] and doc["model"] == "sim/fast"
    assert doc["usage"]["outputTokens"] == 30 and doc["stopReason"] == "end_turn"
    assert doc["opId"] and doc["ttftMs"] > 0 and doc["latencyMs"] >= doc["ttftMs"]
    first, second = doc["attempts"]
    assert (first["status"], first["class"], first["retryAfterMs"]) == (429, "rate_limit", 2000)
    assert first["plannedDelayMs"] >= 2000
    assert second["class"] is None and second["sleptMs"] >= 2000
    assert second["start"] - first["end"] >= 2.0
    assert set(first) >= {"start", "end", "status", "class", "plannedDelayMs", "sleptMs", "retryAfterMs"}


async def test_json_against_a_separately_started_simulator(tmp_path: Path) -> None:
    sim = SimulatorServer(load_config(None, env={"HOME": str(tmp_path)}, dotenv=False).config.simulator,
                          script="429:retry-after=2")
    await sim.start()
    try:
        config = f"""{{
          models: {{ providers: {{ local: {{ baseUrl: "{sim.base_url}", api: "anthropic-messages",
                                            models: [{{ id: "fast" }}] }} }} }},
          agents: {{ defaults: {{ model: {{ primary: "local/fast" }} }} }},
        }}"""
        code, out, err = await send_async(tmp_path, "--json", "hi", config=config)
    finally:
        await sim.stop()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model"] == "local/fast" and doc["error"] is None
    first, second = doc["attempts"]
    assert first["status"] == 429 and second["start"] - first["end"] >= 2.0


def test_reset_mid_reply_is_not_replayed(tmp_path: Path) -> None:
    config = f'{{ simulator: {{ {FAST}, faults: {{ script: "reset" }} }} }}'
    result = send(tmp_path, "--json", "hi", config=config)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert len(doc["attempts"]) == 1
    assert doc["error"]["class"] == "ambiguous" and doc["error"]["reason"] == "unsafe_to_repeat"
    assert "not retried" in doc["error"]["message"]
    assert "ambiguous" in result.stderr and "not retried" in result.stderr
    plain = send(tmp_path, "hi", config=config)
    assert plain.returncode == 1 and "clawtop send: sim/fast: ambiguous:" in plain.stderr
    assert "Traceback" not in plain.stderr


def test_unknown_model_is_a_usage_error(tmp_path: Path) -> None:
    result = send(tmp_path, "--model", "nope/x", "hi")
    assert result.returncode == 2 and "unknown provider 'nope'" in result.stderr


def test_invalid_config_exits_78(tmp_path: Path) -> None:
    result = send(tmp_path, "hi", config="{ simulator: { port: -1 } }")
    assert result.returncode == 78 and "simulator.port" in result.stderr


def test_json_reports_session_and_tool_calls_and_continues_the_session(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "a.txt").write_text("hello file", encoding="utf-8")
    config = (f'{{ simulator: {{ {FAST} }}, agents: {{ defaults: {{ workspace: "{tmp_path / "ws"}" }} }} }}')
    first = send(tmp_path, "--json", '[[tool:read {"path":"a.txt"}]]', config=config)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["sessionId"] and doc["error"] is None
    (call,) = doc["toolCalls"]
    assert (call["name"], call["input"], call["isError"], call["chars"]) == ("read", {"path": "a.txt"}, False, 10)
    second = json.loads(send(tmp_path, "--json", "again", config=config).stdout)
    assert second["sessionId"] == doc["sessionId"] and second["toolCalls"] == []
    other = json.loads(send(tmp_path, "--json", "--session", "side", "hi", config=config).stdout)
    assert other["sessionId"] != doc["sessionId"]
    by_id = json.loads(send(tmp_path, "--json", "--session", doc["sessionId"], "hi", config=config).stdout)
    assert by_id["sessionId"] == doc["sessionId"]
    transcript = next((tmp_path / "state").rglob(f"{doc['sessionId']}.jsonl"))
    roles = [json.loads(line).get("message", {}).get("role") for line in transcript.read_text().splitlines()]
    assert [r for r in roles if r] == ["user", "assistant", "toolResult", "assistant", "user", "assistant",
                                       "user", "assistant"]
