"""The contributors report and its ``/context list|detail|json`` layouts (docs/design/context.md#the-context-report,
docs/design/context.md#distance-to-every-threshold)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.config.schema import ClawtopConfig
from core.context import ContextAccountant, ContextReportUpdated, SessionUsage, SkillSpec, ToolSpec, render
from core.context.report import PruneClock
from core.sessions.messages import AgentMessage
from core.sessions.model import CompactionEntry, MessageEntry, Session

TOOLS = [
    ToolSpec("read", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}}}),
    ToolSpec("exec", "Run a command",
             {"type": "object", "properties": {"cmd": {"type": "string"}, "timeout": {"type": "number"}}}),
]


def _session() -> Session:
    s = Session.new("abc")
    add = lambda m: s.add(MessageEntry(m))  # noqa: E731
    add(AgentMessage.user("old question"))
    add(AgentMessage.assistant([{"type": "text", "text": "old answer"}]))
    kept = add(AgentMessage.user("hello 你好"))
    s.add(CompactionEntry("summary of before", kept.id, 5000))
    add(AgentMessage.assistant([
        {"type": "thinking", "thinking": "think", "thinkingSignature": ""},
        {"type": "text", "text": "let me look"},
        {"type": "toolCall", "id": "c1", "name": "read", "arguments": {"path": "a.txt"}},
    ]))
    add(AgentMessage.tool_result("c1", "read", "r" * 400))
    add(AgentMessage.tool_result("c2", "exec", [{"type": "text", "text": "e" * 100},
                                                {"type": "image", "data": "", "mimeType": "image/png"}]))
    add(AgentMessage.assistant([{"type": "text", "text": "done"}]))
    return s


@pytest.fixture
def setup(tmp_path: Path) -> tuple[ContextAccountant, Session, list[Any]]:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "AGENTS.md").write_text("A" * 300 + "\n", encoding="utf-8")
    (ws / "SOUL.md").write_text("S" * 100, encoding="utf-8")
    config = ClawtopConfig.model_validate({"agents": {"defaults": {"workspace": str(ws), "bootstrapMaxChars": 200}}})
    events: list[Any] = []
    return ContextAccountant(config, state_dir=tmp_path, publish=events.append), _session(), events


def _report(acc: ContextAccountant, session: Session, **kw: Any) -> Any:
    prompt = acc.system_prompt("main", tools=TOOLS,
                               skills=[SkillSpec("weather", "<skill><name>weather</name></skill>")])
    return acc.report(session.id, session.messages(), model_ref="sim/fast", prompt=prompt, **kw)


def test_categories_of_a_hand_built_session(setup: Any) -> None:
    acc, session, events = setup
    report = _report(acc, session)
    h = report.history
    assert h.messages == 6  # summary + kept user + assistant + 2 results + assistant
    assert h.by_category["user"] == len("hello ") + 8
    assert h.by_category["thinking"] == 5
    assert h.by_category["assistant_text"] == len("let me look") + len("done")
    assert h.by_category["tool_calls"] == len('{"path":"a.txt"}')
    assert h.tool_results_by_tool == {"read": 400, "exec": 100 + 8000}
    assert h.by_category["images"] == 8000 and h.image_count == 1
    assert h.by_category["compaction_summaries"] > len("summary of before")
    cats = report.categories
    assert cats["reserved_output"] == 8192
    assert cats["free"] == 200_000 - report.estimated_tokens - 8192
    assert cats["tool_schemas"] > 0 and cats["project_context"] > 0 and cats["skills"] > 0
    assert isinstance(events[-1], ContextReportUpdated)
    assert events[-1].categories == cats


def test_thresholds_distances(setup: Any) -> None:
    acc, session, _ = setup
    report = _report(acc, session, usage=SessionUsage(input_tokens=1000, output_tokens=50, cache_read=500))
    t = report.thresholds
    assert t["compaction"].limit == 180_000 and t["compaction"].current == 1550
    assert t["compaction"].remaining == 178_450
    assert t["memoryFlush"].limit == 176_000
    assert t["softTrim"].limit == 60_000 and t["hardClear"].limit == 100_000
    assert t["softTrim"].current == -(-report.history.chars // 4)
    assert report.usage.prompt_tokens == 1500
    clock = _report(acc, session, prune_clock=PruneClock(mode="cache-ttl", ttl_ms=300_000, ms_since_touch=108_000))
    assert clock.prune_status == "in 3m 12s"
    assert clock.thresholds["prune"].remaining == 192_000


def _normalise(text: str, tmp: Path) -> str:
    return text.replace(str(tmp), "<tmp>")


def test_list_layout_follows_the_spec(setup: Any, tmp_path: Path) -> None:
    acc, session, _ = setup
    text = _normalise(render(_report(acc, session), "list"), tmp_path)
    lines = text.splitlines()
    assert lines[:5] == [
        "🧠 Context breakdown",
        "Workspace: <tmp>/ws",
        "Bootstrap max/file: 200 chars",
        "Bootstrap max/total: 60,000 chars",
        "Sandbox: mode=off sandboxed=false",
    ]
    assert lines[5].startswith("System prompt (estimate): ") and " (Project Context " in lines[5]
    assert lines[6] == ("⚠ Bootstrap context is over configured limits: 1 file(s) truncated "
                        "(300 raw chars -> 284 injected chars).")
    assert lines[7] == "Causes: 1 file(s) exceeded max/file; 0 file(s) hit max/total."
    assert lines[8].startswith("Tip: ") and "agents.defaults.bootstrapMaxChars" in lines[8]
    assert lines[9:12] == [
        "",
        "Injected workspace files:",
        "- AGENTS.md: TRUNCATED | raw 300 chars (~75 tok) | injected 284 chars (~71 tok)",
    ]
    assert lines[12] == "- SOUL.md: OK | raw 100 chars (~25 tok) | injected 100 chars (~25 tok)"
    assert lines[13].startswith("- TOOLS.md: MISSING | raw 0 chars (~0 tok) | injected ")
    i = lines.index(f"Skills list (system prompt text): {_skills_size(lines)} (1 skills)")
    assert lines[i - 1] == ""
    assert lines[i + 1] == "Skills: weather"
    assert lines[i + 2].startswith("Tool list (system prompt text): ")
    assert lines[i + 3] == "Tool schemas (JSON): 141 chars (~36 tok) (counts toward context; not shown as text)"
    assert lines[i + 4] == "Tools: read, exec"
    assert lines[i + 5:i + 7] == ["", "Session tokens (cached): unknown / ctx=200,000"]
    assert "Thresholds:" in lines
    assert lines[-2] == "" and lines[-1].startswith("Inline shortcut")
    for needle in ("- Soft trim: ", "- Hard clear: ", "- Compaction: ", "- Memory flush: ", "- Prune gate: off",
                   "- Window guard: 200,000 tok"):
        assert any(line.startswith(needle) for line in lines), needle
    assert "  - exec: 8,100 chars (~2,025 tok)" in lines


def _skills_size(lines: list[str]) -> str:
    line = next(line for line in lines if line.startswith("Skills list (system prompt text): "))
    return line.removeprefix("Skills list (system prompt text): ").removesuffix(" (1 skills)")


def test_detail_layout(setup: Any) -> None:
    acc, session, _ = setup
    text = render(_report(acc, session, usage=SessionUsage(input_tokens=90_000, output_tokens=10)), "detail")
    lines = text.splitlines()
    assert lines[0] == "🧠 Context breakdown (detailed)"
    order = ["Top skills (prompt entry size):", "Top tools (schema size):", "Top tools (summary text size):",
             "Tools (param count):"]
    idx = [lines.index(h) for h in order]
    assert idx == sorted(idx)
    assert lines[lines.index("Tools (param count):") + 1] == "- exec: 2 params"
    assert lines[lines.index("Top tools (summary text size):") + 1] == "- exec: 13 chars (~4 tok)"
    assert any(line.startswith("Tracked prompt estimate: ") for line in lines)
    assert "Actual context usage (cached): 90,000 tok" in lines
    assert any(line.startswith("Untracked provider/runtime overhead: ~") for line in lines)
    assert "Compactable transcript messages: 5" in lines


def test_json_shape(setup: Any) -> None:
    acc, session, _ = setup
    data = json.loads(render(_report(acc, session, usage=SessionUsage(input_tokens=5000, output_tokens=7)), "json"))
    assert set(data) >= {"report", "session", "thresholds"}
    assert set(data["thresholds"]) == {"prune", "softTrim", "hardClear", "compaction", "memoryFlush"}
    assert set(data["thresholds"]["compaction"]) >= {"current", "limit", "remaining", "remainingPct"}
    r = data["report"]
    assert (r["source"], r["provider"], r["model"]) == ("estimate", "sim", "fast")
    assert r["injectedWorkspaceFiles"][0] == {
        "name": "AGENTS.md", "path": r["workspaceDir"] + "/AGENTS.md", "missing": False,
        "rawChars": 300, "injectedChars": 284, "truncated": True,
    }
    assert r["tools"]["entries"][1] == {"name": "exec", "summaryChars": 13, "schemaChars": 84, "propertiesCount": 2}
    assert data["session"] == {"totalTokens": 5000, "totalTokensFresh": True, "inputTokens": 5000,
                               "outputTokens": 7, "contextTokens": 200_000}


def test_modes_and_aliases(setup: Any) -> None:
    acc, session, _ = setup
    report = _report(acc, session)
    assert render(report, "show") == render(report, "list")
    assert render(report, "deep") == render(report, "detail")
    assert render(report, "help").startswith("🧠 /context")
    assert render(report, None) == render(report, "help")
    assert render(report, "bogus") == "Unknown /context mode.\nUsage: /context [list|detail|json]"
