"""Anthropic Messages (``POST /v1/messages``) on the wire: request parsing, bodies, SSE, errors.

Shapes follow the public API closely enough for the official ``anthropic`` SDK (streaming and
not): ``message_start`` carries the input usage with the cache fields, content blocks stream as
``text_delta`` / ``input_json_delta``, ``message_delta`` carries the stop reason and the
*cumulative* usage, and a ``ping`` follows the first block start (docs/design/bench.md#reading-usage-from-streams).
Errors are ``{"type":"error","error":{"type","message"},"request_id"}`` (docs/design/retry.md#anthropic-error-types).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.sim.cache import CachePlan, PromptCache
from core.sim.dialect import sse
from core.sim.ratelimit import BucketState, anthropic_headers
from core.sim.reply import Reply, Usage
from core.sim.request import Api, BlockBuilder, ErrorKind, RequestError, SimRequest, canonical, model_name
from core.sim.tools import find_tool_calls

__all__ = ["AnthropicDialect"]

MAX_BREAKPOINTS = 4
_TTLS = {"5m": 300_000, "1h": 3_600_000}

_ERRORS: dict[ErrorKind, tuple[str, str]] = {
    "invalid_request": ("invalid_request_error", "Invalid request"),
    "not_found": ("not_found_error", "Not found"),
    "too_large": ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    "rate_limit": (
        "rate_limit_error",
        "Number of requests has exceeded your per-minute rate limit (simulated); "
        "see the response headers for current usage. Please try again later.",
    ),
    "spend_cap": (
        "rate_limit_error",
        "You have reached your specified workspace API usage limits (simulated spend cap). "
        "You will regain access on the first day of next month at 00:00 UTC.",
    ),
    "overloaded": ("overloaded_error", "Overloaded"),
    "server_error": ("api_error", "Internal server error"),
    "bad_gateway": ("api_error", "Bad gateway"),
    "unavailable": ("api_error", "Service unavailable"),
    "context_overflow": ("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
}
_SHOULD_RETRY: dict[ErrorKind, str] = {"rate_limit": "true", "overloaded": "true", "spend_cap": "false"}


def _invalid(message: str) -> RequestError:
    return RequestError(400, "invalid_request", message)


def _ttl(block: dict[str, Any], where: str, default_ttl_ms: int) -> int | None:
    control = block.get("cache_control")
    if control is None:
        return None
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise _invalid(f"{where}.cache_control.type: Input should be 'ephemeral'")
    ttl = control.get("ttl")
    if ttl is None:
        return default_ttl_ms
    if ttl not in _TTLS:
        raise _invalid(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return _TTLS[ttl]


def _block_text(block: dict[str, Any]) -> str:
    """The text a content block's tokens are counted from."""
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "tool_use":
        return str(block.get("name", "")) + canonical(block.get("input", {}))
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return "".join(_block_text(part) for part in content if isinstance(part, dict))
        return str(content)
    if kind == "thinking":
        return str(block.get("thinking", ""))
    return canonical(block)


def _strip(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "cache_control"}


class AnthropicDialect:
    """``POST /v1/messages``."""

    api: Api = "anthropic"
    path = "/v1/messages"
    request_id_header = "request-id"

    def parse(self, body: Any, *, default_ttl_ms: int) -> SimRequest:
        if not isinstance(body, dict):
            raise _invalid("The request body is not a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _invalid("model: Field required")
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise _invalid("max_tokens: Field required (an integer ≥ 1)")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _invalid("messages: at least one message is required")
        builder = BlockBuilder(model_name(model))
        tools = body.get("tools") or []
        for index, tool in enumerate(tools if isinstance(tools, list) else []):
            if isinstance(tool, dict):
                builder.add({"tool": _strip(tool)}, canonical(_strip(tool)),
                            _ttl(tool, f"tools.{index}", default_ttl_ms))
        system = body.get("system")
        if isinstance(system, str):
            builder.add({"system": system}, system)
        elif isinstance(system, list):
            for index, block in enumerate(b for b in system if isinstance(b, dict)):
                builder.add({"system": _strip(block)}, _block_text(block),
                            _ttl(block, f"system.{index}", default_ttl_ms))
        for m_index, message in enumerate(messages):
            role, content = message.get("role"), message.get("content")
            if role not in ("user", "assistant"):
                raise _invalid(f"messages.{m_index}.role: Input should be 'user' or 'assistant'")
            if isinstance(content, str):
                builder.add({"role": role, "text": content}, content)
                continue
            if not isinstance(content, list):
                raise _invalid(f"messages.{m_index}.content: Input should be a string or a list of blocks")
            for b_index, block in enumerate(b for b in content if isinstance(b, dict)):
                where = f"messages.{m_index}.content.{b_index}"
                builder.add({"role": role, **_strip(block)}, _block_text(block), _ttl(block, where, default_ttl_ms))
        if isinstance(body.get("cache_control"), dict):
            builder.mark_last(_ttl(body, "cache_control", default_ttl_ms) or default_ttl_ms)
        marks = sum(block.ttl_ms is not None for block in builder.blocks)
        if marks > MAX_BREAKPOINTS:
            raise _invalid(f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {marks}.")
        offered = ({t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)}
                   if isinstance(tools, list) else set())
        return SimRequest(
            api="anthropic",
            model=model,
            stream=bool(body.get("stream", False)),
            max_tokens=max_tokens,
            blocks=tuple(builder.blocks),
            tool_calls=find_tool_calls(_trigger_text(messages[-1]), offered),
        )

    def plan_cache(self, cache: PromptCache, request: SimRequest, started: float) -> CachePlan:
        return cache.plan_breakpoints(request.blocks, started)

    def body(self, request: SimRequest, reply: Reply, usage: Usage) -> dict[str, Any]:
        return {
            **_message(request, reply, stop_reason=reply.stop_reason, usage=_usage(usage)),
            "content": [_content_block(reply, i, full=True) for i in range(len(reply.blocks))],
        }

    def encoder(self, request: SimRequest, reply: Reply, usage: Usage, request_id: str) -> AnthropicEncoder:
        return AnthropicEncoder(request, reply, usage, request_id)

    def error_body(self, kind: ErrorKind, message: str | None, request_id: str) -> dict[str, Any]:
        error_type, default = _ERRORS[kind]
        error: dict[str, Any] = {"type": error_type, "message": message or default}
        if kind == "spend_cap":
            error["details"] = {"error_code": "enforced_spend_limit_reached"}
        return {"type": "error", "error": error, "request_id": request_id}

    def limit_headers(self, state: dict[str, BucketState]) -> list[tuple[str, str]]:
        return anthropic_headers(state)

    def retry_headers(self, kind: ErrorKind) -> list[tuple[str, str]]:
        return [("x-should-retry", _SHOULD_RETRY[kind])] if kind in _SHOULD_RETRY else []


def _trigger_text(message: dict[str, Any]) -> str:
    """The text the tool trigger looks at: the last message, if it is a plain user message."""
    content = message.get("content")
    if message.get("role") != "user":
        return ""
    if isinstance(content, str):
        return content
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    if any(b.get("type") == "tool_result" for b in blocks):
        return ""
    return "\n".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")


def _usage(usage: Usage, *, output: int | None = None) -> dict[str, Any]:
    return {
        "input_tokens": usage.input,
        "cache_creation_input_tokens": usage.cache_creation,
        "cache_read_input_tokens": usage.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_creation_5m,
            "ephemeral_1h_input_tokens": usage.cache_creation_1h,
        },
        "output_tokens": usage.output if output is None else output,
        "service_tier": "standard",
    }


def _message(request: SimRequest, reply: Reply, *, stop_reason: str | None, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"msg_{reply.id}",
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": [],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _content_block(reply: Reply, index: int, *, full: bool) -> dict[str, Any]:
    block = reply.blocks[index]
    if block.is_tool:
        return {"type": "tool_use", "id": f"toolu_{block.tool_id}", "name": block.tool_name,
                "input": block.tool_input if full else {}}
    return {"type": "text", "text": block.text if full else ""}


class AnthropicEncoder:
    """SSE frames of one streamed message."""

    def __init__(self, request: SimRequest, reply: Reply, usage: Usage, request_id: str) -> None:
        self._request, self._reply, self._usage, self._request_id = request, reply, usage, request_id
        self._open = 0
        """Index of the content block currently open."""

    def _start(self, index: int) -> bytes:
        self._open = index
        frame = {"type": "content_block_start", "index": index,
                 "content_block": _content_block(self._reply, index, full=False)}
        return sse(frame, "content_block_start")

    def _stop(self) -> bytes:
        return sse({"type": "content_block_stop", "index": self._open}, "content_block_stop")

    def opening(self) -> bytes:
        # output_tokens 1 as the real API reports it here; the final count is in message_delta.
        message = _message(self._request, self._reply, stop_reason=None, usage=_usage(self._usage, output=1))
        start = {"type": "message_start", "message": message}
        return sse(start, "message_start") + self._start(0) + sse({"type": "ping"}, "ping")

    def pieces(self, pieces: Sequence[tuple[int, str]]) -> bytes:
        out = bytearray()
        runs: list[tuple[int, list[str]]] = []
        for index, piece in pieces:
            if runs and runs[-1][0] == index:
                runs[-1][1].append(piece)
            else:
                runs.append((index, [piece]))
        for index, parts in runs:
            if index != self._open:
                out += self._stop() + self._start(index)
            is_tool = self._reply.blocks[index].is_tool
            text = "".join(parts)
            delta = ({"type": "input_json_delta", "partial_json": text} if is_tool
                     else {"type": "text_delta", "text": text})
            out += sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")
        return bytes(out)

    def closing(self) -> bytes:
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self._reply.stop_reason, "stop_sequence": None},
            "usage": {k: v for k, v in _usage(self._usage).items() if k not in ("cache_creation", "service_tier")},
        }
        return self._stop() + sse(delta, "message_delta") + sse({"type": "message_stop"}, "message_stop")

    def error(self) -> bytes:
        error_type, message = _ERRORS["overloaded"]
        frame = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": self._request_id}
        return sse(frame, "error")
