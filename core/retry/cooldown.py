"""Auth-profile cooldown ladders and profile order (docs/design/retry.md#auth-profile-cooldowns,
docs/design/retry.md#profile-order).

Why: a profile (API key / subscription) that just hit a rate limit or a billing wall should be
benched for a while so the next turn goes to another profile or model instead of failing the
same way. OpenClaw's ladders, with its #11352 lessons kept: short regular ladder (30 s, 60 s,
5 min), **immutable active windows** (a failure inside a window never extends it), counters reset
after the failure window or once a window has expired, and timeouts never bench a profile.

State lives in memory per ``(provider, profile)``; every change publishes :class:`CooldownChanged`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.config.schema.auth import CooldownsConfig
from core.events.base import Event
from core.retry.classify import Classification, ErrorClass
from core.retry.events import CooldownChanged, CooldownLane

__all__ = ["BYPASS_PROVIDERS", "CooldownTracker", "ProfileState", "cooldown_reason", "regular_cooldown_s"]

BYPASS_PROVIDERS = frozenset({"openrouter", "kilocode"})
"""Providers that never cool down (they route to many upstreams themselves,
docs/design/retry.md#auth-profile-cooldowns)."""

DEFAULT_PROFILE = "default"


def regular_cooldown_s(n: int) -> float:
    """Regular ladder by error count ``n`` ≥ 1: 30 s, 60 s, then 5 min (cap)."""
    return 30.0 if n <= 1 else 60.0 if n == 2 else 300.0


def _disabled_s(n: int, base_s: float, max_s: float) -> float:
    """``min(max, base × 2^min(n−1, 10))`` with base ≥ 60 s and max ≥ base
    (docs/design/retry.md#auth-profile-cooldowns)."""
    base = max(60.0, base_s)
    cap = max(base, max_s)
    return min(cap, base * 2.0 ** min(max(n, 1) - 1, 10))


def cooldown_reason(c: Classification) -> str | None:
    """Map a failure to an OpenClaw cooldown reason, or None when it must not bench a profile
    (timeouts and transport failures are not auth health; bad requests and context overflow are
    the request's fault)."""
    if c.error_class in (ErrorClass.RATE_LIMIT, ErrorClass.QUOTA):
        return "rate_limit"
    if c.error_class is ErrorClass.OVERLOADED:
        return "overloaded"
    if c.error_class is ErrorClass.BILLING:
        return "billing"
    if c.error_class is ErrorClass.AUTH:
        return "auth_permanent" if c.reason.startswith("auth_permanent") else "auth"
    if c.error_class is ErrorClass.BAD_REQUEST and c.reason.startswith("model_not_found"):
        return "model_not_found"
    if c.error_class is ErrorClass.UNKNOWN:
        return "unknown"
    return None


@dataclass(slots=True)
class ProfileState:
    """OpenClaw's ``usageStats`` for one profile (wall-clock seconds)."""

    last_used: float = 0.0
    error_count: int = 0
    failure_counts: dict[str, int] = field(default_factory=dict)
    last_failure_at: float = 0.0
    cooldown_until: float = 0.0
    cooldown_reason: str | None = None
    cooldown_model: str | None = None
    disabled_until: float = 0.0
    disabled_reason: str | None = None
    blocked_until: float = 0.0

    def unusable_until(self, now: float, model: str | None = None) -> float:
        """When this profile becomes usable for ``model`` (≤ now = usable now).

        A model-scoped rate-limit cooldown does not block other models unless a disable is
        active (docs/design/retry.md#auth-profile-cooldowns, model-scoped rate limits)."""
        until = max(self.disabled_until, self.blocked_until)
        scoped_away = self.cooldown_model is not None and model is not None and model != self.cooldown_model
        if not scoped_away:
            until = max(until, self.cooldown_until)
        return until


class CooldownTracker:
    """Cooldown state for every ``(provider, profile)``; ``clock`` is wall time (seconds)."""

    def __init__(self, config: CooldownsConfig | None = None, *, publish: Callable[[Event], None] = lambda e: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config or CooldownsConfig()
        self.publish = publish
        self.clock = clock
        self._state: dict[tuple[str, str], ProfileState] = {}

    def state(self, provider: str, profile: str = DEFAULT_PROFILE) -> ProfileState:
        return self._state.setdefault((provider, profile), ProfileState())

    def mark_failure(self, provider: str, reason: str, *, profile: str = DEFAULT_PROFILE, model: str | None = None,
                     retry_after_ms: float | None = None) -> ProfileState:
        """Record a failure with an OpenClaw reason and apply its ladder
        (docs/design/retry.md#auth-profile-cooldowns)."""
        if provider in BYPASS_PROVIDERS or reason == "timeout":
            return self.state(provider, profile)
        now, cfg, st = self.clock(), self.config, self.state(provider, profile)
        window_s = cfg.failure_window_hours * 3600
        active_before = st.unusable_until(now) > now
        expired_window = (st.cooldown_until or st.disabled_until) and not active_before
        if st.last_failure_at and (now - st.last_failure_at > window_s or expired_window):
            st.error_count, st.failure_counts = 0, {}
        st.error_count += 1
        st.failure_counts[reason] = st.failure_counts.get(reason, 0) + 1
        st.last_failure_at = now
        lane: CooldownLane = "cooldown"
        until, level = st.cooldown_until, st.error_count
        if reason in ("billing", "auth_permanent"):
            lane, level = "disabled", st.failure_counts[reason]
            if reason == "billing":
                base_h = cfg.billing_backoff_hours_by_provider.get(provider, cfg.billing_backoff_hours)
                span = _disabled_s(level, base_h * 3600, cfg.billing_max_hours * 3600)
            else:
                span = _disabled_s(level, cfg.auth_permanent_backoff_minutes * 60, cfg.auth_permanent_max_minutes * 60)
            if st.disabled_until <= now:  # an active window is immutable
                st.disabled_until, st.disabled_reason = now + span, reason
            until = st.disabled_until
        else:
            if st.cooldown_until <= now:
                st.cooldown_until = now + regular_cooldown_s(st.error_count)
                st.cooldown_model = model if reason == "rate_limit" else None
            elif reason != "rate_limit" or model is None or (st.cooldown_model and st.cooldown_model != model):
                st.cooldown_model = None  # widen the scope to every model (docs/design/retry.md#auth-profile-cooldowns)
            st.cooldown_reason = reason
            until = st.cooldown_until
        if retry_after_ms is not None and retry_after_ms > 0:
            st.blocked_until = max(st.blocked_until, now + min(retry_after_ms, 7 * 86400_000) / 1000)
            until = max(until, st.blocked_until)
        self.publish(CooldownChanged(provider=provider, profile=profile, reason=reason, until_wall=until,
                                     level=level, lane=lane, model=st.cooldown_model))
        return st

    def mark_classified(self, provider: str, c: Classification, *, profile: str = DEFAULT_PROFILE,
                        model: str | None = None) -> ProfileState | None:
        """:meth:`mark_failure` from a classification; None when the class benches nothing."""
        reason = cooldown_reason(c)
        if reason is None:
            return None
        ra = c.retry_after_ms if c.error_class in (ErrorClass.RATE_LIMIT, ErrorClass.QUOTA) else None
        return self.mark_failure(provider, reason, profile=profile, model=model, retry_after_ms=ra)

    def mark_success(self, provider: str, *, profile: str = DEFAULT_PROFILE) -> None:
        """A call succeeded: reset everything (OpenClaw's ``markAuthProfileUsed``)."""
        st = self.state(provider, profile)
        was_benched = st.error_count > 0 or st.unusable_until(self.clock()) > 0
        self._state[(provider, profile)] = ProfileState(last_used=self.clock())
        if was_benched:
            self.publish(CooldownChanged(provider=provider, profile=profile, reason="success", until_wall=0.0,
                                         level=0, lane="cleared"))

    def available_at(self, provider: str, *, profile: str | None = None, model: str | None = None) -> float:
        """Wall time when ``provider`` (a given profile, or its best one) is usable for ``model``."""
        if provider in BYPASS_PROVIDERS:
            return 0.0
        states = ([self.state(provider, profile)] if profile is not None
                  else [s for (p, _), s in self._state.items() if p == provider])
        if not states:
            return 0.0
        return min(s.unusable_until(self.clock(), model) for s in states)

    def is_available(self, provider: str, *, profile: str | None = None, model: str | None = None) -> bool:
        return self.available_at(provider, profile=profile, model=model) <= self.clock()

    def order_profiles(self, provider: str, profiles: Sequence[str], *, model: str | None = None) -> list[str]:
        """Round-robin order (docs/design/retry.md#profile-order): usable profiles by ``last_used`` (oldest first), then
        the cooling ones by soonest expiry."""
        now = self.clock()

        def key(p: str) -> tuple[int, float]:
            st = self.state(provider, p)
            until = st.unusable_until(now, model)
            return (1, until) if until > now else (0, st.last_used)

        return sorted(profiles, key=key)
