"""The first-byte and stream-idle limits (docs/design/retry.md#timeouts) against the real
simulator on loopback: a server that takes the request and never answers, or goes silent in the
middle of a body, fails the call as a ``timeout`` within the limit instead of holding it for
``timeoutMs`` (10 minutes by default)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.config.loader import load_config
from core.config.schema.providers import ModelsConfig, ProviderConfig
from core.config.schema.simulator import SimulatorConfig
from core.gateway import Gateway
from core.provider_errors import ProviderTimeoutError
from core.providers import AnthropicClient, ChatMessage, ModelRequest, OpenAICompatClient, ProviderClient
from core.providers.registry import ProviderRegistry, build_client
from core.retry.classify import ErrorClass, classify
from core.sim import SimulatorServer

REQUEST = ModelRequest(model="fast", messages=(ChatMessage("user", "hi"),), max_tokens=20)


@asynccontextmanager
async def simulator(script: str | None = None, **fast: Any) -> AsyncIterator[SimulatorServer]:
    model = {"ttftMs": 5, "tokensPerSec": 5000, "replyTokens": 30, **fast}
    server = SimulatorServer(SimulatorConfig.model_validate({"models": {"fast": model}}), script=script)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def clients_for(sim: SimulatorServer, **limits: int) -> list[ProviderClient]:
    return [
        AnthropicClient("sim", sim.base_url, None, timeout_ms=20_000, connect_timeout_ms=1_000, **limits),
        OpenAICompatClient("sim-oai", sim.base_url + "/v1", None, timeout_ms=20_000, connect_timeout_ms=1_000,
                           **limits),
    ]


async def timed_failure(call: Callable[[], Any]) -> tuple[ProviderTimeoutError, float]:
    start = time.monotonic()
    with pytest.raises(ProviderTimeoutError) as info:
        await asyncio.wait_for(call(), 15)  # a regression fails here instead of hanging the suite
    return info.value, time.monotonic() - start


@pytest.mark.parametrize("api", [0, 1], ids=["anthropic", "openai"])
async def test_no_response_fails_at_the_first_byte_limit(api: int) -> None:
    async with simulator(script="timeout,timeout") as sim:
        client = clients_for(sim, first_byte_timeout_ms=1_000)[api]
        try:
            error, took = await timed_failure(lambda: client.call(REQUEST))
        finally:
            await client.aclose()
    assert 1.0 <= took < 3.0
    assert "firstByteTimeoutMs (1000 ms)" in error.message and error.request_sent and not error.after_first_token
    verdict = classify(error)
    assert verdict.error_class is ErrorClass.TIMEOUT and verdict.retryable


@pytest.mark.parametrize("api", [0, 1], ids=["anthropic", "openai"])
async def test_silence_before_the_first_token_fails_at_the_idle_limit(api: int) -> None:
    # Headers and the opening event come at once; the first token only after 5 s.
    async with simulator(ttftMs=5_000) as sim:
        client = clients_for(sim, first_byte_timeout_ms=1_000, idle_timeout_ms=1_000)[api]
        try:
            error, took = await timed_failure(lambda: client.call(REQUEST))
        finally:
            await client.aclose()
    assert 1.0 <= took < 3.0
    assert "idleTimeoutMs (1000 ms)" in error.message and not error.after_first_token
    assert classify(error).error_class is ErrorClass.TIMEOUT and classify(error).retryable


async def test_silence_after_delivered_output_is_a_timeout_that_is_not_replayable() -> None:
    # One token every 2.5 s: the first arrives, then the stream is idle past the limit.
    async with simulator(tokensPerSec=0.4, ttftMs=5) as sim:
        client = clients_for(sim, idle_timeout_ms=1_000)[0]
        texts: list[str] = []

        async def consume() -> None:
            async for event in client.stream(REQUEST):
                texts.append(getattr(event, "text", ""))

        try:
            error, took = await timed_failure(consume)
        finally:
            await client.aclose()
    assert took < 4.0 and any(texts)
    assert "idleTimeoutMs" in error.message and error.after_first_token
    assert classify(error).error_class is ErrorClass.TIMEOUT


async def test_a_slow_but_steady_stream_is_not_cut() -> None:
    # 0.6 s between tokens, idle limit 1 s: the reply takes longer than the limit and still ends.
    async with simulator(tokensPerSec=1.6, replyTokens=4) as sim:
        client = clients_for(sim, first_byte_timeout_ms=1_000, idle_timeout_ms=1_000)[0]
        try:
            reply = await asyncio.wait_for(client.call(REQUEST), 15)
        finally:
            await client.aclose()
    assert reply.text and reply.stop_reason == "end_turn" and reply.latency_ms > 1_000


async def test_a_non_streamed_call_is_bounded_by_timeout_ms_only() -> None:
    # Its headers come with the whole reply, so the first-byte limit does not apply.
    async with simulator(script="timeout") as sim:
        client = AnthropicClient("sim", sim.base_url, None, timeout_ms=2_000, connect_timeout_ms=1_000,
                                 first_byte_timeout_ms=1_000)
        try:
            error, took = await timed_failure(lambda: client.complete(REQUEST))
        finally:
            await client.aclose()
    assert 2.0 <= took < 4.0 and "firstByteTimeoutMs" not in error.message


def test_limits_are_schema_keys_with_defaults_and_a_per_provider_override() -> None:
    models = ModelsConfig()
    assert (models.first_byte_timeout_ms, models.idle_timeout_ms) == (30_000, 120_000)
    local = ProviderConfig.model_validate({"baseUrl": "http://127.0.0.1:11434/v1", "firstByteTimeoutMs": 300_000})
    section = ModelsConfig.model_validate({"idleTimeoutMs": 90_000, "providers": {"ollama": local.model_dump()}})
    assert section.stream_timeouts(section.providers["ollama"]) == (300_000, 90_000)
    assert section.stream_timeouts(None) == (30_000, 90_000)
    client = build_client("ollama", local, defaults=section)
    assert (client._http.first_byte_s, client._http.idle_s) == (300.0, 90.0)
    for bad in ({"firstByteTimeoutMs": 0}, {"idleTimeoutMs": 10}, {"firstByteTimeoutMs": "30s"}):
        with pytest.raises(ValidationError):
            ModelsConfig.model_validate(bad)


async def test_registry_gives_the_section_limits_to_providers_and_the_simulator() -> None:
    section = ModelsConfig.model_validate({"firstByteTimeoutMs": 2_000, "idleTimeoutMs": 3_000,
                                           "providers": {"a": {"baseUrl": "http://127.0.0.1:9/v1"}}})
    registry = ProviderRegistry.for_models(section)
    try:
        registry.add_simulator("sim", "http://127.0.0.1:9")
        for pid in ("a", "sim"):
            http = registry.get(pid)._http
            assert (http.first_byte_s, http.idle_s) == (2.0, 3.0)
    finally:
        await registry.aclose()


async def test_gateway_turn_against_its_own_hung_simulator_is_retried_after_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "config.json5"
    path.write_text('{ models: { firstByteTimeoutMs: 1000 }, retry: { provider: { minDelayMs: 10, maxDelayMs: 50 } },'
                    ' simulator: { models: { fast: { ttftMs: 5, tokensPerSec: 4000, replyTokens: 20 } },'
                    ' faults: { script: "timeout" } } }', encoding="utf-8")
    env = {"HOME": str(tmp_path), "CLAWTOP_STATE_DIR": str(tmp_path / "state")}
    gateway = Gateway(load_config(path, env=env, dotenv=False), env=env, watch_config=False)
    await gateway.start()
    try:
        result = await asyncio.wait_for(gateway.chat.send("hello"), 15)
    finally:
        await gateway.stop()
    first, second = result.record.attempts
    assert (first.error_class, first.outcome) == ("timeout", "retry")
    assert 1.0 <= first.end_mono - first.start_mono < 3.0
    assert second.outcome == "ok" and result.reply
