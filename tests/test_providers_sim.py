"""Both clients against the built-in simulator (``core.sim``): replies, tools, usage, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from core.config.schema.simulator import SimulatorConfig
from core.providers import (
    AnthropicClient,
    ChatMessage,
    ModelRequest,
    OpenAICompatClient,
    ProviderClient,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RateLimits,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
)
from core.sim import SimulatorServer

REQUEST = ModelRequest(model="fast", messages=(ChatMessage("user", "Say something."),), max_tokens=40)
TOOLS = (ToolSpec("weather", "current weather", {"type": "object", "properties": {"city": {"type": "string"}}}),)


def sim_config(**extra: Any) -> SimulatorConfig:
    return SimulatorConfig.model_validate({"models": {"fast": {"ttftMs": 5, "tokensPerSec": 5000, "replyTokens": 30}},
                                           **extra})


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[..., Awaitable[SimulatorServer]]]:
    """Start simulators with a fault ``script`` and extra config; all stopped at the end."""
    started: list[SimulatorServer] = []

    async def make(script: str | None = None, **config: Any) -> SimulatorServer:
        server = SimulatorServer(sim_config(**config), script=script)
        await server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        await server.stop()


@pytest.fixture
async def sim(make_sim: Callable[..., Awaitable[SimulatorServer]]) -> SimulatorServer:
    return await make_sim()


def clients(sim: SimulatorServer, timeout_ms: int = 10_000) -> list[ProviderClient]:
    return [
        AnthropicClient("sim", sim.base_url, "sk-sim", timeout_ms=timeout_ms, connect_timeout_ms=1_000),
        OpenAICompatClient("sim-oai", sim.base_url + "/v1", "sk-sim", timeout_ms=timeout_ms, connect_timeout_ms=1_000),
    ]


async def test_streamed_and_plain_replies_on_both_apis(sim: SimulatorServer) -> None:
    for client in clients(sim):
        streamed = await client.call(REQUEST)
        plain = await client.complete(REQUEST)
        await client.aclose()
        for response in (streamed, plain):
            assert response.text.strip(), client
            assert response.stop_reason in ("end_turn", "max_tokens"), client
            assert response.usage.output_tokens > 0 and response.usage.input_tokens > 0, client
            assert not response.usage.estimated
        assert streamed.text == plain.text  # deterministic replies: same seed, same prompt
        assert streamed.ttft_ms is not None and streamed.ttft_ms <= streamed.latency_ms


async def test_tool_round_trip_on_both_apis(sim: SimulatorServer) -> None:
    ask = ChatMessage("user", 'Weather please [[tool:weather {"city": "Oslo"}]]')
    for client in clients(sim):
        first = await client.call(ModelRequest(model="fast", messages=(ask,), tools=TOOLS))
        assert first.stop_reason == "tool_use", client
        (call,) = first.tool_calls
        assert call.name == "weather" and dict(call.input) == {"city": "Oslo"} and call.id
        second = await client.call(ModelRequest(model="fast", tools=TOOLS, messages=(
            ask,
            ChatMessage("assistant", (ToolUseBlock(call.id, call.name, call.input),)),
            ChatMessage("tool", (ToolResultBlock(call.id, "rainy, 4 °C"),)),
        )))
        await client.aclose()
        assert second.stop_reason in ("end_turn", "max_tokens") and second.text and not second.tool_calls


async def test_faults_map_onto_the_error_contract(make_sim: Callable[..., Awaitable[SimulatorServer]]) -> None:
    sim = await make_sim("429:retry-after=2,529,stream-error,reset")
    client = clients(sim)[0]
    with pytest.raises(ProviderHTTPError) as limited:
        await client.call(REQUEST)
    assert limited.value.status == 429 and limited.value.error_type == "rate_limit_error"
    assert limited.value.headers["retry-after"] == "2"
    with pytest.raises(ProviderHTTPError) as overloaded:
        await client.call(REQUEST)
    assert overloaded.value.status == 529 and overloaded.value.error_type == "overloaded_error"
    with pytest.raises(ProviderHTTPError) as after_200:
        await client.call(REQUEST)
    assert after_200.value.status is None and after_200.value.error_type == "overloaded_error"
    with pytest.raises(ProviderConnectionError) as reset:
        await client.call(REQUEST)
    assert reset.value.request_sent is True
    assert (await client.call(REQUEST)).text  # the pool recovers after a reset
    await client.aclose()


async def test_hanging_simulator_is_a_timeout_after_send(make_sim: Callable[..., Awaitable[SimulatorServer]]) -> None:
    sim = await make_sim("timeout")
    client = clients(sim, timeout_ms=300)[1]
    with pytest.raises(ProviderTimeoutError) as info:
        await client.call(REQUEST)
    await client.aclose()
    assert info.value.request_sent is True


async def test_simulator_rate_limit_headers_reach_the_stream(
        make_sim: Callable[..., Awaitable[SimulatorServer]]) -> None:
    sim = await make_sim(rateLimits={"rpm": 100})
    for client in clients(sim):
        events = [e async for e in client.stream(REQUEST)]
        await client.aclose()
        limits = [e for e in events if isinstance(e, RateLimits)]
        assert limits and limits[0].snapshot.requests_limit == 100, client
