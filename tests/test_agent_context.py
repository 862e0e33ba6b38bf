"""``/context`` and ``/compact`` through the agent: the report after a turn (every contributor,
actual input tokens beside the estimate), and a forced compaction stored in the transcript."""

from __future__ import annotations

import json
from pathlib import Path

from core.config.loader import load_config
from core.context import ContextReportUpdated
from core.gateway import Gateway


def gateway_for(home: Path, extra: str = "", window: int = 16000) -> Gateway:
    fast = f"fast: {{ ttftMs: 2, tokensPerSec: 8000, replyTokens: 40, contextWindow: {window} }}"
    (home / "ws").mkdir(exist_ok=True)
    (home / "ws" / "AGENTS.md").write_text("# Rules\nBe brief.\n", encoding="utf-8")
    path = home / "config.json5"
    path.write_text(f"""{{ simulator: {{ models: {{ {fast} }} }},
      agents: {{ defaults: {{ workspace: "{home / 'ws'}", {extra} }} }} }}""", encoding="utf-8")
    env = {"HOME": str(home), "CLAWTOP_STATE_DIR": str(home / "state")}
    return Gateway(load_config(path, env=env, dotenv=False), env=env, watch_config=False)


async def test_context_report_after_a_turn(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path)
    (tmp_path / "ws" / "big.txt").write_text("word " * 3000, encoding="utf-8")
    sub = gateway.bus.subscribe("test", kinds=["context.report"])
    await gateway.start()
    try:
        result = await gateway.chat.send('[[tool:read {"path":"big.txt"}]]')
        detail = await gateway.chat.context("detail")
        listing = await gateway.chat.context("list")
        doc = json.loads(await gateway.chat.context("json"))
        unknown = await gateway.chat.context("nope")
    finally:
        await gateway.stop()
    (report,) = [e for e in sub.take_nowait() if isinstance(e, ContextReportUpdated)]
    assert report.session_id == result.session_id and report.window_tokens == 16000
    assert report.categories["tool_results"] > 3000 // 1  # the big read dominates the history
    assert report.actual_input_tokens is not None and report.actual_input_tokens > 0
    assert "Context breakdown (detailed)" in detail
    for name in ("AGENTS.md", "read", "write", "edit", "ls"):
        assert name in detail
    assert "Injected workspace files:" in listing and "AGENTS.md: OK" in listing
    assert set(doc) >= {"report", "session"} and doc["session"]["totalTokens"] == report.actual_input_tokens
    assert "Unknown /context mode." in unknown


async def test_compact_appends_a_compaction_entry(tmp_path: Path) -> None:
    # A 200k window: no threshold compaction on the way (16000 − 20000 reserve would compact
    # after every turn), so the entry comes from /compact.
    gateway = gateway_for(tmp_path, "compaction: { keepRecentTokens: 50 }", window=200_000)
    sub = gateway.bus.subscribe("test", kinds=["compaction.finished", "compaction.aborted"])
    await gateway.start()
    try:
        first = None
        for i in range(4):
            first = await gateway.chat.send(f"message number {i} " + "with some padding " * 40)
        result = await gateway.chat.compact()
        after = await gateway.chat.send("and after the compaction?")
    finally:
        await gateway.stop()
    assert first is not None
    events = sub.take_nowait()
    assert result.ok, (result.aborted, events)
    assert [e.kind for e in events] == ["compaction.finished"]
    assert gateway.sessions is not None
    lines = [json.loads(x) for x in gateway.sessions.transcript_path(first.session_id).read_text().splitlines()]
    (entry,) = [x for x in lines if x["type"] == "compaction"]
    assert entry["summary"] and entry["firstKeptEntryId"] and entry["tokensBefore"] > 0
    assert after.session_id == first.session_id
    row = gateway.sessions.find(first.session_id)
    assert row is not None and row.compaction_count == 1
