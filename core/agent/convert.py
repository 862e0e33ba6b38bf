"""Between the transcript's messages (pi's JSON shapes, :class:`AgentMessage`) and the provider
types (:class:`ChatMessage`).

Why a converter and not one type: the transcript must stay byte-compatible with OpenClaw's
JSONL (``toolCall`` blocks, ``toolResult`` role, ``usage.cacheRead``…) while the providers speak
a neutral, frozen request type. Images are not sent by clawtop's providers yet; an image block
becomes a short text note so the model knows one was there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from core.providers.types import ChatMessage, ContentBlock, TextBlock, ToolCall, ToolResultBlock, ToolUseBlock, Usage
from core.sessions.messages import AgentMessage

__all__ = ["assistant_message", "pi_stop_reason", "pi_usage", "to_chat_messages", "tool_result_message"]

_STOP = {"end_turn": "stop", "tool_use": "toolUse", "max_tokens": "length", "stop_sequence": "stop"}


def pi_stop_reason(stop_reason: str | None) -> str:
    """The provider's stop reason in pi's vocabulary (``stop``, ``toolUse``, ``length``, …)."""
    return _STOP.get(stop_reason or "end_turn", stop_reason or "stop")


def pi_usage(usage: Usage) -> dict[str, Any]:
    """pi's ``usage`` object from disjoint provider usage (``totalTokens`` = all four parts)."""
    return {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "cacheRead": usage.cache_read_tokens,
        "cacheWrite": usage.cache_write_tokens,
        "totalTokens": usage.total_tokens,
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": 0},
    }


def assistant_message(text: str, calls: Sequence[ToolCall], *, ref: str, usage: Usage,
                      stop_reason: str | None, api: str = "anthropic-messages") -> AgentMessage:
    """The assistant message of one model call, as stored in the transcript."""
    blocks: list[dict[str, Any]] = []
    if text:
        blocks.append({"type": "text", "text": text})
    for call in calls:
        blocks.append({"type": "toolCall", "id": call.id, "name": call.name, "arguments": dict(call.input)})
    provider, _, model = ref.partition("/")
    return AgentMessage.assistant(blocks, provider=provider, model=model, api=api, usage=pi_usage(usage),
                                  stop_reason=pi_stop_reason(stop_reason))


def tool_result_message(call: ToolCall, text: str, *, is_error: bool) -> AgentMessage:
    """The ``toolResult`` message of one call: what cache-TTL pruning later works on."""
    return AgentMessage.tool_result(call.id, call.name, text, is_error=is_error)


def _text_of(blocks: Iterable[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            parts.append(text if isinstance(text, str) else json.dumps(text))
        elif kind == "image":
            parts.append("[image]")
    return "\n".join(parts)


def _convert(message: AgentMessage) -> ChatMessage | None:
    role = message.role
    if role == "user":
        content = message.content
        return ChatMessage(role="user", content=content if isinstance(content, str) else _text_of(message.blocks()))
    if role == "assistant":
        blocks: list[ContentBlock] = []
        for block in message.blocks():
            if block.get("type") == "text" and block.get("text"):
                blocks.append(TextBlock(str(block["text"])))
            elif block.get("type") == "toolCall":
                args = block.get("arguments")
                blocks.append(ToolUseBlock(id=str(block.get("id", "")), name=str(block.get("name", "")),
                                           input=args if isinstance(args, dict) else {}))
        if not blocks:
            return None  # an empty (aborted/error) assistant message adds nothing to the context
        return ChatMessage(role="assistant", content=tuple(blocks))
    if role == "toolResult":
        return ChatMessage(role="tool", content=(ToolResultBlock(
            tool_use_id=message.tool_call_id or "", content=_text_of(message.blocks()), is_error=message.is_error),))
    summary = message.llm_text()
    if summary is not None:
        return ChatMessage(role="user", content=summary)
    if role == "custom" and message.raw.get("content"):
        content = message.raw["content"]
        return ChatMessage(role="user", content=content if isinstance(content, str) else _text_of(content))
    return None


def _merge(a: ChatMessage, b: ChatMessage) -> ChatMessage:
    def blocks(m: ChatMessage) -> tuple[ContentBlock, ...]:
        return (TextBlock(m.content),) if isinstance(m.content, str) else m.content
    return ChatMessage(role=a.role, content=blocks(a) + blocks(b))


def to_chat_messages(messages: Iterable[AgentMessage]) -> tuple[ChatMessage, ...]:
    """The provider messages for a context. Consecutive results of one tool round merge into one
    ``tool`` message and consecutive user messages into one (providers require alternation)."""
    out: list[ChatMessage] = []
    for message in messages:
        chat = _convert(message)
        if chat is None:
            continue
        if out and out[-1].role == chat.role and chat.role in ("tool", "user"):
            out[-1] = _merge(out[-1], chat)
        else:
            out.append(chat)
    return (out and tuple(out)) or ()
