"""Compaction: triggers, cut point, entry format, abort on no shrink, summary formats, flush."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.compaction import (
    CompactionAborted,
    CompactionFinished,
    FlushState,
    build_summary_request,
    check_threshold,
    compact,
    context_hash,
    find_cut_point,
    is_context_overflow_error,
    maybe_flush,
    parse_compact_command,
    plan_flush,
    precheck,
    serialize_conversation,
)
from core.compaction.summary import SUMMARY_MAX_CHARS, assemble_summary
from core.config.schema.compaction import CompactionConfig
from core.providers.types import ModelRequest
from core.sessions.messages import AgentMessage
from core.sessions.model import CompactionEntry, MessageEntry, ModelChangeEntry
from tests.pruning_support import assistant_call, assistant_text, session_from, tool_result, user

CFG = CompactionConfig.model_validate({"keepRecentTokens": 1000})


def convo(turns: int, size: int = 2000) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = []
    for i in range(turns):
        msgs += [user(f"task {i} " + "u" * size), assistant_call(f"c{i}", "read", {"path": f"/src/f{i}.py"}),
                 tool_result(f"c{i}", "r" * size), assistant_text(f"done {i} " + "a" * size)]
    return msgs


async def fake_summary(request: ModelRequest) -> str:
    assert "<conversation>" in request.messages[0].content  # type: ignore[operator]
    return "## Decisions\n- x\n\n## Open TODOs\n- y"


def test_threshold_trigger_and_reserve_floor() -> None:
    default = CompactionConfig()
    check = check_threshold(180_001, 200_000, default)
    assert check.limit == 180_000 and check.reserve == 20_000 and check.compact
    assert not check_threshold(180_000, 200_000, default).compact
    floorless = CompactionConfig.model_validate({"reserveTokensFloor": 0})
    assert check_threshold(0, 200_000, floorless).limit == 200_000 - 16384
    assert not check_threshold(10**9, 200_000, CompactionConfig.model_validate({"enabled": False})).compact


def test_overflow_patterns_and_precheck_routes() -> None:
    assert is_context_overflow_error("Error: prompt is too long: request_too_large")
    assert is_context_overflow_error("Input is too long for the model")
    assert not is_context_overflow_error("rate limited")
    assert precheck(history_chars=4000, system_chars=0, prompt_chars=0, budget=100_000, reserve=20_000,
                    reducible_tool_chars=0).route == "fits"
    big = dict(history_chars=400_000, system_chars=0, prompt_chars=0, budget=100_000, reserve=20_000)
    assert precheck(**big, reducible_tool_chars=0).route == "compact_only"
    assert precheck(**big, reducible_tool_chars=10**7).route == "truncate_tool_results_only"
    assert precheck(**big, reducible_tool_chars=1000).route == "compact_then_truncate"


def test_cut_point_never_on_tool_result_and_split_turn() -> None:
    session = session_from(convo(6))
    path = session.branch()
    cut = find_cut_point(path, 1000)
    assert path[cut.first_kept].role != "toolResult"
    # keep budget reached inside the last turn's result → cut at the last assistant → split turn
    assert cut.split_turn and path[cut.turn_start].role == "user"
    nothing = find_cut_point(path, 10**9)
    assert nothing.first_kept == nothing.start == 0


def test_cut_extends_over_preceding_state_entries() -> None:
    msgs = convo(3)
    session = session_from(msgs[:8])
    session.add(ModelChangeEntry("sim", "fast"))
    for m in msgs[8:]:
        session.add(MessageEntry(AgentMessage.from_json(m)))
    path = session.branch()
    cut = find_cut_point(path, 1100)  # reached at the last user message, a turn start
    assert isinstance(path[cut.first_kept], ModelChangeEntry) and not cut.split_turn
    assert path[cut.first_kept + 1].role == "user"


async def test_compaction_entry_format_and_context_rebuild() -> None:
    session = session_from(convo(6))
    events: list[Any] = []
    result = await compact(session, config=CFG, summarize=fake_summary, model="fast", publish=events.append)
    assert result.ok and isinstance(events[-1], CompactionFinished)
    entry = session.entries[-1]
    assert isinstance(entry, CompactionEntry) and entry is result.entry
    raw = entry.to_json()
    assert set(raw) >= {"type", "id", "parentId", "timestamp", "summary", "firstKeptEntryId", "tokensBefore", "details"}
    assert raw["type"] == "compaction" and raw["details"]["readFiles"][0].startswith("/src/f")
    assert "<read-files>" in raw["summary"] and "## Decisions" in raw["summary"]
    assert result.tokens_after < result.tokens_before == raw["tokensBefore"]
    messages = session.messages()
    assert messages[0].role == "compactionSummary"
    assert messages[0].llm_text().startswith(
        "The conversation history before this point was compacted into the following summary:\n\n<summary>\n")
    # loop guard: the last entry is a compaction → abort, nothing appended
    again = await compact(session, config=CFG, summarize=fake_summary, model="fast")
    assert again.aborted == "already_compacted" and len(session.entries) == 25


async def test_abort_when_it_would_not_shrink() -> None:
    async def verbose(request: ModelRequest) -> str:
        return "## Decisions\n" + "word " * 100_000  # capped at 16000 chars, still > the tiny history

    events: list[Any] = []
    small = session_from(convo(2, size=40))
    tight = CompactionConfig.model_validate({"keepRecentTokens": 10})
    bad = await compact(small, config=tight, summarize=verbose, model="fast", publish=events.append)
    assert bad.aborted == "would_not_shrink" and isinstance(events[-1], CompactionAborted)
    assert events[-1].tokens_after >= events[-1].tokens_before and len(small.entries) == 8


async def test_abort_on_failure_and_nothing_to_summarize() -> None:
    async def boom(request: ModelRequest) -> str:
        raise RuntimeError("provider down")

    failed = await compact(session_from(convo(6)), config=CFG, summarize=boom, model="fast")
    assert failed.aborted == "summary_failed" and "provider down" in failed.event.detail
    tiny = await compact(session_from(convo(1, 10)), config=CFG, summarize=fake_summary, model="fast", trigger="manual")
    assert tiny.aborted == "nothing_to_summarize"


def test_serialization_and_prompts() -> None:
    msgs = [user("hi"),
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm"},
                                              {"type": "text", "text": "ok"},
                                              {"type": "toolCall", "name": "read", "arguments": {"path": "/a"}}]},
            tool_result("c", "x" * 2500)]
    text = serialize_conversation(msgs)
    assert text.split("\n\n")[:4] == ["[User]: hi", "[Assistant thinking]: hmm", "[Assistant]: ok",
                                      '[Assistant tool calls]: read(path="/a")']
    assert text.endswith("x" * 2000 + "\n[... 500 more characters truncated]")
    req = build_summary_request(msgs, model="m", max_tokens=100, previous_summary="old", instructions="focus")
    body = req.messages[0].content
    assert "<previous-summary>\nold\n</previous-summary>" in body and "<user-instructions>\nfocus" in body  # type: ignore[operator]
    default = build_summary_request(msgs, model="m", max_tokens=100, mode="default")
    assert "## Critical Context" in default.messages[0].content  # type: ignore[operator]
    assert parse_compact_command("/compact keep the plan") == "keep the plan"
    assert parse_compact_command("/compact") == "" and parse_compact_command("/compaction") is None


def test_summary_assembly_cap_and_split_turn() -> None:
    out = assemble_summary("b" * 50_000, prefix_summary="prefix", mode="default")
    assert len(out) <= SUMMARY_MAX_CHARS and "[Compaction summary truncated to fit budget]" in out
    assert out.endswith("---\n\n**Turn Context (split turn):**\n\nprefix")


async def test_memory_flush_gate_and_once_per_cycle() -> None:
    cfg = CompactionConfig()
    plan = plan_flush(cfg, context_window=200_000, prompt_tokens=176_000, last_output_tokens=0,
                      new_prompt_chars=0, state=FlushState())
    assert plan.flush and plan.threshold_tokens == 176_000
    assert not plan_flush(cfg, context_window=200_000, prompt_tokens=175_999, last_output_tokens=0,
                          new_prompt_chars=0, state=FlushState()).flush
    calls: list[tuple[str, str]] = []

    async def run_turn(system: str, prompt: str) -> None:
        calls.append((system, prompt))

    events: list[Any] = []
    now = dt.datetime(2026, 4, 13, 10, 0, tzinfo=dt.UTC)
    state = await maybe_flush(cfg, session_id="s", context_window=200_000, prompt_tokens=190_000,
                              last_output_tokens=0, new_prompt_chars=0, state=FlushState(compaction_count=2),
                              messages=convo(2), run_turn=run_turn, now=now, publish=events.append)
    assert "memory/2026-04-13.md" in calls[0][1] and "NO_REPLY" in calls[0][1]
    assert state.memory_flush_compaction_count == 2 and len(state.memory_flush_context_hash or "") == 16
    assert events[-1].outcome == "ran"
    again = plan_flush(cfg, context_window=200_000, prompt_tokens=190_000, last_output_tokens=0,
                       new_prompt_chars=0, state=state)
    assert again.reason == "already_flushed_this_cycle"
    assert context_hash(convo(2)) == context_hash(convo(2)) != context_hash(convo(3))
    forced = CompactionConfig.model_validate({"memoryFlush": {"forceFlushTranscriptBytes": "2mb"}})
    assert plan_flush(forced, context_window=200_000, prompt_tokens=0, last_output_tokens=0, new_prompt_chars=0,
                      state=FlushState(), transcript_bytes=3 * 1024 * 1024).reason == "transcript_bytes"


@pytest.mark.parametrize("mode", ["default", "safeguard"])
async def test_second_compaction_uses_previous_summary(mode: str) -> None:
    cfg = CompactionConfig.model_validate({"keepRecentTokens": 1000, "mode": mode})
    session = session_from(convo(6))
    assert (await compact(session, config=cfg, summarize=fake_summary, model="fast")).ok
    for m in convo(6):
        session.add(MessageEntry(AgentMessage.from_json(m)))
    seen: list[str] = []

    async def capture(request: ModelRequest) -> str:
        seen.append(request.messages[0].content)  # type: ignore[arg-type]
        return "## Decisions\n- merged"

    assert (await compact(session, config=cfg, summarize=capture, model="fast")).ok
    assert "<previous-summary>" in seen[0]
