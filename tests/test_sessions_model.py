"""Session model: OpenClaw-format lines round-trip unchanged; branch and context per
docs/design/compaction.md#persistence-in-the-transcript."""

from __future__ import annotations

import json
from pathlib import Path

from core.sessions.messages import COMPACTION_SUMMARY_PREFIX, AgentMessage
from core.sessions.model import (
    CompactionEntry,
    CustomEntry,
    Entry,
    MessageEntry,
    ModelChangeEntry,
    RawEntry,
    Session,
    SessionHeader,
)
from core.sessions.transcript import dump_line, read_transcript

# Hand-written from docs/design/sessions.md#transcript-entries, docs/design/compaction.md#persistence-in-the-transcript,
# docs/design/pruning.md#the-ttl-clock and pi's message shapes, in OpenClaw's JSON.stringify formatting (compact,
# non-ASCII unescaped). Includes a fork (e5 branches off e2) and entry types clawtop does not model.
OPENCLAW_TRANSCRIPT = "\n".join([
    '{"type":"session","version":2,"id":"oc-7f3a","timestamp":"2026-04-13T10:00:00.000Z","cwd":"/home/me/proj"}',
    '{"type":"model_change","id":"e0","parentId":null,"timestamp":"2026-04-13T10:00:00.001Z","provider":"anthropic",'
        '"modelId":"claude-sonnet-4-5"}',
    '{"type":"thinking_level_change","id":"e0b","parentId":"e0","timestamp":"2026-04-13T10:00:00.002Z",'
        '"thinkingLevel":"high"}',
    '{"type":"message","id":"e1","parentId":"e0b","timestamp":"2026-04-13T10:00:01.000Z","message":{"role":"user",'
        '"content":"Lis README — s\'il te plaît","timestamp":1776074401000}}',
    '{"type":"message","id":"e2","parentId":"e1","timestamp":"2026-04-13T10:00:02.000Z","message":{"role":"assistant",'
        '"content":[{"type":"thinking","thinking":"need to read","thinkingSignature":"sig"},{"type":"text",'
        '"text":"Reading."},{"type":"toolCall","id":"toolu_1","name":"read","arguments":{"path":"README.md"}}],'
        '"api":"anthropic-messages","provider":"anthropic","model":"claude-sonnet-4-5","usage":{"input":12,'
        '"output":30,"cacheRead":9000,"cacheWrite":200,"totalTokens":9242,"cost":{"input":0.1,"output":0.2,'
        '"cacheRead":0.01,"cacheWrite":0.02,"total":0.33}},"stopReason":"toolUse","timestamp":1776074402000}}',
    '{"type":"message","id":"e3","parentId":"e2","timestamp":"2026-04-13T10:00:03.000Z",'
        '"message":{"role":"toolResult","toolCallId":"toolu_1","toolName":"read","content":[{"type":"text",'
        '"text":"# Proj\\nhello"},{"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png"}],'
        '"details":{"lines":2},"isError":false,"timestamp":1776074403000}}',
    '{"type":"custom","customType":"openclaw.cache-ttl","data":{"timestamp":1776074403500,"provider":"anthropic",'
        '"modelId":"claude-sonnet-4-5"},"id":"e4","parentId":"e3","timestamp":"2026-04-13T10:00:03.500Z"}',
    '{"type":"message","id":"e5","parentId":"e2","timestamp":"2026-04-13T10:00:04.000Z",'
        '"message":{"role":"toolResult","toolCallId":"toolu_1","toolName":"read","content":[{"type":"text",'
        '"text":"retry"}],"isError":true,"timestamp":1776074404000}}',
    '{"type":"message","id":"e6","parentId":"e4","timestamp":"2026-04-13T10:00:05.000Z","message":{"role":"assistant",'
        '"content":[{"type":"text","text":"Done."}],"api":"anthropic-messages","provider":"anthropic",'
        '"model":"claude-sonnet-4-5","usage":{"input":5,"output":3,"cacheRead":9200,"cacheWrite":0,"totalTokens":9208,'
        '"cost":{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"total":0}},"stopReason":"stop",'
        '"timestamp":1776074405000}}',
    '{"type":"compaction","id":"e7","parentId":"e6","timestamp":"2026-04-13T10:00:06.000Z",'
        '"summary":"User asked to read README.","firstKeptEntryId":"e2","tokensBefore":9208,'
        '"details":{"readFiles":["README.md"],"modifiedFiles":[]},"fromHook":false}',
    '{"type":"label","id":"e8","parentId":"e7","timestamp":"2026-04-13T10:00:06.500Z","targetId":"e1","label":"start"}',
    '{"type":"message","id":"e9","parentId":"e8","timestamp":"2026-04-13T10:00:07.000Z","message":{"role":"user",'
        '"content":[{"type":"text","text":"thanks"}],"timestamp":1776074407000}}',
]) + "\n"


def write_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "oc-7f3a.jsonl"
    path.write_text(OPENCLAW_TRANSCRIPT, encoding="utf-8")
    return path


def test_every_openclaw_line_round_trips_byte_for_byte(tmp_path: Path) -> None:
    session = read_transcript(write_fixture(tmp_path))
    out = dump_line(session.header.raw) + b"".join(dump_line(e.raw) for e in session.entries)
    assert out == OPENCLAW_TRANSCRIPT.encode()


def test_entries_are_typed_and_unknown_types_kept(tmp_path: Path) -> None:
    session = read_transcript(write_fixture(tmp_path))
    assert session.header.id == "oc-7f3a" and session.header.version == 2
    kinds = {e.id: type(e) for e in session.entries}
    assert kinds["e0"] is ModelChangeEntry and kinds["e0b"] is RawEntry
    assert kinds["e4"] is CustomEntry and kinds["e7"] is CompactionEntry
    assert kinds["e8"] is RawEntry
    e2 = session.by_id["e2"]
    assert isinstance(e2, MessageEntry)
    msg = e2.message
    assert msg.role == "assistant" and msg.stop_reason == "toolUse"
    assert msg.tool_calls() == [{"type": "toolCall", "id": "toolu_1", "name": "read",
                                 "arguments": {"path": "README.md"}}]
    assert msg.usage["cacheRead"] == 9000 and msg.model == "claude-sonnet-4-5"
    tr = session.by_id["e3"].message  # type: ignore[attr-defined]
    assert tr.tool_call_id == "toolu_1" and tr.tool_name == "read" and not tr.is_error
    assert len(tr.images()) == 1 and tr.text() == "# Proj\nhello"
    custom = session.by_id["e4"]
    assert custom.custom_type == "openclaw.cache-ttl"  # type: ignore[attr-defined]
    assert custom.data["modelId"] == "claude-sonnet-4-5"  # type: ignore[attr-defined]


def test_branch_follows_parent_ids_from_the_leaf(tmp_path: Path) -> None:
    session = read_transcript(write_fixture(tmp_path))
    assert session.leaf_id == "e9"
    assert [e.id for e in session.branch()] == ["e0", "e0b", "e1", "e2", "e3", "e4", "e6",
                                               "e7", "e8", "e9"]
    assert [e.id for e in session.branch("e5")] == ["e0", "e0b", "e1", "e2", "e5"]


def test_messages_apply_latest_compaction(tmp_path: Path) -> None:
    session = read_transcript(write_fixture(tmp_path))
    msgs = session.messages()
    assert [m.role for m in msgs] == ["compactionSummary", "assistant", "toolResult",
                                      "assistant", "user"]
    assert msgs[0].llm_text() == (COMPACTION_SUMMARY_PREFIX + "User asked to read README."
                                  + "\n</summary>")
    assert session.latest_compaction().first_kept_entry_id == "e2"  # type: ignore[union-attr]
    # Before the compaction (another leaf) everything on the path is context.
    assert [m.role for m in session.messages("e5")] == ["user", "assistant", "toolResult"]


def test_new_entries_serialise_in_openclaw_key_order() -> None:
    session = Session.new("s1", cwd="/x")
    u = session.add(MessageEntry(AgentMessage.user("hi", timestamp=1)))
    c = session.add(CompactionEntry("sum", u.id or "", 10, {"readFiles": [],
                                                             "modifiedFiles": []}))
    assert list(c.raw) == ["type", "id", "parentId", "timestamp", "summary",
                           "firstKeptEntryId", "tokensBefore", "details"]
    assert c.parent_id == u.id and session.leaf_id == c.id
    assert list(SessionHeader("s1").raw) == ["type", "version", "id", "timestamp", "cwd"]
    line = json.loads(dump_line(u.raw))
    assert Entry.from_json(line) == u


def test_replace_leaves_the_stored_message_alone() -> None:
    entry = MessageEntry(AgentMessage.tool_result("c1", "exec", "x" * 100))
    trimmed = entry.message.replace(content=[{"type": "text", "text": "[cleared]"}])
    assert trimmed.text() == "[cleared]" and entry.message.text() == "x" * 100
