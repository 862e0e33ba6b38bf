"""Anthropic Messages API client (``POST /v1/messages``), streaming and not
(docs/design/bench.md#reading-usage-from-streams).

Base URL rule: the configured base is the API root (``https://api.anthropic.com``,
``http://127.0.0.1:8080`` for llama.cpp's compatibility endpoint); ``/v1/messages`` is appended.
A base that already ends in ``/v1`` gets only ``/messages``.

Stream rules, and what counts as malformed (→ :class:`ProviderProtocolError`):

* Unknown event types are **ignored** (the API says new ones may appear), as are ``ping``,
  unknown delta types (``signature_delta`` and any future one) and blocks of unknown type.
* A *known* event whose payload does not fit fails the request: data that is not a JSON object,
  a ``content_block_start`` for an index already open, a delta or stop for a block index never
  started (or already stopped), a ``text_delta`` on a non-text block, an ``input_json_delta``
  whose assembled JSON does not parse at ``content_block_stop``, or a body that ends before
  ``message_stop`` (and before any ``stop_reason``).
* ``message_start`` and ``message_delta`` usage is **cumulative**: fields present overwrite,
  never add. Disjoint parts: ``input_tokens``, ``cache_read_input_tokens``,
  ``cache_creation_input_tokens``, ``output_tokens``.
* ``event: error`` after HTTP 200 (e.g. the streaming ``overloaded_error``) raises
  :class:`ProviderHTTPError` with ``status=None`` (no HTTP status describes it; the 200 already
  went by), ``error_type`` from the payload and the 200's headers — the retry engine classifies
  it by ``error_type`` (docs/design/retry.md#anthropic-error-types, docs/design/retry.md#call-site-safety: stream
  ``event: error`` is ambiguous).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.provider_errors import ProviderHTTPError
from core.providers.base import ProviderClient, StreamDecoder, json_object
from core.providers.sse import SSEEvent
from core.providers.types import (
    ChatMessage,
    ModelRequest,
    StreamEvent,
    TextBlock,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    UsageUpdate,
)

__all__ = ["ANTHROPIC_VERSION", "AnthropicClient"]

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicClient(ProviderClient):
    """Anthropic Messages (and compatible servers: llama.cpp, the built-in simulator)."""

    api = "anthropic-messages"

    @staticmethod
    def _endpoint(base_url: str) -> str:
        return f"{base_url}/messages" if base_url.endswith("/v1") else f"{base_url}/v1/messages"

    def _headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION, "content-type": "application/json"}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def _body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [_message(m) for m in request.messages],
        }
        if request.system:
            body["system"] = request.system
        _add_cache_breakpoints(body, request.cache_retention or "short")
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.input_schema)}
                for t in request.tools
            ]
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if stream:
            body["stream"] = True
        return body

    def _decoder(self) -> StreamDecoder:
        return _MessagesDecoder(self.id)

    def _parse_reply(self, data: Any) -> tuple[str, str, tuple[ToolCall, ...], Usage, str | None, str | None]:
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise ValueError("reply has no content list")
        text: list[str] = []
        thinking: list[str] = []
        tools: list[ToolCall] = []
        for block in data["content"]:
            kind = block.get("type")
            if kind == "text":
                text.append(block["text"])
            elif kind == "thinking":
                thinking.append(block.get("thinking", ""))
            elif kind == "tool_use":
                tools.append(ToolCall(block["id"], block["name"], block.get("input") or {}))
        usage = _usage(Usage(), data.get("usage"))
        return "".join(text), "".join(thinking), tuple(tools), usage, data.get("stop_reason"), data.get("model")


def _message(message: ChatMessage) -> dict[str, Any]:
    # Anthropic has no "tool" role: tool results travel in a user turn.
    role = "user" if message.role == "tool" else message.role
    if isinstance(message.content, str):
        return {"role": role, "content": message.content}
    blocks: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock):
            blocks.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolUseBlock):
            blocks.append({"type": "tool_use", "id": block.id, "name": block.name, "input": dict(block.input)})
        elif isinstance(block, ToolResultBlock):
            item: dict[str, Any] = {"type": "tool_result", "tool_use_id": block.tool_use_id, "content": block.content}
            if block.is_error:
                item["is_error"] = True
            blocks.append(item)
    return {"role": role, "content": blocks}


def _add_cache_breakpoints(body: dict[str, Any], retention: str) -> None:
    """Mark the system prompt and the last message as prompt-cache breakpoints.

    OpenClaw's ``cacheRetention`` (docs/design/pruning.md#provider-prompt-caching): ``short`` → ``{"type":
    "ephemeral"}`` (5 min), ``long`` adds ``"ttl": "1h"``; ``none`` sends no marker. Two breakpoints (of the
    API's four) cache the stable prefix and, turn after turn, the whole conversation so far.
    """
    if retention == "none":
        return
    marker: dict[str, Any] = {"type": "ephemeral"}
    if retention == "long":
        marker["ttl"] = "1h"
    system = body.get("system")
    if isinstance(system, str) and system:
        body["system"] = [{"type": "text", "text": system, "cache_control": marker}]
    if body["messages"]:
        last = body["messages"][-1]
        content = last["content"]
        if isinstance(content, str):
            if content:
                last["content"] = [{"type": "text", "text": content, "cache_control": marker}]
        elif content:
            content[-1] = {**content[-1], "cache_control": marker}


def _usage(current: Usage, raw: Any) -> Usage:
    """``current`` with the fields present in ``raw`` overwritten (cumulative usage)."""
    if not isinstance(raw, Mapping):
        return current
    def pick(key: str, old: int) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) else old
    return Usage(
        input_tokens=pick("input_tokens", current.input_tokens),
        output_tokens=pick("output_tokens", current.output_tokens),
        cache_read_tokens=pick("cache_read_input_tokens", current.cache_read_tokens),
        cache_write_tokens=pick("cache_creation_input_tokens", current.cache_write_tokens),
    )


class _Block:
    __slots__ = ("kind", "id", "name", "parts", "start_input", "open")

    def __init__(self, kind: str, raw: Mapping[str, Any]) -> None:
        self.kind = kind
        self.id = str(raw.get("id", ""))
        self.name = str(raw.get("name", ""))
        self.start_input = raw.get("input")
        self.parts: list[str] = []
        self.open = True


class _MessagesDecoder(StreamDecoder):
    """State machine over one Messages stream (see the module doc for the rules)."""

    def __init__(self, provider: str) -> None:
        super().__init__(provider)
        self._blocks: dict[int, _Block] = {}
        self._started = False

    def handle(self, event: SSEEvent) -> list[StreamEvent]:
        name = event.event
        if name == "content_block_delta":  # the hot path first
            data = json_object(self, name, event.data)
            block = self._block(data, name)
            delta = data["delta"]
            kind = delta.get("type")
            if kind == "text_delta":
                if block.kind != "text":
                    raise self.fail(f"text_delta for block {data['index']}, which is a {block.kind} block")
                return [TextDelta(delta["text"])]
            if kind == "input_json_delta":
                block.parts.append(delta["partial_json"])
            elif kind == "thinking_delta":
                return [ThinkingDelta(delta["thinking"])]
            return []
        if name == "message":  # no "event:" line; take the name from the payload
            data = json_object(self, "event", event.data)
            name = str(data.get("type", ""))
            if name == "content_block_delta":
                return self.handle(SSEEvent(name, event.data))
        elif name in _KNOWN:
            data = json_object(self, name, event.data)
        else:
            return []  # unknown event types are ignored (API versioning policy)
        if name == "message_start":
            message = data["message"]
            self._started = True
            self.model = message.get("model") or self.model
            self.usage = _usage(self.usage, message.get("usage"))
            return [UsageUpdate(self.usage)]
        if name == "content_block_start":
            index = _index(self, data, name)
            if index in self._blocks:
                raise self.fail(f"content_block_start for block {index}, which was already started")
            raw = data["content_block"]
            self._blocks[index] = _Block(str(raw.get("type")), raw)
            return []
        if name == "content_block_stop":
            block = self._block(data, name)
            block.open = False
            if block.kind in ("tool_use", "server_tool_use"):
                return [ToolCall(block.id, block.name, self._tool_input(block, data["index"]))]
            return []
        if name == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason") is not None:
                self.stop_reason = delta["stop_reason"]
            self.usage = _usage(self.usage, data.get("usage"))
            return [UsageUpdate(self.usage)]
        if name == "message_stop":
            self.done = True
            return []
        if name == "error":
            error = data.get("error") or {}
            kind = error.get("type") if isinstance(error, dict) else None
            message = error.get("message", "") if isinstance(error, dict) else str(error)
            raise ProviderHTTPError(
                f"stream failed after HTTP 200: {kind or 'error'}: {message}"[:500],
                provider=self.provider, status=None, body=event.data, error_type=kind,
            )
        return []  # ping, or a known name with nothing to do

    def finish(self) -> list[StreamEvent]:
        if not self.done and self.stop_reason is None:
            where = "message_start" if not self._started else "message_stop"
            raise self.fail(f"stream ended before {where} (the body closed early)")
        return []

    def _block(self, data: Mapping[str, Any], name: str) -> _Block:
        index = _index(self, data, name)
        block = self._blocks.get(index)
        if block is None:
            raise self.fail(f"{name} for block index {index}, which was never started")
        if not block.open:
            raise self.fail(f"{name} for block index {index}, which was already stopped")
        return block

    def _tool_input(self, block: _Block, index: int) -> Mapping[str, Any]:
        raw = "".join(block.parts)
        if not raw.strip():
            return block.start_input if isinstance(block.start_input, dict) else {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise self.fail(f"tool_use block {index} ({block.name}): input JSON does not parse ({exc})") from None
        if not isinstance(value, dict):
            raise self.fail(f"tool_use block {index} ({block.name}): input is not a JSON object")
        return value


_KNOWN = frozenset({
    "message_start", "content_block_start", "content_block_stop", "message_delta", "message_stop", "error", "ping",
})


def _index(decoder: StreamDecoder, data: Mapping[str, Any], name: str) -> int:
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise decoder.fail(f"{name} without an integer block index")
    return index
