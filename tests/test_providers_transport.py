"""Transport failures, deadlines, events, secrets and the registry, over real loopback TCP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from test_providers_support import (  # noqa: F401  (server is a fixture)
    CannedServer,
    Recorder,
    anthropic_sse,
    free_port,
    openai_sse,
    server,
)

from core.config.schema.providers import ProviderConfig
from core.providers import (
    AnthropicClient,
    ChatMessage,
    ModelRequest,
    OpenAICompatClient,
    ProviderClient,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderRegistry,
    ProviderTimeoutError,
    build_client,
)

KEY = "sk-leak-canary-4f9a8b7c6d5e"
REQUEST = ModelRequest(model="m", messages=(ChatMessage("user", "hi"),))


def text_chunks(n: int, gap: float) -> list[bytes | float]:
    parts: list[bytes | float] = [anthropic_sse([
        ("message_start", {"message": {"model": "m", "usage": {}}}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text"}}),
    ])]
    for _ in range(n):
        parts += [gap, anthropic_sse([
            ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "x"}}),
        ])]
    return parts


def anthropic(url: str, publish: Recorder | None = None, timeout_ms: int = 5_000) -> AnthropicClient:
    return AnthropicClient("p1", url, KEY, timeout_ms=timeout_ms, connect_timeout_ms=500, publish=publish)


async def drain(client: ProviderClient, **kw: Any) -> list[Any]:
    return [e async for e in client.stream(REQUEST, **kw)]


async def test_connection_refused_is_not_sent() -> None:
    rec = Recorder()
    c = anthropic(f"http://127.0.0.1:{free_port()}", rec)
    with pytest.raises(ProviderConnectionError) as info:
        await drain(c)
    with pytest.raises(ProviderConnectionError):
        await c.complete(REQUEST)
    await c.aclose()
    assert info.value.request_sent is False and info.value.status is None
    assert "connection failed (ConnectError" in str(info.value) and str(info.value).startswith("p1: ")
    calls = rec.of("provider.call")
    assert [e.request_sent for e in calls] == [False, False]  # type: ignore[attr-defined]


async def test_no_response_headers_is_a_read_timeout_after_send(server: CannedServer) -> None:
    server.add(delay_headers=5.0)
    c = anthropic(server.base_url, timeout_ms=300)
    t0 = time.monotonic()
    with pytest.raises(ProviderTimeoutError) as info:
        await drain(c)
    await c.aclose()
    assert time.monotonic() - t0 < 2.0
    assert info.value.request_sent is True and info.value.after_first_token is False


async def test_stalled_stream_is_a_read_timeout_after_first_token(server: CannedServer) -> None:
    server.add(parts=[*text_chunks(1, 0.0), 5.0])
    c = anthropic(server.base_url, timeout_ms=300)
    with pytest.raises(ProviderTimeoutError) as info:
        await drain(c)
    await c.aclose()
    assert info.value.request_sent is True and info.value.after_first_token is True


async def test_overall_deadline_stops_a_dripping_stream(server: CannedServer) -> None:
    server.add(parts=text_chunks(100, 0.05))  # 5 s of output; every read well inside its timeout
    server.add(parts=text_chunks(100, 0.05))
    c = anthropic(server.base_url, timeout_ms=400)
    t0 = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="deadline") as info:
        await drain(c)
    assert 0.35 < time.monotonic() - t0 < 1.5
    assert info.value.after_first_token is True
    c2 = anthropic(server.base_url)  # the retry owner's deadline wins when earlier
    t0 = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        await drain(c2, deadline=time.monotonic() + 0.3)
    assert time.monotonic() - t0 < 1.2
    await c.aclose()
    await c2.aclose()


async def test_connection_cut_mid_stream(server: CannedServer) -> None:
    server.add(parts=text_chunks(2, 0.0), cut=True)
    c = anthropic(server.base_url)
    with pytest.raises(ProviderConnectionError, match="connection broke") as info:
        await drain(c)
    await c.aclose()
    assert info.value.request_sent is True and info.value.after_first_token is True


async def test_consumer_stopping_early_is_a_cancelled_call_and_pool_survives(server: CannedServer) -> None:
    server.add(parts=text_chunks(50, 0.01))
    server.add(parts=[anthropic_sse([("message_start", {"message": {"usage": {}}}),
                                     ("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {}}),
                                     ("message_stop", {})])])
    rec = Recorder()
    c = anthropic(server.base_url, rec)
    stream = c.stream(REQUEST)
    async for _event in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    response = await c.call(REQUEST)
    await c.aclose()
    assert response.stop_reason == "end_turn"
    assert [e.status for e in rec.of("provider.call")] == ["cancelled", "ok"]  # type: ignore[attr-defined]


async def test_api_key_never_in_events_errors_or_reprs(server: CannedServer) -> None:
    echo = json.dumps({"error": {"type": "authentication_error", "message": f"invalid x-api-key {KEY}"}}).encode()
    server.add(status=401, content_type="application/json", parts=[echo], headers={"retry-after-ms": "5"})
    server.add(parts=[openai_sse([{"error": {"message": f"bad key {KEY}", "code": "invalid_api_key"}}])])
    server.add(parts=[b"data: {broken " + KEY.encode() + b"\n\n"])
    server.add(parts=[b"data: [DONE]\n\n"], cut=True)
    rec = Recorder()
    clients: list[ProviderClient] = [
        anthropic(server.base_url, rec),
        OpenAICompatClient("p2", server.base_url + "/v1", KEY, timeout_ms=5_000, connect_timeout_ms=500, publish=rec),
    ]
    errors: list[ProviderError] = []
    for c in [clients[0], clients[1], clients[1], clients[1]]:
        try:
            await c.call(REQUEST)
        except ProviderError as exc:
            errors.append(exc)
    refused = anthropic(f"http://127.0.0.1:{free_port()}", rec)
    with pytest.raises(ProviderError) as info:
        await refused.call(REQUEST)
    errors.append(info.value)
    clients.append(refused)
    assert len(errors) == 4  # the [DONE]-only stream is a valid (empty) reply
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [e.body or "" for e in errors]
    texts += [json.dumps(e.headers) for e in errors]
    texts += [repr(c) for c in clients] + [c.url for c in clients]
    texts += [json.dumps(e.payload()) + repr(e) for e in rec.events]
    assert rec.of("provider.ratelimits") and rec.of("provider.call")
    assert all(KEY not in t for t in texts)
    assert any("[redacted]" in t for t in texts)
    assert isinstance(errors[0], ProviderHTTPError) and errors[0].status == 401
    for c in clients:
        await c.aclose()


def test_api_key_with_header_breaking_characters_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as info:
        AnthropicClient("p", "http://127.0.0.1:1", "sk-bad\nkey", timeout_ms=1_000, connect_timeout_ms=100)
    assert "sk-bad" not in str(info.value)


async def test_registry_builds_by_api_resolves_refs_and_adds_clients(server: CannedServer) -> None:
    configs = {
        "anth": ProviderConfig.model_validate({
            "baseUrl": server.base_url, "apiKey": KEY, "api": "anthropic-messages",
            "models": [{"id": "claude-x", "contextWindow": 100_000}], "timeoutMs": 2_000}),
        "router": ProviderConfig.model_validate({"baseUrl": "https://openrouter.ai/api/v1"}),
    }
    registry = ProviderRegistry(configs)
    client, model, definition = registry.resolve("anth/claude-x")
    assert isinstance(client, AnthropicClient) and model == "claude-x"
    assert definition is not None and definition.context_window == 100_000
    assert registry.get("anth") is client
    router, model, definition = registry.resolve("router/anthropic/claude-3.5-sonnet")
    assert isinstance(router, OpenAICompatClient) and model == "anthropic/claude-3.5-sonnet" and definition is None
    assert router.url == "https://openrouter.ai/api/v1/chat/completions"
    sim = AnthropicClient("sim", server.base_url, None, timeout_ms=2_000, connect_timeout_ms=500)
    assert registry.add("sim", sim) is None
    assert registry.resolve("sim/fast") == (sim, "fast", None)
    assert registry.ids() == ["anth", "router", "sim"]
    with pytest.raises(KeyError, match="unknown provider 'nope'; known: anth, router, sim"):
        registry.get("nope")
    with pytest.raises(ValueError, match="provider/model"):
        registry.resolve("anth")
    assert isinstance(build_client("x", configs["router"]), OpenAICompatClient)
    await registry.aclose()
