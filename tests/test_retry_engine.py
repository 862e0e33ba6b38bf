"""The retry engine with a fake clock and sleep: decisions, delays, records and events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from core.config.schema.root import ClawtopConfig
from core.events.base import Event
from core.provider_errors import ProviderConnectionError, ProviderError, ProviderHTTPError, ProviderTimeoutError
from core.retry import (
    AttemptContext,
    BudgetSettings,
    NonRetryable,
    RetryAfterTooLong,
    RetryAttempt,
    RetryBudgetExhausted,
    RetryEngine,
    RetryExhausted,
    RetryFailed,
    RetryNestedSuppressed,
    RetryOperationFinished,
    RetryPolicy,
    current_attempt,
)
from core.retry.engine import fallback_available


class FakeTime:
    """Monotonic clock + sleep that advances it; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
def engine(ft: FakeTime, events: list[Event]) -> RetryEngine:
    return RetryEngine(events.append, clock=ft.clock, sleep=ft.sleep, wall=ft.wall, random=lambda: 0.5)


POLICY = RetryPolicy(attempts=4, min_delay_ms=1000, max_delay_ms=30000, jitter=0.5, jitter_mode="proportional",
                     retry_after_jitter=0.1, max_retry_after_ms=60000, deadline_ms=90000, rate_limit_attempts=None,
                     budget=None, name="test")


def script(*outcomes: BaseException | str, ft: FakeTime | None = None, took: float = 0.0
           ) -> tuple[Callable[[AttemptContext], Awaitable[str]], list[AttemptContext]]:
    """A call that fails/succeeds per ``outcomes`` in order (the last repeats)."""
    seen: list[AttemptContext] = []

    async def call(ctx: AttemptContext) -> str:
        seen.append(ctx)
        if ft is not None:
            ft.now += took
        item = outcomes[min(len(seen) - 1, len(outcomes) - 1)]
        if isinstance(item, BaseException):
            raise item
        return item

    return call, seen


def http(status: int, headers: dict[str, str] | None = None, provider: str = "openai",
         msg: str = "err") -> ProviderHTTPError:
    return ProviderHTTPError(msg, provider=provider, status=status, headers=headers)


def attempts_of(events: list[Event]) -> list[RetryAttempt]:
    return [e for e in events if isinstance(e, RetryAttempt)]


async def test_success_first_try_emits_one_attempt_and_finish(engine: RetryEngine, events: list[Event]) -> None:
    call, _ = script("hi")
    out = await engine.run_outcome(call, policy=POLICY, operation="model:sim/fast", provider="sim", idempotent=True)
    assert out.value == "hi" and out.record.outcome == "ok" and len(out.record.attempts) == 1
    assert [type(e) for e in events] == [RetryAttempt, RetryOperationFinished]
    a = attempts_of(events)[0]
    assert (a.attempt, a.max_attempts, a.outcome, a.error_class, a.planned_delay_ms, a.slept_ms) == (
        1, 4, "ok", None, 0, 0)
    assert "attempts=4 min=1000 max=30000 jitter=proportional(0.5)" in a.policy


async def test_retries_then_success_with_record_and_events(engine: RetryEngine, ft: FakeTime,
                                                           events: list[Event]) -> None:
    call, seen = script(http(503), http(429, {"retry-after": "2"}), "done", ft=ft, took=0.1)
    out = await engine.run_outcome(call, policy=POLICY, operation="model:x", provider="openai", idempotent=True,
                                   op_id="op1")
    assert out.value == "done" and [c.attempt for c in seen] == [1, 2, 3]
    rows = [a.as_json() for a in out.record.attempts]
    # retry 1: proportional, U=0.5 → exactly exp(1) = 1000; retry 2: hint 2000 + ceil(0.5 × 0.1 × 2000) = 2100
    assert [(r["status"], r["class"], r["plannedDelayMs"], r["sleptMs"], r["retryAfterMs"]) for r in rows] == [
        (503, "server", 1000, 0, None), (429, "rate_limit", 2100, 1000, 2000), (None, None, 0, 2100, None)]
    ev = attempts_of(events)
    assert [(e.op_id, e.attempt, e.outcome, e.status, e.retry_after_ms) for e in ev] == [
        ("op1", 1, "retry", 503, None), ("op1", 2, "retry", 429, 2000), ("op1", 3, "ok", None, None)]
    assert ev[1].retry_after_raw == "2" and ev[1].retry_after_source == "retry-after"
    assert ev[0].duration_ms == 100 and ev[0].end - ev[0].start == pytest.approx(0.1)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
async def test_never_retried_statuses(engine: RetryEngine, status: int) -> None:
    call, seen = script(http(status))
    with pytest.raises(NonRetryable) as info:
        await engine.run(call, policy=POLICY, operation="model:x", provider="openai", idempotent=True)
    assert len(seen) == 1 and info.value.decision_reason == "non_transient"
    assert f"HTTP {status}" in str(info.value) and "after 1 attempt" in str(info.value)


async def test_anthropic_429_without_retry_after_is_not_retried(engine: RetryEngine) -> None:
    call, seen = script(ProviderHTTPError("rate_limit_error", provider="anthropic", status=429,
                                          error_type="rate_limit_error"))
    with pytest.raises(NonRetryable) as info:
        await engine.run(call, policy=POLICY, operation="model:anthropic/x", provider="anthropic", idempotent=True)
    assert len(seen) == 1 and info.value.error_class == "billing"


async def test_context_overflow_is_handed_back(engine: RetryEngine) -> None:
    call, seen = script(http(400, msg="prompt is too long: 300000 tokens > 200000 maximum"))
    with pytest.raises(NonRetryable) as info:
        await engine.run(call, policy=POLICY, operation="model:x", provider="openai", idempotent=True)
    assert len(seen) == 1 and info.value.error_class == "context_overflow" and "compaction" in str(info.value)


@pytest.mark.parametrize("mode", ["none", "proportional", "full", "decorrelated"])
async def test_retry_after_is_a_hard_floor_in_every_mode(ft: FakeTime, events: list[Event], mode: str) -> None:
    for u in (0.0, 0.5, 0.999):
        engine = RetryEngine(events.append, clock=ft.clock, sleep=ft.sleep, wall=ft.wall, random=lambda u=u: u)
        call, _ = script(http(429, {"retry-after": "2"}), http(503, {"retry-after-ms": "1500"}), "ok", ft=ft, took=0.05)
        policy = POLICY.with_(jitter_mode=mode, jitter=1.0, max_delay_ms=1000, min_delay_ms=100)
        out = await engine.run_outcome(call, policy=policy, operation="op", provider="p", idempotent=True)
        a = out.record.attempts
        assert a[1].start_mono - a[0].end_mono >= 2.0
        assert a[2].start_mono - a[1].end_mono >= 1.5


async def test_time_spent_after_the_response_counts_toward_the_floor(ft: FakeTime, events: list[Event]) -> None:
    def publish(e: Event) -> None:  # a slow subscriber: 0.5 s pass between the response and the sleep
        events.append(e)
        ft.now += 0.5 if isinstance(e, RetryAttempt) and e.outcome == "retry" else 0

    engine = RetryEngine(publish, clock=ft.clock, sleep=ft.sleep, wall=ft.wall, random=lambda: 0.0)
    call, _ = script(http(429, {"retry-after": "2"}), "ok")
    out = await engine.run_outcome(call, policy=POLICY, operation="op", provider="p", idempotent=True)
    assert ft.sleeps == [pytest.approx(1.5)]
    assert out.record.attempts[1].slept_ms == 2000


async def test_over_cap_retry_after_is_never_slept(engine: RetryEngine, ft: FakeTime, events: list[Event]) -> None:
    call, seen = script(http(429, {"retry-after": "120"}, provider="anthropic"))
    with pytest.raises(RetryAfterTooLong) as info:
        await engine.run(call, policy=POLICY, operation="model:anthropic/claude", provider="anthropic",
                         idempotent=True, model="anthropic/claude")
    assert len(seen) == 1 and ft.sleeps == []
    msg = str(info.value)
    assert "server asked to wait 120 s" in msg and "above maxRetryAfterMs 60000" in msg and "Not retrying" in msg
    assert info.value.retry_after_ms == 120000 and not info.value.failover
    assert (attempts_of(events)[-1].outcome == "fail"
            and attempts_of(events)[-1].decision_reason == "retry_delay_exceeds_cap")
    # Equal to the cap is honoured.
    call, seen = script(http(429, {"retry-after": "60"}), "ok")
    await engine.run(call, policy=POLICY.with_(retry_after_jitter=0.0), operation="op", provider="p", idempotent=True)
    assert len(seen) == 2 and ft.sleeps == [60.0]


async def test_over_cap_with_a_fallback_fails_over(engine: RetryEngine, events: list[Event]) -> None:
    call, _ = script(http(429, {"retry-after-ms": "130320000"}))
    token = fallback_available.set(True)
    try:
        with pytest.raises(RetryAfterTooLong) as info:
            await engine.run(call, policy=POLICY, operation="model:x", provider="p", idempotent=True)
    finally:
        fallback_available.reset(token)
    assert info.value.failover and "36h 12m" in str(info.value) and "Failing over" in str(info.value)
    assert attempts_of(events)[-1].outcome == "failover"
    assert [e.outcome for e in events if isinstance(e, RetryOperationFinished)] == ["failover"]


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (ProviderConnectionError("connection reset by peer", provider="tg"), False),
        (ProviderTimeoutError("read timeout", provider="tg"), False),
        (http(500), False),
        (http(529), False),
        (ProviderConnectionError("connection refused", provider="tg", request_sent=False), True),
        (ProviderTimeoutError("connect timeout", provider="tg", request_sent=False), True),
        (http(429), True),
    ],
    ids=["reset", "read-timeout", "500", "529", "refused", "connect-timeout", "429"],
)
async def test_non_idempotent_retries_only_before_send_and_on_429(engine: RetryEngine, error: ProviderError,
                                                                  retried: bool) -> None:
    call, seen = script(error, "sent")
    if retried:
        assert await engine.run(call, policy=POLICY, operation="telegram:sendMessage", provider="tg",
                                idempotent=False) == "sent"
        assert len(seen) == 2
    else:
        with pytest.raises(NonRetryable) as info:
            await engine.run(call, policy=POLICY, operation="telegram:sendMessage", provider="tg", idempotent=False)
        assert len(seen) == 1 and info.value.decision_reason == "unsafe_to_repeat"
        assert "not safe to repeat" in str(info.value) and "may already have taken effect" in str(info.value)


async def test_output_already_streamed_is_not_replayed(engine: RetryEngine) -> None:
    call, seen = script(ProviderConnectionError("reset", provider="p", after_first_token=True))
    with pytest.raises(NonRetryable, match="output had already streamed"):
        await engine.run(call, policy=POLICY, operation="model:x", provider="p", idempotent=True)
    assert len(seen) == 1


async def test_attempts_exhausted_and_rate_limit_raises_the_cap(engine: RetryEngine) -> None:
    call, seen = script(http(503))
    with pytest.raises(RetryExhausted) as info:
        await engine.run(call, policy=POLICY.with_(deadline_ms=0), operation="op", provider="p", idempotent=True)
    assert (len(seen) == 4 and info.value.decision_reason == "attempts_exhausted"
            and "after 4 attempts" in str(info.value))
    call, seen = script(http(429, {"retry-after": "1"}))
    with pytest.raises(RetryExhausted):
        await engine.run(call, policy=POLICY.with_(rate_limit_attempts=10, deadline_ms=0), operation="op",
                         provider="p", idempotent=True)
    assert len(seen) == 10


async def test_caller_deadline_stops_retries(engine: RetryEngine, ft: FakeTime) -> None:
    call, seen = script(http(503), ft=ft, took=1.0)
    with pytest.raises(RetryExhausted) as info:
        await engine.run(call, policy=POLICY.with_(attempts=20), operation="op", provider="p", idempotent=True,
                         deadline_ms=5000)
    # 1 s + 1 s sleep + 1 s + 2 s sleep = 5 s: the third retry's sleep would pass the deadline
    assert info.value.decision_reason == "deadline_exceeded" and len(seen) == 2
    assert seen[0].remaining() is not None


async def test_policy_window_stops_retries(engine: RetryEngine, ft: FakeTime) -> None:
    call, _seen = script(http(503), ft=ft, took=1.0)
    with pytest.raises(RetryExhausted) as info:
        await engine.run(call, policy=POLICY.with_(attempts=20, deadline_ms=10000, jitter_mode="none"),
                         operation="op", provider="p", idempotent=True)
    assert info.value.decision_reason == "retry_delay_unavailable"
    assert "10000 ms retry window" in str(info.value)


async def test_hanging_attempt_is_cut_at_the_deadline(events: list[Event]) -> None:
    engine = RetryEngine(events.append)

    async def hang(ctx: AttemptContext) -> None:
        assert ctx.timeout(600.0) <= 0.2
        await asyncio.sleep(30)

    started = asyncio.get_running_loop().time()
    with pytest.raises(RetryExhausted) as info:
        await engine.run(hang, policy=POLICY, operation="op", provider="p", idempotent=True, deadline_ms=200)
    assert asyncio.get_running_loop().time() - started < 2
    assert info.value.error_class == "timeout" and info.value.decision_reason == "deadline_exceeded"


async def test_budget_exhaustion_refuses_retries(engine: RetryEngine, events: list[Event]) -> None:
    policy = POLICY.with_(budget=BudgetSettings(burst=1, refill_per_second=0, success_credit=0))
    call, seen = script(http(503), http(503), "ok")
    with pytest.raises(RetryExhausted) as info:
        await engine.run(call, policy=policy, operation="op", provider="anthropic", idempotent=True)
    assert len(seen) == 2 and info.value.decision_reason == "retry_budget_exhausted"
    assert "retry budget for anthropic is empty" in str(info.value)
    assert [e.provider for e in events if isinstance(e, RetryBudgetExhausted)] == ["anthropic"]
    # The bucket is per provider and shared: a second operation gets no retry either …
    call, seen = script(http(503), "ok")
    with pytest.raises(RetryExhausted):
        await engine.run(call, policy=policy, operation="op2", provider="anthropic", idempotent=True)
    # … while another provider still has its own tokens.
    call, seen = script(http(503), "ok")
    assert await engine.run(call, policy=policy, operation="op3", provider="openai", idempotent=True) == "ok"


async def test_nested_runner_runs_once(engine: RetryEngine, events: list[Event]) -> None:
    inner_calls = 0

    async def inner(ctx: AttemptContext) -> str:
        nonlocal inner_calls
        inner_calls += 1
        raise http(503)

    async def outer(ctx: AttemptContext) -> str:
        assert current_attempt() is ctx
        return await engine.run(inner, policy=POLICY, operation="model:x", provider="p", idempotent=True)

    with pytest.raises(RetryFailed):
        await engine.run(outer, policy=POLICY.with_(attempts=2), operation="model:x", provider="p", idempotent=True)
    assert inner_calls == 2  # one per outer attempt, never 2 × 4
    assert sum(isinstance(e, RetryNestedSuppressed) for e in events) == 2


async def test_cancellation_propagates_unwrapped(engine: RetryEngine, events: list[Event]) -> None:
    async def cancelled(ctx: AttemptContext) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await engine.run(cancelled, policy=POLICY, operation="op", provider="p", idempotent=True)
    assert [e.outcome for e in events if isinstance(e, RetryOperationFinished)] == ["cancelled"]


async def test_every_attempt_emits_exactly_one_event_with_its_fields(engine: RetryEngine, ft: FakeTime,
                                                                    events: list[Event]) -> None:
    call, _ = script(http(503), ProviderConnectionError("reset", provider="p"), http(400))
    with pytest.raises(NonRetryable):
        await engine.run(call, policy=POLICY, operation="model:p/m", provider="p", idempotent=True, op_id="o",
                         model="p/m")
    ev = attempts_of(events)
    assert [e.attempt for e in ev] == [1, 2, 3] and all(e.op_id == "o" and e.model == "p/m" for e in ev)
    assert [e.outcome for e in ev] == ["retry", "retry", "fail"]
    assert [e.error_class for e in ev] == ["server", "ambiguous", "bad_request"]
    assert [e.slept_ms for e in ev][1:] == [e.planned_delay_ms for e in ev][:-1]
    assert all(e.payload() for e in ev)  # JSON-ready
    fin = [e for e in events if isinstance(e, RetryOperationFinished)]
    assert len(fin) == 1 and fin[0].attempts == 3 and fin[0].error_class == "bad_request"


def test_policies_from_config() -> None:
    config = ClawtopConfig.model_validate({
        "models": {"providers": {"local": {"baseUrl": "http://127.0.0.1:1/v1",
                                           "retry": {"attempts": 2, "jitterMode": "full", "maxRetryAfterMs": 5000,
                                                     "budget": {"burst": 3}}}}},
        "channels": {"discord": {"retry": {"attempts": 5}, "accounts": {"main": {"retry": {"minDelayMs": 800}}}}},
    })
    p = RetryPolicy.from_config(config, provider="local")
    assert (p.attempts, p.min_delay_ms, p.jitter_mode, p.max_retry_after_ms, p.deadline_ms) == (
        2, 1000, "full", 5000, 90000)
    assert p.budget == BudgetSettings(3, 0.1, 0.1) and p.rate_limit_attempts == 10
    d = RetryPolicy.from_config(config, provider="anthropic")  # not configured: the global defaults
    assert (d.attempts, d.jitter, d.max_retry_after_ms) == (4, 0.5, 60000)
    c = RetryPolicy.from_config(config, channel="discord", account="main")
    assert (c.attempts, c.min_delay_ms, c.max_delay_ms, c.jitter) == (5, 800, 30000, 0.1)
    t = RetryPolicy.from_config(config, channel="telegram")
    assert (t.attempts, t.min_delay_ms, t.rate_limit_attempts) == (3, 400, None)


def test_default_policy_is_the_schema_default_and_rate_limit_attempts_is_a_setting() -> None:
    d = RetryPolicy.default()
    assert d == RetryPolicy.from_config(ClawtopConfig(), provider="anywhere").with_(name="default")
    assert (d.attempts, d.min_delay_ms, d.max_delay_ms, d.jitter, d.jitter_mode) == (
        4, 1000, 30000, 0.5, "proportional")
    assert (d.rate_limit_attempts, d.budget) == (10, BudgetSettings(10, 0.1, 0.1))
    config = ClawtopConfig.model_validate({
        "retry": {"provider": {"rateLimitAttempts": 6}},
        "models": {"providers": {"a": {"baseUrl": "http://127.0.0.1:1/v1", "retry": {"rateLimitAttempts": 2}},
                                 "b": {"baseUrl": "http://127.0.0.1:1/v1", "retry": {"attempts": 1}},
                                 "c": {"baseUrl": "http://127.0.0.1:1/v1"}}},
    })
    # The global key applies, a provider override wins, attempts 1 still means no retries and a
    # cap below attempts never lowers them.
    assert RetryPolicy.from_config(config, provider="c").max_attempts(saw_rate_limit=True) == 6
    assert RetryPolicy.from_config(config, provider="a").max_attempts(saw_rate_limit=True) == 4
    assert RetryPolicy.from_config(config, provider="b").max_attempts(saw_rate_limit=True) == 1
    with pytest.raises(ValueError, match="unknown channel"):
        RetryPolicy.from_config(config, channel="smoke-signals")


def test_old_max_retries_key_points_to_attempts() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"maxRetries was replaced by attempts.*attempts: 3"):
        ClawtopConfig.model_validate({"retry": {"provider": {"maxRetries": 2}}})


