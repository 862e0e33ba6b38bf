"""OpenAI-compatible Chat Completions client: OpenAI, OpenRouter, Ollama, llama.cpp, vLLM.

Base URL rule: configure the URL the server's own docs give for OpenAI clients
(``https://api.openai.com/v1``, ``https://openrouter.ai/api/v1``, ``http://127.0.0.1:11434/v1``,
``http://127.0.0.1:8000/v1``); ``/chat/completions`` is appended. A base with **no path** (the
way llama.cpp prints ``http://127.0.0.1:8080``) gets ``/v1/chat/completions``. A base that
already ends in ``/chat/completions`` is used as is.

Streaming asks for ``stream_options: {"include_usage": true}`` so the final chunk carries the
whole call's usage. Servers that reject it (old Groq models, some proxies) answer 400/422; when
that error body names ``stream_options`` the request is resent once without it and this client
stops sending it (a protocol fallback, reported as ``fallback="stream_options"`` on the
``provider.call`` event, not a retry). Requiring the body to name the field keeps an unrelated
400 (context overflow, bad tool schema) from being sent twice.

Usage: ``prompt_tokens`` includes cached tokens, so ``input_tokens = prompt_tokens −
cached_tokens − cache_write_tokens`` (disjoint parts, see :class:`Usage`). A stream without any
usage (server ignores ``include_usage`` or dropped it) reports ``output_tokens`` = the number of
content chunks, flagged ``estimated``. ``max_tokens`` is sent (understood by every local server;
OpenAI's newer ``max_completion_tokens`` is not).

Malformed (→ :class:`ProviderProtocolError`): a chunk that is not a JSON object, tool-call
arguments that do not parse as a JSON object, a body ending before ``[DONE]`` and before any
``finish_reason``. A chunk carrying ``error`` (OpenRouter, vLLM mid-stream failures) raises
:class:`ProviderHTTPError` with ``status=None``, like Anthropic's ``event: error``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from core.provider_errors import ProviderError, ProviderHTTPError
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

__all__ = ["OpenAICompatClient", "chat_completions_url"]

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use"}


def chat_completions_url(base_url: str) -> str:
    """The POST URL for a configured base URL (rule in the module doc)."""
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if not urlsplit(base).path:
        return f"{base}/v1/chat/completions"
    return f"{base}/chat/completions"


class OpenAICompatClient(ProviderClient):
    """Chat Completions over any OpenAI-compatible server, chosen by base URL alone."""

    api = "openai-completions"
    _stream_options_ok = True
    """False once this server rejected ``stream_options`` (per client instance)."""

    @staticmethod
    def _endpoint(base_url: str) -> str:
        return chat_completions_url(base_url)

    def _headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        return headers

    def _body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
        for message in request.messages:
            messages.extend(_messages(message))
        body: dict[str, Any] = {"model": request.model, "messages": messages, "max_tokens": request.max_tokens}
        if request.tools:
            body["tools"] = [
                {"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": dict(t.input_schema)}}
                for t in request.tools
            ]
        if request.temperature is not None:
            body["temperature"] = request.temperature
        body["stream"] = stream
        if stream and self._stream_options_ok:
            body["stream_options"] = {"include_usage": True}
        return body

    def _fallback(self, body: dict[str, Any], error: ProviderError) -> tuple[str, dict[str, Any]] | None:
        if "stream_options" not in body or error.status not in (400, 422):
            return None
        if "stream_options" not in (error.body or "").lower():
            return None
        self._stream_options_ok = False
        return "stream_options", {k: v for k, v in body.items() if k != "stream_options"}

    def _decoder(self) -> StreamDecoder:
        return _ChunkDecoder(self.id)

    def _parse_reply(self, data: Any) -> tuple[str, str, tuple[ToolCall, ...], Usage, str | None, str | None]:
        if not isinstance(data, dict):
            raise ValueError("reply is not a JSON object")
        if data.get("error"):
            raise _chunk_error(self.id, data["error"], json.dumps(data)[:2000])
        choice = data["choices"][0]
        message = choice.get("message") or {}
        decoder = _ChunkDecoder(self.id)
        tools = tuple(
            decoder.tool_call(i, str(c.get("id", "")), str(c["function"]["name"]), c["function"].get("arguments"))
            for i, c in enumerate(message.get("tool_calls") or ())
        )
        thinking = message.get("reasoning_content") or message.get("reasoning") or ""
        return (message.get("content") or "", thinking if isinstance(thinking, str) else "", tools,
                _usage(data.get("usage")), _stop(choice.get("finish_reason")), data.get("model"))


def _messages(message: ChatMessage) -> list[dict[str, Any]]:
    """One neutral turn → Chat Completions messages (tool results become ``role: tool``)."""
    if isinstance(message.content, str):
        if message.role == "tool":
            raise ValueError("a tool message needs ToolResultBlock content (a tool_call_id)")
        return [{"role": message.role, "content": message.content}]
    text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
    results = [
        {"role": "tool", "tool_call_id": b.tool_use_id, "content": b.content}
        for b in message.content if isinstance(b, ToolResultBlock)
    ]
    calls = [
        {"id": b.id, "type": "function", "function": {"name": b.name, "arguments": json.dumps(dict(b.input))}}
        for b in message.content if isinstance(b, ToolUseBlock)
    ]
    out: list[dict[str, Any]] = list(results)
    if message.role == "assistant" and (text or calls):
        item: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            item["tool_calls"] = calls
        out.append(item)
    elif message.role != "assistant" and text:
        out.append({"role": "user", "content": text})
    return out


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, Mapping):
        return Usage()
    prompt = raw.get("prompt_tokens") or 0
    details = raw.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") or 0 if isinstance(details, Mapping) else 0
    written = ((details.get("cache_write_tokens") if isinstance(details, Mapping) else 0)
               or raw.get("cache_write_tokens") or 0)
    return Usage(
        input_tokens=max(0, int(prompt) - int(cached) - int(written)),
        output_tokens=int(raw.get("completion_tokens") or 0),
        cache_read_tokens=int(cached),
        cache_write_tokens=int(written),
    )


def _stop(reason: Any) -> str | None:
    return None if reason is None else _STOP.get(reason, str(reason))


def _chunk_error(provider: str, error: Any, body: str) -> ProviderHTTPError:
    if isinstance(error, Mapping):
        code = error.get("code")
        kind = code if isinstance(code, str) and code else error.get("type")
        message = str(error.get("message", ""))
    else:
        kind, message = None, str(error)
    return ProviderHTTPError(
        f"stream failed after HTTP 200: {kind or 'error'}: {message}"[:500],
        provider=provider, status=None, body=body, error_type=kind if isinstance(kind, str) else None,
    )


class _ToolState:
    __slots__ = ("id", "name", "args")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.args: list[str] = []


class _ChunkDecoder(StreamDecoder):
    """Assembles chat.completion.chunk events: text, reasoning, tool-call fragments, usage."""

    def __init__(self, provider: str) -> None:
        super().__init__(provider)
        self._tools: dict[int, _ToolState] = {}
        self._chunks = 0
        self._usage_seen = False

    def handle(self, event: SSEEvent) -> list[StreamEvent]:
        data_text = event.data
        if data_text == "[DONE]":
            self.done = True
            return self._flush()
        data = json_object(self, "chunk", data_text)
        if data.get("error"):
            raise _chunk_error(self.provider, data["error"], data_text)
        out: list[StreamEvent] = []
        if self.model is None and data.get("model"):
            self.model = data["model"]
        choices = data.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                self._chunks += 1
                out.append(TextDelta(content))
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning and isinstance(reasoning, str):
                self._chunks += 1
                out.append(ThinkingDelta(reasoning))
            for fragment in delta.get("tool_calls") or ():
                self._tool_fragment(fragment)
            if choice.get("finish_reason") is not None:
                self.stop_reason = _stop(choice["finish_reason"])
                out.extend(self._flush())
        usage = data.get("usage")
        if usage:
            self._usage_seen = True
            self.usage = _usage(usage)
            out.append(UsageUpdate(self.usage))
        return out

    def finish(self) -> list[StreamEvent]:
        if not self.done and self.stop_reason is None:
            raise self.fail("stream ended before [DONE] and before any finish_reason (the body closed early)")
        out = self._flush()
        if not self._usage_seen:
            self.usage = Usage(output_tokens=self._chunks, estimated=True)
            out.append(UsageUpdate(self.usage))
        return out

    def _tool_fragment(self, fragment: Mapping[str, Any]) -> None:
        index = fragment.get("index", len(self._tools))
        state = self._tools.get(index)
        if state is None:
            state = self._tools[index] = _ToolState()
        if fragment.get("id"):
            state.id = fragment["id"]
        function = fragment.get("function") or {}
        name = function.get("name")
        if name and name != state.name:  # sent once by OpenAI; some servers repeat it
            state.name = name if not state.name else state.name + name
        arguments = function.get("arguments")
        if arguments:
            if not state.args and isinstance(arguments, dict):  # some servers send an object
                arguments = json.dumps(arguments)
            state.args.append(arguments)
            self._chunks += 1

    def _flush(self) -> list[StreamEvent]:
        """Tool calls assembled so far, complete now that the choice finished."""
        if not self._tools:
            return []
        tools, self._tools = self._tools, {}
        return [self.tool_call(i, s.id, s.name, "".join(s.args)) for i, s in sorted(tools.items())]

    def tool_call(self, index: int, call_id: str, name: str, arguments: Any) -> ToolCall:
        """One finished tool call; ``arguments`` is the JSON text (or an object, as some servers
        send). An id the server left out becomes ``call_<index>``."""
        call_id = call_id or f"call_{index}"
        if isinstance(arguments, dict):
            return ToolCall(call_id, name, arguments)
        if not arguments or not str(arguments).strip():
            return ToolCall(call_id, name, {})
        try:
            value = json.loads(arguments)
        except ValueError as exc:
            raise self.fail(f"tool call {index} ({name}): arguments JSON does not parse ({exc})") from None
        if not isinstance(value, dict):
            raise self.fail(f"tool call {index} ({name}): arguments are not a JSON object")
        return ToolCall(call_id, name, value)
