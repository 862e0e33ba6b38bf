"""Delay math (docs/design/retry.md#delay-algorithm, docs/design/retry.md#jitter-modes), the retry budget
(docs/design/retry.md#retry-budget) and cooldown ladders (docs/design/retry.md#auth-profile-cooldowns)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from core.config.schema.auth import CooldownsConfig
from core.events.base import Event
from core.retry.budget import BudgetSettings, RetryBudgets, TokenBucket
from core.retry.cooldown import CooldownTracker, regular_cooldown_s
from core.retry.events import CooldownChanged
from core.retry.jitter import exp_delay, plan_delay

MODES = ("none", "proportional", "full", "decorrelated")


def fixed(u: float) -> Callable[[], float]:
    return lambda: u


def test_exp_delay() -> None:
    assert [exp_delay(n, 1000, 30000) for n in (1, 2, 3, 5, 6, 7)] == [1000, 2000, 4000, 16000, 30000, 30000]


def test_proportional_is_openclaws_symmetric_ratio_clamped() -> None:
    # Telegram 400 ms ±10 %: retry 1 waits 400–440, retry 2 waits 720–880 (docs/design/retry.md#delay-algorithm).
    kw = dict(mode="proportional", min_delay_ms=400, max_delay_ms=30000, jitter=0.1, retry_after_jitter=0.1,
              hint_ms=None)
    assert plan_delay(retry_n=1, random=fixed(0.0), **kw).delay_ms == 400
    assert plan_delay(retry_n=1, random=fixed(0.999999), **kw).delay_ms == 440
    assert plan_delay(retry_n=2, random=fixed(0.0), **kw).delay_ms == 720
    assert plan_delay(retry_n=2, random=fixed(0.999999), **kw).delay_ms == 880
    # jitter 0.5 = OpenClaw's controller exp × (0.5 + U)
    assert plan_delay(retry_n=3, mode="proportional", min_delay_ms=1000, max_delay_ms=30000, jitter=0.5,
                      retry_after_jitter=0.1, hint_ms=None, random=fixed(0.25)).delay_ms == 3000


def test_full_and_decorrelated_and_none() -> None:
    base = dict(min_delay_ms=100, max_delay_ms=10000, jitter=0.1, retry_after_jitter=0.1, hint_ms=None)
    assert plan_delay(mode="none", retry_n=4, **base).delay_ms == 800
    assert plan_delay(mode="full", retry_n=4, random=fixed(0.5), **base).delay_ms == 450  # 100 + 0.5 × 700
    assert plan_delay(mode="decorrelated", retry_n=2, prev_delay_ms=1000, random=fixed(0.5), **base).delay_ms == 1550
    assert plan_delay(mode="decorrelated", retry_n=9, prev_delay_ms=9000, random=fixed(0.99), **base).delay_ms == 10000


@pytest.mark.parametrize("mode", MODES)
def test_property_without_hint_within_min_max(mode: str) -> None:
    rng = random.Random(1)
    prev = None
    for n in range(1, 40):
        plan = plan_delay(mode=mode, retry_n=n, min_delay_ms=250, max_delay_ms=8000, jitter=rng.random(),
                          retry_after_jitter=0.1, hint_ms=None, prev_delay_ms=prev, random=rng.random)
        assert 250 <= plan.delay_ms <= 8000
        prev = plan.delay_ms


@pytest.mark.parametrize("mode", MODES)
def test_property_hint_is_a_hard_floor(mode: str) -> None:
    rng = random.Random(2)
    for _ in range(500):
        ra = rng.uniform(0, 120_000)
        plan = plan_delay(mode=mode, retry_n=rng.randint(1, 10), min_delay_ms=rng.randint(0, 2000),
                          max_delay_ms=1000,  # a cap below the hint never shortens it
                          jitter=1.0, retry_after_jitter=rng.random(), hint_ms=ra, random=rng.random)
        assert plan.delay_ms >= ra and plan.floor_ms is not None and plan.delay_ms >= plan.floor_ms


def test_hinted_extra_is_bounded_by_retry_after_jitter() -> None:
    # max(ra, min) + ceil(U × 0.1 × ra): 2000 + ceil(0.999 × 200) = 2200; none adds nothing.
    kw = dict(retry_n=1, min_delay_ms=1000, max_delay_ms=30000, jitter=0.5, retry_after_jitter=0.1, hint_ms=2000.0)
    assert plan_delay(mode="full", random=fixed(0.999), **kw).delay_ms == 2200
    assert plan_delay(mode="none", random=fixed(0.999), **kw).delay_ms == 2000
    # the hint 1.4 ms rounds up (OpenClaw pins 2 ms for min 0)
    assert plan_delay(mode="none", retry_n=1, min_delay_ms=0, max_delay_ms=10, jitter=0, retry_after_jitter=0,
                      hint_ms=1.4).delay_ms == 2


# --- budget -----------------------------------------------------------------------------------


def test_token_bucket_burst_refill_and_success_credit() -> None:
    now = [0.0]
    bucket = TokenBucket(BudgetSettings(burst=3, refill_per_second=0.5, success_credit=0.25), clock=lambda: now[0])
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    now[0] = 1.0  # +0.5
    assert not bucket.try_take()
    bucket.credit_success()
    bucket.credit_success()  # +0.5 → 1.0
    assert bucket.try_take()
    now[0] = 100.0
    assert bucket.tokens == 3.0  # capped at burst


def test_budgets_are_shared_per_key_and_reshape_on_reload() -> None:
    budgets = RetryBudgets(clock=lambda: 0.0)
    a = budgets.bucket("anthropic", BudgetSettings(burst=2, refill_per_second=0.1, success_credit=0.1))
    assert budgets.bucket("anthropic", BudgetSettings(burst=2, refill_per_second=0.1, success_credit=0.1)) is a
    a.try_take()
    budgets.bucket("anthropic", BudgetSettings(burst=1, refill_per_second=0.1, success_credit=0.1))
    assert a.tokens == 1.0 and budgets.snapshot() == {"anthropic": 1.0}


# --- cooldown ladders -------------------------------------------------------------------------


def test_regular_ladder() -> None:
    assert [regular_cooldown_s(n) for n in (1, 2, 3, 7)] == [30, 60, 300, 300]


def tracker(now: list[float], events: list[Event], **cfg: float) -> CooldownTracker:
    return CooldownTracker(CooldownsConfig.model_validate(cfg), publish=events.append, clock=lambda: now[0])


def test_regular_cooldown_and_immutable_window() -> None:
    now, events = [1000.0], []
    t = tracker(now, events)
    t.mark_failure("anthropic", "overloaded")
    assert t.state("anthropic").cooldown_until == 1030.0
    now[0] = 1020.0
    st = t.mark_failure("anthropic", "overloaded")  # inside the window: n=2 but the deadline stays
    assert st.error_count == 2 and st.cooldown_until == 1030.0
    assert not t.is_available("anthropic")
    now[0] = 1031.0
    assert t.is_available("anthropic")
    # The previous window expired → counters reset before the increment (docs/design/retry.md#auth-profile-cooldowns).
    st = t.mark_failure("anthropic", "overloaded")
    assert st.error_count == 1 and st.cooldown_until == 1061.0
    assert all(isinstance(e, CooldownChanged) for e in events) and events[0].until_wall == 1030.0


def test_billing_and_auth_permanent_disable_ladders() -> None:
    now, events = [0.0], []
    t = tracker(now, events, billingBackoffHours=5, billingMaxHours=24)
    t.mark_failure("openai", "billing")
    assert t.state("openai").disabled_until == 5 * 3600
    # n=2 inside the window keeps the deadline; after expiry counters reset → 5 h again.
    st = t.mark_failure("openai", "billing")
    assert st.failure_counts["billing"] == 2 and st.disabled_until == 5 * 3600
    t2 = tracker(now, [], billingBackoffHours=5, billingMaxHours=24)
    from core.retry.cooldown import _disabled_s

    assert [_disabled_s(n, 5 * 3600, 24 * 3600) / 3600 for n in (1, 2, 3, 4)] == [5, 10, 20, 24]
    assert [_disabled_s(n, 600, 3600) / 60 for n in (1, 2, 3, 4)] == [10, 20, 40, 60]
    assert _disabled_s(1, 1, 1) == 60  # base raised to ≥ 60 s
    t2.mark_failure("x", "auth_permanent")
    assert t2.state("x").disabled_until == 600 and events[0].lane == "disabled"


def test_per_provider_billing_base_and_failure_window() -> None:
    now = [0.0]
    t = tracker(now, [], billingBackoffHoursByProvider={"ollama": 1}, failureWindowHours=1)
    t.mark_failure("ollama", "billing")
    assert t.state("ollama").disabled_until == 3600


def test_timeouts_never_bench_and_bypass_providers() -> None:
    now, events = [0.0], []
    t = tracker(now, events)
    t.mark_failure("anthropic", "timeout")
    t.mark_failure("openrouter", "rate_limit")
    assert t.is_available("anthropic") and t.is_available("openrouter") and events == []


def test_model_scoped_rate_limit_and_widening() -> None:
    now = [0.0]
    t = tracker(now, [])
    t.mark_failure("anthropic", "rate_limit", model="opus")
    assert not t.is_available("anthropic", model="opus")
    assert t.is_available("anthropic", model="sonnet")
    t.mark_failure("anthropic", "rate_limit", model="sonnet")  # a different model inside the window
    assert not t.is_available("anthropic", model="haiku")


def test_success_clears_and_profile_order() -> None:
    now, events = [100.0], []
    t = tracker(now, events)
    t.mark_failure("p", "rate_limit", profile="a")
    now[0] = 101.0
    t.mark_success("p", profile="b")
    assert t.order_profiles("p", ["a", "b", "c"]) == ["c", "b", "a"]  # unused c, then b, cooling a last
    t.mark_success("p", profile="a")
    assert t.is_available("p", profile="a") and events[-1].lane == "cleared"


def test_retry_after_blocks_profile() -> None:
    now = [0.0]
    t = tracker(now, [])
    t.mark_failure("p", "rate_limit", retry_after_ms=600_000)
    assert t.available_at("p") == 600.0
