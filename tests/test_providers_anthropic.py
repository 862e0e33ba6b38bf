"""Anthropic Messages client against a real loopback HTTP server serving canned replies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_providers_support import (  # noqa: F401  (server is a fixture)
    Canned,
    CannedServer,
    Recorder,
    anthropic_sse,
    server,
    split_every,
)

from core.providers import (
    AnthropicClient,
    ChatMessage,
    ModelRequest,
    ProviderHTTPError,
    ProviderProtocolError,
    RateLimits,
    StreamEnd,
    TextBlock,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
    UsageUpdate,
)

KEY = "sk-ant-test-SECRET-0123456789"
REQUEST = ModelRequest(model="claude-test", messages=(ChatMessage("user", "hi"),), max_tokens=64)


def start(usage: dict[str, int] | None = None) -> tuple[str, dict[str, Any]]:
    return ("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test-2025", "content": [],
        "stop_reason": None, "usage": usage or {
            "input_tokens": 25, "cache_creation_input_tokens": 7, "cache_read_input_tokens": 100,
            "output_tokens": 1}}})


def text_block(index: int, *pieces: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("content_block_start", {"type": "content_block_start", "index": index,
                                 "content_block": {"type": "text", "text": ""}}),
        *[("content_block_delta", {"type": "content_block_delta", "index": index,
                                   "delta": {"type": "text_delta", "text": p}}) for p in pieces],
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def finish(stop: str = "end_turn", output: int = 15) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": output}}),
        ("message_stop", {"type": "message_stop"}),
    ]


def client(srv: CannedServer, publish: Recorder | None = None, **kw: Any) -> AnthropicClient:
    return AnthropicClient("anth", srv.base_url, KEY, timeout_ms=5_000, connect_timeout_ms=1_000,
                           publish=publish, **kw)


async def events_of(c: AnthropicClient, request: ModelRequest = REQUEST) -> list[Any]:
    return [e async for e in c.stream(request)]


async def test_stream_text_usage_and_request_shape(server: CannedServer) -> None:
    body = anthropic_sse([
        start(), ("ping", {"type": "ping"}), *text_block(0, "Hel", "lo"),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 5}}),
        *finish(output=15),
    ])
    server.add(parts=split_every(body, 7), headers={"request-id": "req_42"})
    c = client(server)
    request = ModelRequest(
        model="claude-test", system="be brief", temperature=0.2, max_tokens=99,
        messages=(
            ChatMessage("user", "weather?"),
            ChatMessage("assistant", (TextBlock("checking"), ToolUseBlock("tu_1", "weather", {"city": "Oslo"}))),
            ChatMessage("tool", (ToolResultBlock("tu_1", "rain", is_error=False),)),
        ),
        tools=(ToolSpec("weather", "get weather", {"type": "object"}),),
    )
    response = await c.call(request)
    await c.aclose()
    assert response.text == "Hello"
    assert response.stop_reason == "end_turn"
    assert response.model == "claude-test-2025"
    assert response.request_id == "req_42"
    # message_delta usage overwrites (15, not 1 + 5 + 15); input parts come from message_start
    assert response.usage == Usage(input_tokens=25, output_tokens=15, cache_read_tokens=100, cache_write_tokens=7)
    assert response.usage.total_tokens == 147
    assert response.ttft_ms is not None and response.latency_ms >= response.ttft_ms

    sent = server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["content-type"] == "application/json"
    payload = sent.json()
    # cacheRetention defaults to "short" for Anthropic (docs/design/pruning.md#provider-prompt-caching): the system
    # prompt and the last message carry the cache breakpoints.
    ephemeral = {"type": "ephemeral"}
    assert payload["stream"] is True and payload["max_tokens"] == 99
    assert payload["system"] == [{"type": "text", "text": "be brief", "cache_control": ephemeral}]
    assert payload["temperature"] == 0.2
    assert payload["tools"] == [{"name": "weather", "description": "get weather", "input_schema": {"type": "object"}}]
    assert payload["messages"][1]["content"][1] == {"type": "tool_use", "id": "tu_1", "name": "weather",
                                                    "input": {"city": "Oslo"}}
    assert payload["messages"][2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tu_1", "content": "rain", "cache_control": ephemeral}]}


async def test_tool_use_input_json_assembled_at_block_stop_and_unknown_events_ignored(server: CannedServer) -> None:
    fragments = ['{"ci', 'ty": "Os', 'lo", "days"', ": 3}"]
    body = anthropic_sse([
        start(),
        ("future_event_type", {"type": "future_event_type", "whatever": True}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "thinking", "thinking": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "sig"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1,
                                 "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather",
                                                   "input": {}}}),
        *[("content_block_delta", {"type": "content_block_delta", "index": 1,
                                   "delta": {"type": "input_json_delta", "partial_json": f}}) for f in fragments],
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "some_new_delta", "x": 1}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        *finish("tool_use", 30),
    ])
    server.add(parts=[body], headers={"anthropic-ratelimit-requests-remaining": "49"})
    c = client(server)
    events = await events_of(c)
    await c.aclose()
    kinds = [type(e) for e in events]
    assert kinds == [RateLimits, UsageUpdate, ThinkingDelta, ToolCall, UsageUpdate, StreamEnd]
    assert events[3] == ToolCall("toolu_1", "weather", {"city": "Oslo", "days": 3})
    assert events[-1].stop_reason == "tool_use"
    assert events[0].snapshot.requests_remaining == 49


async def test_mid_stream_error_event_after_200_is_http_error_with_status_none(server: CannedServer) -> None:
    body = anthropic_sse([
        start(), *text_block(0, "partial")[:2],
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ])
    server.add(parts=[body], headers={"request-id": "req_err"})
    c = client(server)
    seen: list[Any] = []
    with pytest.raises(ProviderHTTPError) as info:
        async for event in c.stream(REQUEST):
            seen.append(event)
    await c.aclose()
    err = info.value
    assert err.status is None and err.error_type == "overloaded_error"
    assert err.after_first_token is True and err.request_sent is True
    assert err.headers["request-id"] == "req_err"
    assert "Overloaded" in str(err) and "anth" in str(err)
    assert TextDelta("partial") in seen


@pytest.mark.parametrize(("events", "problem"), [
    ([start(), ("content_block_delta", {"type": "content_block_delta", "index": 3,
                                        "delta": {"type": "text_delta", "text": "x"}})],
     "content_block_delta for block index 3, which was never started"),
    ([start(), *text_block(0, "a"), ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                             "delta": {"type": "text_delta", "text": "x"}})],
     "which was already stopped"),
    ([start(), ("content_block_start", {"type": "content_block_start", "index": 0,
                                        "content_block": {"type": "tool_use", "id": "t", "name": "calc", "input": {}}}),
      ("content_block_delta", {"type": "content_block_delta", "index": 0,
                               "delta": {"type": "input_json_delta", "partial_json": '{"a": '}}),
      ("content_block_stop", {"type": "content_block_stop", "index": 0})],
     "tool_use block 0 (calc): input JSON does not parse"),
    ([start(), *text_block(0, "a")], "stream ended before message_stop"),
])
async def test_payloads_that_do_not_fit_are_protocol_errors(server: CannedServer, events: Any, problem: str) -> None:
    server.add(parts=[anthropic_sse(events)])
    c = client(server)
    with pytest.raises(ProviderProtocolError, match="anth") as info:
        await events_of(c)
    await c.aclose()
    assert problem in str(info.value)


async def test_bad_json_and_broken_sse_are_protocol_errors(server: CannedServer) -> None:
    server.add(parts=[b"event: message_start\ndata: {not json\n\n"])
    server.add(parts=[b"event: message_start\ndata: \xff\xfe\n\n"])
    c = client(server)
    with pytest.raises(ProviderProtocolError, match=r"anth: message_start: data is not valid JSON"):
        await events_of(c)
    with pytest.raises(ProviderProtocolError, match=r"anth: broken SSE stream: invalid UTF-8"):
        await events_of(c)
    await c.aclose()


async def test_non_streaming_reply(server: CannedServer) -> None:
    reply = {"id": "msg_1", "type": "message", "model": "claude-test-2025", "stop_reason": "tool_use",
             "content": [{"type": "text", "text": "Let me check."},
                         {"type": "tool_use", "id": "tu_9", "name": "weather", "input": {"city": "Rome"}}],
             "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 3,
                       "cache_creation_input_tokens": 0}}
    server.add(parts=[json.dumps(reply).encode()], content_type="application/json")
    server.add(parts=[b"{oops"], content_type="application/json")
    c = client(server)
    response = await c.complete(REQUEST)
    assert response.text == "Let me check." and response.ttft_ms is None
    assert response.tool_calls == (ToolCall("tu_9", "weather", {"city": "Rome"}),)
    assert response.usage == Usage(10, 20, 3, 0)
    assert "stream" not in server.requests[0].json()
    with pytest.raises(ProviderProtocolError, match="response body is not valid JSON"):
        await c.complete(REQUEST)
    await c.aclose()


async def test_http_error_carries_status_headers_body_and_error_type(server: CannedServer) -> None:
    server.add(status=429, content_type="application/json",
               headers={"retry-after": "16", "x-should-retry": "true",
                        "anthropic-ratelimit-input-tokens-remaining": "0",
                        "anthropic-ratelimit-input-tokens-reset": "2030-01-01T00:00:30Z"},
               parts=[json.dumps({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"},
                                  "request_id": "req_1"}).encode()])
    rec = Recorder()
    c = client(server, rec)
    with pytest.raises(ProviderHTTPError) as info:
        await events_of(c)
    await c.aclose()
    err = info.value
    assert err.status == 429 and err.error_type == "rate_limit_error" and err.request_sent is True
    assert err.headers["retry-after"] == "16" and "slow down" in (err.body or "")
    assert str(err) == "anth HTTP 429: rate_limit_error: slow down"
    (limits,) = rec.of("provider.ratelimits")
    assert limits.retry_after_ms == 16_000 and limits.should_retry is True  # type: ignore[attr-defined]
    assert limits.input_tokens_remaining == 0 and limits.http_status == 429  # type: ignore[attr-defined]
    (call,) = rec.of("provider.call")
    assert call.status == "error" and call.http_status == 429 and call.error == "ProviderHTTPError"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("base", "path"), [("", "/v1/messages"), ("/v1", "/v1/messages"), ("/", "/v1/messages"),
                                            ("/proxy/v1/", "/proxy/v1/messages")])
async def test_base_url_rule(server: CannedServer, base: str, path: str) -> None:
    server.add(parts=[anthropic_sse([start(), *finish()])])
    c = AnthropicClient("anth", server.base_url + base, None, timeout_ms=5_000, connect_timeout_ms=1_000)
    await events_of(c)
    await c.aclose()
    assert server.requests[0].path == path
    assert "x-api-key" not in server.requests[0].headers


def test_cache_retention_markers() -> None:
    """``none`` sends no breakpoint, ``long`` asks for the 1 h TTL (docs/design/pruning.md#provider-prompt-caching)."""
    from core.providers.anthropic import _add_cache_breakpoints

    body = {"system": "sys", "messages": [{"role": "user", "content": "hi"}]}
    _add_cache_breakpoints(body, "none")
    assert body == {"system": "sys", "messages": [{"role": "user", "content": "hi"}]}
    _add_cache_breakpoints(body, "long")
    marker = {"type": "ephemeral", "ttl": "1h"}
    assert body["system"] == [{"type": "text", "text": "sys", "cache_control": marker}]
    assert body["messages"][0]["content"] == [{"type": "text", "text": "hi", "cache_control": marker}]
