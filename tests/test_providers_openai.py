"""OpenAI-compatible Chat Completions client against a real loopback HTTP server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_providers_support import (  # noqa: F401  (server is a fixture)
    CannedServer,
    Recorder,
    openai_sse,
    server,
    split_every,
)

from core.providers import (
    ChatMessage,
    ModelRequest,
    OpenAICompatClient,
    ProviderHTTPError,
    ProviderProtocolError,
    TextBlock,
    ThinkingDelta,
    ToolCall,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
)
from core.providers.openai_compat import chat_completions_url

KEY = "sk-openai-test-SECRET-987654321"
REQUEST = ModelRequest(model="gpt-test", messages=(ChatMessage("user", "hi"),), max_tokens=32)


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, usage: Any = None,
          choices: bool = True) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-test-0613",
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}] if choices else [],
            "usage": usage}


USAGE = {"prompt_tokens": 120, "completion_tokens": 9, "total_tokens": 129,
         "prompt_tokens_details": {"cached_tokens": 100}}


def text_stream(*pieces: str, usage: dict[str, Any] | None = USAGE) -> bytes:
    chunks: list[dict[str, Any] | str] = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": p}) for p in pieces]
    chunks.append(chunk({}, "stop"))
    if usage is not None:
        chunks.append(chunk(usage=usage, choices=False))
    chunks.append("[DONE]")
    return openai_sse(chunks)


def client(srv: CannedServer, key: str | None = KEY, publish: Recorder | None = None,
           suffix: str = "/v1") -> OpenAICompatClient:
    return OpenAICompatClient("oai", srv.base_url + suffix, key, timeout_ms=5_000, connect_timeout_ms=1_000,
                              publish=publish)


async def test_stream_with_include_usage_final_chunk(server: CannedServer) -> None:
    server.add(parts=split_every(text_stream("Hel", "lo", " there"), 5), headers={"x-request-id": "r-1"})
    rec = Recorder()
    c = client(server, publish=rec)
    response = await c.call(REQUEST)
    await c.aclose()
    assert response.text == "Hello there"
    assert response.stop_reason == "end_turn" and response.model == "gpt-test-0613" and response.request_id == "r-1"
    # prompt_tokens includes the 100 cached: input = 120 - 100 so the parts stay disjoint
    assert response.usage == Usage(input_tokens=20, output_tokens=9, cache_read_tokens=100)
    assert response.usage.total_tokens == 129
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json()["stream_options"] == {"include_usage": True}
    (call,) = rec.of("provider.call")
    assert call.status == "ok" and call.streamed and call.output_tokens == 9 and call.stop_reason == "end_turn"  # type: ignore[attr-defined]


async def test_tool_call_deltas_assembled_and_request_translation(server: CannedServer) -> None:
    chunks: list[dict[str, Any] | str] = [
        chunk({"role": "assistant", "reasoning_content": "think"}),
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                               "function": {"name": "weather", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                               "function": {"name": "time", "arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "Oslo"}'}}]}),
        chunk({}, "tool_calls"),
        chunk(usage={"prompt_tokens": 50, "completion_tokens": 12}, choices=False),
        "[DONE]",
    ]
    server.add(parts=[openai_sse(chunks)])
    c = client(server)
    request = ModelRequest(
        model="gpt-test", system="sys",
        messages=(
            ChatMessage("user", (TextBlock("weather?"),)),
            ChatMessage("assistant", (ToolUseBlock("call_0", "weather", {"city": "Rome"}),)),
            ChatMessage("tool", (ToolResultBlock("call_0", "sunny"),)),
        ),
        tools=(ToolSpec("weather", "get weather", {"type": "object"}),),
    )
    events = [e async for e in c.stream(request)]
    await c.aclose()
    tools = [e for e in events if isinstance(e, ToolCall)]
    assert tools == [ToolCall("call_a", "weather", {"city": "Oslo"}), ToolCall("call_b", "time", {})]
    assert ThinkingDelta("think") in events
    assert events[-1].stop_reason == "tool_use"
    messages = server.requests[0].json()["messages"]
    assert messages[0] == {"role": "system", "content": "sys"}
    assert messages[1] == {"role": "user", "content": "weather?"}
    assert messages[2]["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city": "Rome"}'}
    assert messages[3] == {"role": "tool", "tool_call_id": "call_0", "content": "sunny"}
    assert server.requests[0].json()["tools"][0]["function"]["parameters"] == {"type": "object"}


async def test_stream_options_rejected_resend_once_then_remembered(server: CannedServer) -> None:
    rejection = json.dumps({"error": {"message": "'stream_options' : property 'stream_options' is unsupported",
                                      "type": "invalid_request_error"}}).encode()
    server.add(status=400, content_type="application/json", parts=[rejection])
    server.add(parts=[text_stream("ok", usage=None)])
    server.add(parts=[text_stream("again", usage=None)])
    rec = Recorder()
    c = client(server, publish=rec)
    first = await c.call(REQUEST)
    second = await c.call(REQUEST)
    await c.aclose()
    assert (first.text, second.text) == ("ok", "again")
    bodies = [r.json() for r in server.requests]
    assert "stream_options" in bodies[0]
    assert "stream_options" not in bodies[1] and "stream_options" not in bodies[2]
    assert len(server.requests) == 3
    # no usage from the server: estimated from the content chunks
    assert first.usage == Usage(output_tokens=1, estimated=True)
    assert [e.fallback for e in rec.of("provider.call")] == ["stream_options", None]  # type: ignore[attr-defined]


async def test_unrelated_400_and_repeated_rejection_are_not_resent(server: CannedServer) -> None:
    server.add(status=400, content_type="application/json",
               parts=[b'{"error": {"message": "maximum context length exceeded", "code": "context_length_exceeded"}}'])
    server.add(status=400, parts=[b"stream_options not supported"])
    server.add(status=400, parts=[b"stream_options still not supported"])
    c = client(server)
    with pytest.raises(ProviderHTTPError) as info:
        await c.call(REQUEST)
    assert info.value.status == 400 and info.value.error_type == "context_length_exceeded"
    assert len(server.requests) == 1
    with pytest.raises(ProviderHTTPError, match="still not supported"):
        await c.call(REQUEST)
    await c.aclose()
    assert len(server.requests) == 3  # the fallback is taken once, never a loop


async def test_error_chunk_mid_stream_and_protocol_errors(server: CannedServer) -> None:
    server.add(parts=[openai_sse([chunk({"content": "par"}),
                                  {"error": {"message": "upstream died", "code": "server_error"}}])])
    server.add(parts=[b"data: {\"choices\": [\n\n"])
    server.add(parts=[openai_sse([chunk({"content": "x"})])])
    server.add(parts=[openai_sse([chunk({"tool_calls": [{"index": 0, "id": "c", "function": {
        "name": "calc", "arguments": "{bad"}}]}), chunk({}, "tool_calls"), "[DONE]"])])
    c = client(server)
    with pytest.raises(ProviderHTTPError) as info:
        await c.call(REQUEST)
    assert info.value.status is None and info.value.error_type == "server_error" and info.value.after_first_token
    with pytest.raises(ProviderProtocolError, match=r"oai: chunk: data is not valid JSON"):
        await c.call(REQUEST)
    with pytest.raises(ProviderProtocolError, match=r"stream ended before \[DONE\]") as cut:
        await c.call(REQUEST)
    assert cut.value.after_first_token is True
    with pytest.raises(ProviderProtocolError, match=r"tool call 0 \(calc\): arguments JSON does not parse"):
        await c.call(REQUEST)
    await c.aclose()


async def test_non_streaming_and_no_key_means_no_auth_header(server: CannedServer) -> None:
    reply = {"id": "x", "model": "llama3", "choices": [{"index": 0, "finish_reason": "length", "message": {
        "role": "assistant", "content": "truncated",
        "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}
    server.add(parts=[json.dumps(reply).encode()], content_type="application/json")
    c = client(server, key=None, suffix="")
    response = await c.complete(REQUEST)
    await c.aclose()
    assert response.text == "truncated" and response.stop_reason == "max_tokens"
    assert response.tool_calls == (ToolCall("t1", "f", {"a": 1}),)
    assert response.usage == Usage(9, 4)
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"  # llama.cpp-style base without /v1
    assert "authorization" not in sent.headers
    assert sent.json()["stream"] is False and "stream_options" not in sent.json()


@pytest.mark.parametrize(("base", "url"), [
    ("https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"),
    ("https://openrouter.ai/api/v1/", "https://openrouter.ai/api/v1/chat/completions"),
    ("http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1/chat/completions"),
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/chat/completions"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/chat/completions"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/chat/completions"),
    ("http://h/v1/chat/completions", "http://h/v1/chat/completions"),
])
def test_base_url_rule(base: str, url: str) -> None:
    assert chat_completions_url(base) == url
