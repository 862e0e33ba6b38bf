"""The official ``anthropic`` and ``openai`` SDKs against the simulator, streaming and not:
replies, usage, prompt caching, tool calls, determinism, the model list."""

from __future__ import annotations

import asyncio
import json
import math

from test_sim_support import anthropic_client, openai_client, running, sim_config

from core.sim import SimulatorServer

LONG_SYSTEM = "You are a careful assistant. " * 200  # 5800 chars = 1450 tokens
WEATHER_TOOL_A = {"name": "get_weather", "description": "Weather by city",
                  "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
WEATHER_TOOL_O = {"type": "function",
                  "function": {"name": "get_weather",
                               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


# --- Anthropic ------------------------------------------------------------------------------


async def test_anthropic_create_returns_message_with_usage() -> None:
    async with running() as sim:
        client = anthropic_client(sim)
        message = await client.messages.create(model="fast", max_tokens=64,
                                               messages=[{"role": "user", "content": "hello there"}])
    assert message.type == "message" and message.role == "assistant" and message.model == "fast"
    assert message.id.startswith("msg_") and message.stop_reason == "end_turn"
    assert len(message.content) == 1 and message.content[0].type == "text" and message.content[0].text
    usage = message.usage
    assert usage.input_tokens == math.ceil(len("hello there") / 4)
    assert (usage.output_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (12, 0, 0)


async def test_anthropic_stream_matches_non_streaming_reply() -> None:
    async with running() as sim:
        client = anthropic_client(sim)
        whole = await client.messages.create(model="fast", max_tokens=64,
                                             messages=[{"role": "user", "content": "same"}])
        deltas: list[str] = []
        async with client.messages.stream(model="sim/fast", max_tokens=64,
                                          messages=[{"role": "user", "content": "same"}]) as stream:
            async for text in stream.text_stream:
                deltas.append(text)
            final = await stream.get_final_message()
    assert "".join(deltas) == final.content[0].text == whole.content[0].text
    assert len(deltas) >= 2, "the reply streams in several deltas"
    assert final.usage.output_tokens == 12 and final.stop_reason == "end_turn"
    assert final.usage.input_tokens == whole.usage.input_tokens


async def test_anthropic_max_tokens_caps_the_reply() -> None:
    async with running() as sim:
        message = await anthropic_client(sim).messages.create(model="fast", max_tokens=5,
                                                              messages=[{"role": "user", "content": "x"}])
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 5


async def test_anthropic_cache_write_then_read_on_repeated_prefix() -> None:
    system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    async with running() as sim:
        client = anthropic_client(sim)
        first = await client.messages.create(model="fast", max_tokens=8, system=system,
                                             messages=[{"role": "user", "content": "one"}])
        async with client.messages.stream(model="fast", max_tokens=8, system=system,
                                          messages=[{"role": "user", "content": "two!"}]) as stream:
            second = await stream.get_final_message()
        stats = sim.stats
    prefix = math.ceil(len(LONG_SYSTEM) / 4)
    assert (first.usage.cache_creation_input_tokens, first.usage.cache_read_input_tokens,
            first.usage.input_tokens) == (prefix, 0, 1)
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == prefix
    assert (second.usage.cache_creation_input_tokens, second.usage.cache_read_input_tokens,
            second.usage.input_tokens) == (0, prefix, 1)
    assert stats.cache_hits == 1 and stats.cache_read_tokens == prefix


async def test_anthropic_one_hour_breakpoint_and_disjoint_parts() -> None:
    system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    turn = [{"type": "text", "text": "q" * 4400, "cache_control": {"type": "ephemeral"}}]
    async with running() as sim:
        client = anthropic_client(sim)
        await client.messages.create(model="fast", max_tokens=8, system=system,
                                     messages=[{"role": "user", "content": "warm"}])
        usage = (await client.messages.create(
            model="fast", max_tokens=8, system=system,
            messages=[{"role": "user", "content": [*turn, {"type": "text", "text": "tail"}]}],
        )).usage
    prefix, turn_tokens = math.ceil(len(LONG_SYSTEM) / 4), 1100
    assert usage.cache_read_input_tokens == prefix
    assert usage.cache_creation_input_tokens == turn_tokens == usage.cache_creation.ephemeral_5m_input_tokens
    assert usage.cache_creation.ephemeral_1h_input_tokens == 0
    assert usage.input_tokens == 1  # "tail": after the last breakpoint


async def test_cache_entries_expire_after_the_ttl() -> None:
    system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    async with running(sim_config(cache={"defaultTtl": "150ms"})) as sim:
        client = anthropic_client(sim)
        await client.messages.create(model="fast", max_tokens=4, system=system,
                                     messages=[{"role": "user", "content": "a"}])
        hit = await client.messages.create(model="fast", max_tokens=4, system=system,
                                           messages=[{"role": "user", "content": "a"}])
        await asyncio.sleep(0.3)
        miss = await client.messages.create(model="fast", max_tokens=4, system=system,
                                            messages=[{"role": "user", "content": "a"}])
    assert hit.usage.cache_read_input_tokens > 0
    assert miss.usage.cache_read_input_tokens == 0 and miss.usage.cache_creation_input_tokens > 0


async def test_prefix_below_the_minimum_is_not_cached() -> None:
    system = [{"type": "text", "text": "short system", "cache_control": {"type": "ephemeral"}}]
    async with running() as sim:
        client = anthropic_client(sim)
        for _ in range(2):
            usage = (await client.messages.create(model="fast", max_tokens=4, system=system,
                                                  messages=[{"role": "user", "content": "a"}])).usage
            assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)


async def test_anthropic_tool_trigger_then_text_after_tool_result() -> None:
    prompt = 'Check it: [[tool:get_weather {"city": "Paris"}]]'
    async with running() as sim:
        client = anthropic_client(sim)
        call = await client.messages.create(model="fast", max_tokens=64, tools=[WEATHER_TOOL_A],
                                            messages=[{"role": "user", "content": prompt}])
        async with client.messages.stream(model="fast", max_tokens=64, tools=[WEATHER_TOOL_A],
                                          messages=[{"role": "user", "content": prompt}]) as stream:
            streamed = await stream.get_final_message()
        block = call.content[0]
        after = await client.messages.create(
            model="fast",
            max_tokens=64,
            tools=[WEATHER_TOOL_A],
            messages=[
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": [block.model_dump()]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "sunny"}]},
            ],
        )
        untooled = await client.messages.create(model="fast", max_tokens=64,
                                                messages=[{"role": "user", "content": prompt}])
    assert call.stop_reason == "tool_use" and block.type == "tool_use"
    assert (block.name, block.input) == ("get_weather", {"city": "Paris"}) and block.id.startswith("toolu_")
    assert streamed.stop_reason == "tool_use" and streamed.content[0].input == {"city": "Paris"}
    assert after.stop_reason == "end_turn" and after.content[0].type == "text"
    assert untooled.content[0].type == "text", "no tools offered: the marker is just text"


# --- OpenAI ---------------------------------------------------------------------------------


async def test_openai_create_returns_completion_with_usage() -> None:
    async with running() as sim:
        completion = await openai_client(sim).chat.completions.create(
            model="fast", messages=[{"role": "user", "content": "hello there"}])
    choice = completion.choices[0]
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert choice.finish_reason == "stop" and choice.message.role == "assistant" and choice.message.content
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens == math.ceil(len("hello there") / 4)
    assert usage.completion_tokens == 12 and usage.total_tokens == usage.prompt_tokens + 12
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 0


async def test_openai_stream_with_include_usage_ends_with_usage_chunk() -> None:
    async with running() as sim:
        client = openai_client(sim)
        whole = await client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "same"}])
        stream = await client.chat.completions.create(
            model="fast", messages=[{"role": "user", "content": "same"}], stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens == 12
    assert all(c.usage is None for c in chunks[:-1])


async def test_openai_stream_without_include_usage_has_no_usage_chunk() -> None:
    async with running() as sim:
        stream = await openai_client(sim).chat.completions.create(
            model="fast", messages=[{"role": "user", "content": "x"}], stream=True, max_tokens=3)
        chunks = [chunk async for chunk in stream]
    assert all(c.choices for c in chunks) and chunks[-1].choices[0].finish_reason == "length"


async def test_openai_automatic_prefix_cache_counts_inside_prompt_tokens() -> None:
    messages = [{"role": "system", "content": LONG_SYSTEM}]
    async with running() as sim:
        client = openai_client(sim)
        first = await client.chat.completions.create(model="fast",
                                                     messages=[*messages, {"role": "user", "content": "one"}])
        second = await client.chat.completions.create(model="fast",
                                                      messages=[*messages, {"role": "user", "content": "two!"}])
    assert first.usage is not None and second.usage is not None
    assert first.usage.prompt_tokens_details.cached_tokens == 0  # type: ignore[union-attr]
    cached = second.usage.prompt_tokens_details.cached_tokens  # type: ignore[union-attr]
    assert cached == 1024 + 128 * ((1450 - 1024) // 128)  # rounded down in 128-token steps
    assert second.usage.prompt_tokens == 1450 + 1  # cached tokens are part of prompt_tokens


async def test_openai_tool_trigger_streaming_and_not() -> None:
    prompt = 'go [[tool:get_weather {"city": "Oslo"}]] and [[tool:get_weather]]'
    async with running() as sim:
        client = openai_client(sim)
        whole = await client.chat.completions.create(model="fast", tools=[WEATHER_TOOL_O],
                                                     messages=[{"role": "user", "content": prompt}])
        stream = await client.chat.completions.create(model="fast", tools=[WEATHER_TOOL_O],
                                                      messages=[{"role": "user", "content": prompt}], stream=True)
        chunks = [chunk async for chunk in stream]
        calls = whole.choices[0].message.tool_calls or []
        after = await client.chat.completions.create(
            model="fast",
            tools=[WEATHER_TOOL_O],
            messages=[
                {"role": "user", "content": prompt},
                whole.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": calls[0].id, "content": "cold"},
            ],
        )
    assert whole.choices[0].finish_reason == "tool_calls" and whole.choices[0].message.content is None
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Oslo"}), ("get_weather", {})]
    assert all(c.id.startswith("call_") for c in calls)
    args: dict[int, str] = {}
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or []:
            args[delta.index] = args.get(delta.index, "") + (delta.function.arguments or "")
    assert [json.loads(a) for a in args.values()] == [{"city": "Oslo"}, {}]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert after.choices[0].finish_reason == "stop" and after.choices[0].message.content


# --- both -----------------------------------------------------------------------------------


async def _reply(sim: SimulatorServer, text: str) -> str:
    message = await anthropic_client(sim).messages.create(model="fast", max_tokens=64,
                                                          messages=[{"role": "user", "content": text}])
    return message.content[0].text  # type: ignore[union-attr]


async def test_replies_are_deterministic_by_seed_and_prompt() -> None:
    async with running() as sim:
        a1, a2, other = await _reply(sim, "prompt A"), await _reply(sim, "prompt A"), await _reply(sim, "prompt B")
    async with running() as sim:
        again = await _reply(sim, "prompt A")
    async with running(sim_config(models={"fast": {"seed": 99}})) as sim:
        reseeded = await _reply(sim, "prompt A")
    async with running(seed=99) as sim:
        overridden = await _reply(sim, "prompt A")
    assert a1 == a2 == again and a1 != other
    assert reseeded != a1 and overridden == reseeded


async def test_both_sdks_list_the_models() -> None:
    async with running() as sim:
        anthropic_ids = [m.id async for m in anthropic_client(sim).models.list()]
        openai_ids = [m.id async for m in openai_client(sim).models.list()]
    assert anthropic_ids == openai_ids == ["fast", "slow"]
