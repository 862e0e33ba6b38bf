"""Fallback chain (docs/design/retry.md#model-fallback-chain) on top of the engine and the cooldown tracker."""

from __future__ import annotations

import asyncio

import pytest

from core.config.schema.agents import AgentModelConfig
from core.events.base import Event
from core.provider_errors import ProviderConnectionError, ProviderHTTPError
from core.retry import (
    AttemptContext,
    CooldownTracker,
    Failover,
    FallbackChain,
    FallbackExhausted,
    NonRetryable,
    RetryEngine,
    RetryPolicy,
)

OLD_DEFAULT_POLICY = RetryPolicy.default().with_(attempts=3, min_delay_ms=300, jitter=0.0, rate_limit_attempts=None,
                                                 budget=None)
"""What ``RetryPolicy()`` was before its defaults moved to the schema (the assertions below
were written against it)."""


def http(status: int, provider: str, headers: dict[str, str] | None = None, msg: str = "err") -> ProviderHTTPError:
    return ProviderHTTPError(msg, provider=provider, status=status, headers=headers)


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


async def test_chain_order_and_failover_events() -> None:
    events: list[Event] = []
    chain = FallbackChain.from_config(AgentModelConfig(primary="a/one", fallbacks=["b/two", "a/one", "c/three"]),
                                      publish=events.append)
    assert chain.refs == ["a/one", "b/two", "c/three"]
    tried: list[str] = []

    async def call(ref: str) -> str:
        tried.append(ref)
        if ref == "c/three":
            return "answer"
        raise http(503, ref.split("/")[0])

    assert await chain.run(call, op_id="t1") == "answer"
    assert tried == ["a/one", "b/two", "c/three"]
    assert [(e.from_ref, e.to_ref, e.error_class) for e in events if isinstance(e, Failover)] == [
        ("a/one", "b/two", "server"), ("b/two", "c/three", "server")]


async def test_context_overflow_and_bad_requests_are_not_failed_over() -> None:
    chain = FallbackChain(["a/one", "b/two"])
    tried: list[str] = []

    async def overflow(ref: str) -> str:
        tried.append(ref)
        raise http(400, "a", msg="prompt is too long")

    with pytest.raises(ProviderHTTPError):
        await chain.run(overflow)
    assert tried == ["a/one"]

    async def streamed(ref: str) -> str:
        raise ProviderConnectionError("reset", provider="a", after_first_token=True)

    with pytest.raises(ProviderConnectionError):
        await chain.run(streamed)


async def test_all_failed_summary() -> None:
    chain = FallbackChain(["a/one", "b/two"])

    async def call(ref: str) -> str:
        raise http(401, ref.split("/")[0], msg="invalid api key")

    with pytest.raises(FallbackExhausted) as info:
        await chain.run(call)
    assert [(f.ref, f.error_class, f.status) for f in info.value.failures] == [
        ("a/one", "auth", 401), ("b/two", "auth", 401)]
    assert "all 2 model candidates failed" in str(info.value)


async def test_cooling_providers_are_skipped_and_probed_when_all_cool() -> None:
    clock, events = Clock(), []
    cooldowns = CooldownTracker(publish=events.append, clock=clock)
    chain = FallbackChain(["a/one", "b/two"], publish=events.append, cooldowns=cooldowns, clock=clock)
    tried: list[str] = []

    async def a_rate_limited(ref: str) -> str:
        tried.append(ref)
        if ref == "a/one":
            raise http(429, "a", msg="rate limit per minute")
        return "b"

    assert await chain.run(a_rate_limited) == "b"
    assert not cooldowns.is_available("a", model="one") and cooldowns.is_available("b")
    tried.clear()
    assert await chain.run(a_rate_limited) == "b"
    assert tried == ["b/two"]  # a/one skipped while cooling (30 s)
    assert any(isinstance(e, Failover) and e.reason == "cooldown" and e.from_ref == "a/one" for e in events)

    # Both cooling: the one freeing up first is probed, at most once per 30 s per provider.
    cooldowns.mark_failure("b", "overloaded")
    clock.now += 1
    calls: list[str] = []

    async def ok(ref: str) -> str:
        calls.append(ref)
        return ref

    assert await chain.run(ok) == "a/one"
    cooldowns.mark_failure("a", "overloaded")  # a cools until +31 s, b until +30 s: b is probed

    async def overloaded(ref: str) -> str:
        calls.append(ref)
        raise http(529, ref.split("/")[0])

    with pytest.raises(FallbackExhausted, match=r"b/two: overloaded HTTP 529.*frees up in 29 s"):
        await chain.run(overloaded)
    with pytest.raises(FallbackExhausted, match=r"all cooling down"):  # b was probed < 30 s ago
        await chain.run(overloaded)
    assert calls == ["a/one", "b/two"]


async def test_engine_inside_chain_fails_over_on_long_retry_after() -> None:
    events: list[Event] = []
    engine = RetryEngine(events.append)
    chain = FallbackChain(["a/one", "b/two"], publish=events.append)
    sleeps: list[str] = []

    async def call_for_model(ref: str) -> str:
        async def attempt(ctx: AttemptContext) -> str:
            if ref == "a/one":
                raise http(429, "a", {"retry-after": "3600"})
            return "from b"

        return await engine.run(attempt, policy=OLD_DEFAULT_POLICY, operation=f"model:{ref}",
                                provider=ref.split("/")[0], idempotent=True, model=ref)

    started = asyncio.get_running_loop().time()
    assert await chain.run(call_for_model) == "from b"
    assert asyncio.get_running_loop().time() - started < 1 and sleeps == []
    outcomes = [(e.model, e.outcome) for e in events if e.kind == "retry.attempt"]
    assert outcomes == [("a/one", "failover"), ("b/two", "ok")]
    # On the last candidate there is no fallback: the same wait is a clear failure.
    chain_b = FallbackChain(["a/one"])
    with pytest.raises(NonRetryable.__mro__[1]) as info:  # RetryFailed
        await chain_b.run(call_for_model)
    assert "Not retrying" in str(info.value)
