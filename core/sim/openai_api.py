"""OpenAI Chat Completions (``POST /v1/chat/completions``) on the wire.

Shapes follow the public API closely enough for the official ``openai`` SDK: ``chat.completion``
bodies, ``chat.completion.chunk`` SSE chunks (``data: {...}`` only, no event names) ending with
``data: [DONE]``; with ``stream_options.include_usage`` every chunk has ``"usage": null`` and one
extra chunk with ``choices: []`` carries the whole request's usage (docs/design/bench.md#reading-usage-from-streams).
``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens``. An error after the 200 is a
``data: {"error": {...}}`` chunk, which the SDK raises as ``APIError``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from core.sim.cache import CachePlan, PromptCache
from core.sim.dialect import sse
from core.sim.ratelimit import BucketState, openai_headers
from core.sim.reply import Reply, Usage
from core.sim.request import Api, BlockBuilder, ErrorKind, RequestError, SimRequest, canonical, model_name
from core.sim.tools import find_tool_calls

__all__ = ["OpenAIDialect"]

FINGERPRINT = "fp_clawtop_sim"
_FINISH = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")

_ERRORS: dict[ErrorKind, tuple[str, str | None, str]] = {
    "invalid_request": ("invalid_request_error", None, "Invalid request"),
    "not_found": ("invalid_request_error", "model_not_found",
                  "The model does not exist or you do not have access to it."),
    "too_large": ("invalid_request_error", "request_too_large", "Request too large."),
    "rate_limit": ("requests", "rate_limit_exceeded",
                   "Rate limit reached for requests (simulated). Please try again later."),
    "spend_cap": (
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
    ),
    "overloaded": ("server_error", "overloaded", "Overloaded"),
    "server_error": ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    "bad_gateway": ("server_error", None, "Bad gateway."),
    "unavailable": ("server_error", None, "The server is overloaded or not ready yet."),
    "context_overflow": (
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 200000 tokens. However, your messages resulted in 210000 tokens.",
    ),
}


def _invalid(message: str) -> RequestError:
    return RequestError(400, "invalid_request", message)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if part.get("type") == "text" else canonical(part)
            for part in content
            if isinstance(part, dict)
        )
    return ""


def _message_text(message: dict[str, Any]) -> str:
    """What a message's tokens are counted from: its text plus any tool-call arguments."""
    calls = message.get("tool_calls") or []
    args = "".join(canonical(c.get("function", {})) for c in calls if isinstance(c, dict))
    return _content_text(message.get("content")) + args


class OpenAIDialect:
    """``POST /v1/chat/completions``."""

    api: Api = "openai"
    path = "/v1/chat/completions"
    request_id_header = "x-request-id"

    def parse(self, body: Any, *, default_ttl_ms: int) -> SimRequest:
        if not isinstance(body, dict):
            raise _invalid("The request body is not a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _invalid("you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _invalid("'messages' must contain at least one message")
        for index, message in enumerate(messages):
            if message.get("role") not in _ROLES:
                raise _invalid(f"Invalid value for 'messages[{index}].role'")
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens < 1):
            raise _invalid("max_completion_tokens must be an integer ≥ 1")
        stream = bool(body.get("stream", False))
        options = body.get("stream_options")
        if options is not None and not stream:
            raise _invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.")
        builder = BlockBuilder(model_name(model))
        raw_tools = body.get("tools")
        tools: list[Any] = raw_tools if isinstance(raw_tools, list) else []
        for tool in tools:
            builder.add({"tool": tool}, canonical(tool))
        for message in messages:
            builder.add(message, _message_text(message))
        offered = {
            t["function"]["name"]
            for t in tools
            if isinstance(t, dict) and isinstance(t.get("function"), dict)
            and isinstance(t["function"].get("name"), str)
        }
        last = messages[-1]
        trigger = _content_text(last.get("content")) if last.get("role") == "user" else ""
        return SimRequest(
            api="openai",
            model=model,
            stream=stream,
            max_tokens=max_tokens,
            blocks=tuple(builder.blocks),
            tool_calls=find_tool_calls(trigger, offered),
            include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        )

    def plan_cache(self, cache: PromptCache, request: SimRequest, started: float) -> CachePlan:
        return cache.plan_automatic(request.blocks, started)

    def body(self, request: SimRequest, reply: Reply, usage: Usage) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        tools = [block for block in reply.blocks if block.is_tool]
        if tools:
            message["tool_calls"] = [
                {
                    "id": f"call_{b.tool_id}",
                    "type": "function",
                    "function": {"name": b.tool_name, "arguments": json.dumps(b.tool_input, separators=(",", ":"))},
                }
                for b in tools
            ]
        else:
            message["content"] = "".join(block.text for block in reply.blocks)
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": _FINISH[reply.stop_reason]}
        return {**_envelope(request, reply, "chat.completion"), "choices": [choice], "usage": _usage(usage)}

    def encoder(self, request: SimRequest, reply: Reply, usage: Usage, request_id: str) -> OpenAIEncoder:
        return OpenAIEncoder(request, reply, usage)

    def error_body(self, kind: ErrorKind, message: str | None, request_id: str) -> dict[str, Any]:
        error_type, code, default = _ERRORS[kind]
        return {"error": {"message": message or default, "type": error_type, "param": None, "code": code}}

    def limit_headers(self, state: dict[str, BucketState]) -> list[tuple[str, str]]:
        return openai_headers(state)

    def retry_headers(self, kind: ErrorKind) -> list[tuple[str, str]]:
        return []


def _envelope(request: SimRequest, reply: Reply, obj: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{reply.id}",
        "object": obj,
        "created": int(time.time()),
        "model": request.model,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


def _usage(usage: Usage) -> dict[str, Any]:
    prompt = usage.prompt_total
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output,
        "total_tokens": prompt + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class OpenAIEncoder:
    """``chat.completion.chunk`` frames of one streamed completion."""

    def __init__(self, request: SimRequest, reply: Reply, usage: Usage) -> None:
        self._request, self._reply, self._usage = request, reply, usage
        self._base = _envelope(request, reply, "chat.completion.chunk")
        self._started: set[int] = set()
        self._tool_index = {i: n for n, i in enumerate(i for i, b in enumerate(reply.blocks) if b.is_tool)}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        chunk: dict[str, Any] = {**self._base, "choices": [choice]}
        if self._request.include_usage:
            chunk["usage"] = None
        return sse(chunk)

    def opening(self) -> bytes:
        return b""  # the role chunk goes out with the first token, so chunk time = token time

    def pieces(self, pieces: Sequence[tuple[int, str]]) -> bytes:
        out = bytearray()
        runs: list[tuple[int, list[str]]] = []
        for index, piece in pieces:
            if runs and runs[-1][0] == index:
                runs[-1][1].append(piece)
            else:
                runs.append((index, [piece]))
        for index, parts in runs:
            block, text = self._reply.blocks[index], "".join(parts)
            first = not self._started
            if block.is_tool:
                call: dict[str, Any] = {"index": self._tool_index[index], "function": {"arguments": text}}
                if index not in self._started:
                    call.update(id=f"call_{block.tool_id}", type="function",
                                function={"name": block.tool_name, "arguments": text})
                delta: dict[str, Any] = {"tool_calls": [call]}
                if first:
                    delta = {"role": "assistant", "content": None, **delta}
            else:
                if first:
                    out += self._chunk({"role": "assistant", "content": "", "refusal": None})
                delta = {"content": text}
            self._started.add(index)
            out += self._chunk(delta)
        return bytes(out)

    def closing(self) -> bytes:
        out = self._chunk({}, _FINISH[self._reply.stop_reason])
        if self._request.include_usage:
            out += sse({**self._base, "choices": [], "usage": _usage(self._usage)})
        return out + sse("[DONE]")

    def error(self) -> bytes:
        error_type, code, message = _ERRORS["overloaded"]
        return sse({"error": {"message": message, "type": error_type, "param": None, "code": code}})
