"""Builders for OpenClaw-shaped messages and sessions shared by the pruning/compaction tests."""

from __future__ import annotations

from typing import Any

from core.config.schema.pruning import ContextPruningConfig
from core.pruning import settings_from_config
from core.sessions.messages import AgentMessage
from core.sessions.model import CustomEntry, MessageEntry, Session

ON = settings_from_config(ContextPruningConfig(mode="cache-ttl"))
NOW = 10_000_000
EXPIRED = NOW - 3_600_000


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def assistant_call(call_id: str, tool: str = "exec", args: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "toolCall", "id": call_id, "name": tool,
                                               "arguments": args or {"cmd": "ls"}}],
            "provider": "sim", "model": "fast"}


def assistant_text(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}], "provider": "sim", "model": "fast"}


def tool_result(call_id: str, text: str, tool: str = "exec", *, images: int = 0,
                is_error: bool = False) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    content += [{"type": "image", "data": "AAAA", "mimeType": "image/png"}] * images
    return {"role": "toolResult", "toolCallId": call_id, "toolName": tool, "isError": is_error, "content": content}


def tool_session(n: int, size: int, *, tool: str = "exec", tail_assistants: int = 3,
                 bootstrap: bool = False) -> list[dict[str, Any]]:
    """[user] + n × (assistant call, result of ``size`` chars) + ``tail_assistants`` replies."""
    msgs: list[dict[str, Any]] = []
    if bootstrap:
        msgs += [assistant_call("boot"), tool_result("boot", "B" * size, tool)]
    msgs.append(user("go"))
    for i in range(n):
        msgs += [assistant_call(f"t{i}", tool), tool_result(f"t{i}", f"{i:04d}" + "x" * (size - 4), tool)]
    for i in range(tail_assistants):
        msgs += [user(f"more {i}"), assistant_text(f"reply {i}")]
    return msgs


def session_from(messages: list[dict[str, Any]], *, marker_ms: int | None = None) -> Session:
    session = Session.new("s1")
    for m in messages:
        session.add(MessageEntry(AgentMessage.from_json(m)))
    if marker_ms is not None:
        session.add(CustomEntry("openclaw.cache-ttl", {"timestamp": marker_ms, "provider": "sim", "modelId": "fast"}))
    return session
