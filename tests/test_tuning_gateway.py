"""Tuning a running gateway (real simulator on loopback, real config file, real store): the very next
model call uses the tuned value, prune decisions and retry records carry the settings version, the
``config.tuned`` event is stored and the history survives a restart."""

from __future__ import annotations

import asyncio
import difflib
import sqlite3
from pathlib import Path

import pytest

from core.chat.result import TurnFailed
from core.config.loader import load_config
from core.gateway import Gateway
from core.pruning import PruneDecision
from core.retry.events import RetryOperationFinished
from core.tuning import Change, ConfigTuned, TuningError

FAST = "fast: { ttftMs: 2, tokensPerSec: 8000, replyTokens: 12, contextWindow: 16000 }"


def _config(home: Path, pruning: str = "", simulator: str = "", retry: str = "") -> Path:
    (home / "ws").mkdir(exist_ok=True)
    path = home / "config.json5"
    path.write_text(f"""// tuned by the tests
{{
  simulator: {{ models: {{ {FAST} }}, {simulator} }},
  agents: {{
    defaults: {{
      workspace: "{home / 'ws'}",
      contextPruning: {{ {pruning} }},
    }},
  }},
  retry: {{ {retry} }},
}}
""", encoding="utf-8")
    return path


def _gateway(home: Path, *, watch: bool = False) -> Gateway:
    env = {"HOME": str(home), "CLAWTOP_STATE_DIR": str(home / "state")}
    return Gateway(load_config(home / "config.json5", env=env, dotenv=False), env=env, watch_config=watch)


def _changed(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


async def test_the_next_prune_decision_uses_the_tuned_ttl_and_names_the_tuning(tmp_path: Path) -> None:
    path = _config(tmp_path, pruning='mode: "cache-ttl", ttl: "1h", keepLastAssistants: 1, '
                                     'minPrunableToolChars: 1000')
    original = path.read_bytes()
    (tmp_path / "ws" / "big.txt").write_text("0123456789abcdef\n" * 2000, encoding="utf-8")
    gateway = _gateway(tmp_path)
    sub = gateway.bus.subscribe("test", kinds=["prune.decision", "config.tuned"])
    await gateway.start()
    try:
        await gateway.chat.send('[[tool:read {"path":"big.txt"}]]')
        before = [e for e in sub.take_nowait() if isinstance(e, PruneDecision)]
        tuning = await gateway.apply_tuning([Change("agents.defaults.contextPruning.ttl", "10ms")])
        assert gateway.settings_version == tuning.id
        await asyncio.sleep(0.05)  # past the tuned TTL
        await gateway.chat.send("thanks")
        events = sub.take_nowait()
        undo = await gateway.undo_tuning()
        history = await gateway.tuning_history()
    finally:
        await gateway.stop()
    assert before and all(d.ttl_ms == 3_600_000 and d.settings_version is None for d in before)
    tuned = [e for e in events if isinstance(e, ConfigTuned)]
    assert [(t.tuning_id, t.origin, t.changes) for t in tuned] == [
        (tuning.id, "dashboard", (("agents.defaults.contextPruning.ttl", "1h", "10ms"),))]
    after = [e for e in events if isinstance(e, PruneDecision)]
    assert after and after[0].ttl_ms == 10 and after[0].settings_version == tuning.id
    assert not after[0].skipped and after[0].outcome == "ran"
    assert path.read_bytes() == original and undo.undo_of == tuning.id
    assert [t.id for t in history] == [undo.id, tuning.id]


async def test_the_next_retried_call_uses_the_tuned_attempts(tmp_path: Path) -> None:
    _config(tmp_path, simulator='faults: { script: "503,503,503,503,503,503,503,503,503,503" }',
            retry="provider: { attempts: 4, minDelayMs: 1, maxDelayMs: 5 }")
    original = (tmp_path / "config.json5").read_text(encoding="utf-8")
    gateway = _gateway(tmp_path)
    sub = gateway.bus.subscribe("test", kinds=["retry.finished"])
    await gateway.start()
    try:
        tuning = await gateway.apply_tuning([Change("retry.provider.attempts", 2)])
        with pytest.raises(TurnFailed):
            await gateway.chat.send("hello")
    finally:
        await gateway.stop()
    assert _changed(original, (tmp_path / "config.json5").read_text(encoding="utf-8")) == [
        "-  retry: { provider: { attempts: 4, minDelayMs: 1, maxDelayMs: 5 } },",
        "+  retry: { provider: { attempts: 2, minDelayMs: 1, maxDelayMs: 5 } },"]
    finished = [e for e in sub.take_nowait() if isinstance(e, RetryOperationFinished)]
    assert finished and finished[0].attempts == 2 and finished[0].outcome == "fail"
    assert finished[0].settings_version == tuning.id


async def test_config_tuned_is_stored_and_the_history_survives_a_restart(tmp_path: Path) -> None:
    _config(tmp_path)
    gateway = _gateway(tmp_path)
    await gateway.start()
    try:
        tuning = await gateway.apply_tuning([Change("retry.provider.minDelayMs", 250)])
        with pytest.raises(TuningError) as info:
            await gateway.apply_tuning([Change("retry.provider.minDelayMs", -1)])
        assert list(info.value.errors) == ["retry.provider.minDelayMs"]
    finally:
        await gateway.stop()
    with sqlite3.connect(gateway.loaded.db_path) as conn:
        rows = [r[0] for r in conn.execute("SELECT payload FROM events WHERE kind = 'config.tuned'")]
    assert len(rows) == 1 and tuning.id in rows[0]
    again = _gateway(tmp_path, watch=True)
    sub = again.bus.subscribe("test", kinds=["config.reloaded"])
    await again.start()
    try:
        assert again.settings_version == tuning.id
        assert [t.id for t in await again.tuning_history()] == [tuning.id]
        stored = await again.stored_events(["config.tuned"], limit=5)
        assert [s.payload["tuning_id"] for s in stored] == [tuning.id]
        # A hand edit: the settings no longer come from that tuning.
        (tmp_path / "config.json5").write_text("{ retry: { provider: { minDelayMs: 300 } } }\n", encoding="utf-8")
        for _ in range(100):
            if await sub.get_batch(timeout=0.1):
                break
        assert again.config.retry.provider.min_delay_ms == 300 and again.settings_version is None
    finally:
        await again.stop()
