"""Rate limits and their headers, the prompt-cache rules in isolation, and pacing accuracy."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from test_sim_support import Recorder, anthropic_body, openai_body, post, running, sim_config

from core.sim.cache import PromptCache
from core.sim.ratelimit import RateLimiter, go_duration
from core.sim.request import BlockBuilder


def _rfc3339(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- rate limits over HTTP ------------------------------------------------------------------


async def test_rpm_exceeded_gives_429_with_anthropic_headers() -> None:
    recorder = Recorder()
    async with running(sim_config(rateLimits={"rpm": 2}), publish=recorder) as sim:
        first, second, third = [await post(sim, "anthropic", anthropic_body()) for _ in range(3)]
        other_model = await post(sim, "anthropic", {**anthropic_body(), "model": "slow"})
    assert [first.status_code, second.status_code, third.status_code, other_model.status_code] == [200, 200, 429, 200]
    assert first.headers["anthropic-ratelimit-requests-limit"] == "2"
    assert first.headers["anthropic-ratelimit-requests-remaining"] == "1"
    assert third.headers["anthropic-ratelimit-requests-remaining"] == "0"
    reset = _rfc3339(third.headers["anthropic-ratelimit-requests-reset"])
    assert dt.datetime.now(dt.UTC) < reset <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=62)
    assert third.headers["retry-after"].isdigit() and 1 <= int(third.headers["retry-after"]) <= 30
    assert third.headers["x-should-retry"] == "true"
    assert third.json()["error"]["type"] == "rate_limit_error" and "requests" in third.json()["error"]["message"]
    assert "anthropic-ratelimit-input-tokens-limit" not in first.headers, "unlimited buckets send no headers"
    assert recorder.events[2].limited_by == "requests" and recorder.events[2].fault is None  # type: ignore[attr-defined]
    assert sim.stats.rate_limited == 1


async def test_openai_headers_use_go_durations() -> None:
    async with running(sim_config(rateLimits={"rpm": 1, "inputTpm": 1000, "outputTpm": 500})) as sim:
        ok = await post(sim, "openai", openai_body(max_tokens=10))
        limited = await post(sim, "openai", openai_body(max_tokens=10))
    assert ok.headers["x-ratelimit-limit-requests"] == "1" and ok.headers["x-ratelimit-remaining-requests"] == "0"
    assert ok.headers["x-ratelimit-reset-requests"].endswith("s")
    assert ok.headers["x-ratelimit-limit-tokens"] == "1500"
    # input + output (max_tokens, settled to 10)
    assert int(ok.headers["x-ratelimit-remaining-tokens"]) == 1500 - 2 - 10
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert "retry-after" in limited.headers


async def test_input_tpm_counts_writes_but_not_cache_reads() -> None:
    system = [{"type": "text", "text": "z" * 4800, "cache_control": {"type": "ephemeral"}}]  # 1200 tokens
    body = anthropic_body("hi", system=system, max_tokens=4)
    async with running(sim_config(rateLimits={"inputTpm": 1300})) as sim:
        write = await post(sim, "anthropic", body)
        read = await post(sim, "anthropic", body)
        fresh = await post(sim, "anthropic", anthropic_body("y" * 4800, max_tokens=4))
    assert write.status_code == 200 and read.status_code == 200
    assert read.json()["usage"]["cache_read_input_tokens"] == 1200
    assert int(write.headers["anthropic-ratelimit-input-tokens-remaining"]) == 1300 - 1201
    assert int(read.headers["anthropic-ratelimit-input-tokens-remaining"]) >= 98, "a cache read costs no ITPM"
    assert fresh.status_code == 429 and "input tokens" in fresh.json()["error"]["message"]


def test_token_bucket_refills_continuously() -> None:
    now = [100.0]
    limiter = RateLimiter(rpm=60, input_tpm=0, output_tpm=600, clock=lambda: now[0])
    for _ in range(60):
        assert limiter.admit("m", input_tokens=1, output_estimate=0).allowed
    refused = limiter.admit("m", input_tokens=1, output_estimate=0)
    assert not refused.allowed and refused.limited_by == "requests" and refused.retry_after_s == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter.admit("m", input_tokens=1, output_estimate=0).allowed
    assert limiter.admit("m2", input_tokens=0, output_estimate=700).limited_by == "output_tokens"
    limiter.settle("m", output_estimate=100, output_tokens=10)
    assert limiter.state("m")["output_tokens"].remaining == 600


def test_go_duration_matches_go_formatting() -> None:
    assert [go_duration(s) for s in (0, 0.012, 1, 1.5, 59.999, 360, 3723.5)] == [
        "0s", "12ms", "1s", "1.5s", "59.999s", "6m0s", "1h2m3.5s",
    ]


# --- cache rules in isolation ---------------------------------------------------------------


def _blocks(texts: list[str], marks: dict[int, int]) -> list:  # type: ignore[type-arg]
    builder = BlockBuilder("m")
    for index, text in enumerate(texts):
        builder.add({"text": text}, text, marks.get(index))
    return builder.blocks


def test_breakpoint_lookback_finds_the_previous_turns_entry() -> None:
    now = [0.0]
    cache = PromptCache(min_tokens=100, default_ttl_ms=300_000, clock=lambda: now[0])
    turn1 = ["s" * 800, "u" * 400]
    plan1 = cache.plan_breakpoints(_blocks(turn1, {1: 300_000}), 0.0)
    assert (plan1.usage.read, plan1.usage.creation, plan1.usage.uncached) == (0, 300, 0)
    cache.commit(plan1)
    turn2 = [*turn1, "a" * 400, "u" * 40]  # the breakpoint moved to the new last block
    plan2 = cache.plan_breakpoints(_blocks(turn2, {3: 300_000}), 1.0)
    assert (plan2.usage.read, plan2.usage.creation, plan2.usage.uncached) == (300, 110, 0)
    cache.commit(plan2)  # the read at t=1 refreshes turn 1's entry: TTL counted from request start
    now[0] = 300.5
    assert cache.plan_breakpoints(_blocks(turn1, {1: 300_000}), now[0]).usage.read == 300
    now[0] = 301.5
    assert cache.plan_breakpoints(_blocks(turn1, {1: 300_000}), now[0]).usage.read == 0


def test_uncommitted_writes_are_invisible_to_parallel_requests() -> None:
    cache = PromptCache(min_tokens=0, default_ttl_ms=300_000)
    blocks = _blocks(["x" * 4000], {0: 300_000})
    first = cache.plan_breakpoints(blocks, time.monotonic())
    parallel = cache.plan_breakpoints(blocks, time.monotonic())
    assert first.usage.creation == parallel.usage.creation == 1000
    cache.commit(first)
    assert cache.plan_breakpoints(blocks, time.monotonic()).usage.read == 1000


# --- pacing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("ttft_ms", "tps", "tokens"), [(150, 200.0, 120), (300, 30.0, 20)])
async def test_streaming_pace_matches_ttft_and_tokens_per_second(ttft_ms: int, tps: float, tokens: int) -> None:
    config = sim_config(models={"fast": {"ttftMs": ttft_ms, "tokensPerSec": tps, "replyTokens": tokens}})
    async with running(config) as sim, httpx.AsyncClient(timeout=10) as client:
        await post(sim, "anthropic", anthropic_body(max_tokens=1))  # warm the connection path
        start = time.perf_counter()
        first = last = None
        async with client.stream("POST", sim.base_url + "/v1/messages",
                                 json=anthropic_body(max_tokens=tokens, stream=True)) as response:
            async for line in response.aiter_lines():
                if line.startswith('data: {"type":"content_block_delta"'):
                    last = time.perf_counter()
                    first = first or last
    assert first is not None and last is not None
    ttft, rate = (first - start) * 1000, (tokens - 1) / (last - first)
    # Behaviour, not speed: the simulator never answers before its TTFT nor streams faster than
    # its rate. How close it gets is measured by bench/bench_overhead.py (docs/performance.md);
    # the upper bounds here only catch a pacing that is grossly off, whatever the machine's load.
    assert ttft_ms * 0.95 <= ttft < ttft_ms + 1000, ttft
    assert tps / 3 < rate <= tps * 1.05, rate


async def test_non_streaming_reply_takes_the_same_total_time() -> None:
    config = sim_config(models={"fast": {"ttftMs": 100, "tokensPerSec": 100, "replyTokens": 21}})
    async with running(config) as sim, httpx.AsyncClient(timeout=10) as client:
        start = time.perf_counter()
        response = await client.post(sim.base_url + "/v1/chat/completions", json=openai_body())
        elapsed = time.perf_counter() - start
    # The whole reply is held back for TTFT plus the streaming time (0.3 s), never less.
    assert response.status_code == 200 and 0.3 * 0.95 <= elapsed < 0.3 + 1.5, elapsed
