"""Per-provider retry budget: a token bucket shared by every operation on that provider (or
channel account), docs/design/retry.md#retry-budget.

Why: retries are "selfish" (AWS Builders' Library, docs/design/retry.md#why-jitter) — when a provider is down, every
operation retrying N times multiplies the load on it by N. With a bucket, first attempts are
free, each retry costs one token, and the bucket only refills slowly over time and through
first-attempt successes, so a sick provider sees roughly its normal traffic plus ``burst``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core.config.schema.retry import RetryBudget

__all__ = ["BudgetSettings", "RetryBudgets", "TokenBucket"]


@dataclass(frozen=True, slots=True)
class BudgetSettings:
    """Bucket shape: ``burst`` tokens, ``refill_per_second``, ``success_credit`` per first-attempt
    success. No defaults of its own: they are ``retry.budget``'s (:meth:`from_config`)."""

    burst: int
    refill_per_second: float
    success_credit: float

    @classmethod
    def from_config(cls, budget: RetryBudget) -> BudgetSettings:
        """The bucket shape of a resolved ``retry.budget``."""
        return cls(budget.burst, budget.refill_per_second, budget.success_credit)


class TokenBucket:
    """One bucket. Starts full. Not thread-safe: lives on the event loop like its users."""

    def __init__(self, settings: BudgetSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._tokens = float(settings.burst)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._at = now
        self._tokens = min(float(self.settings.burst), self._tokens + elapsed * self.settings.refill_per_second)

    @property
    def tokens(self) -> float:
        """Tokens available now (for the dashboard and events)."""
        self._refill()
        return self._tokens

    def try_take(self) -> bool:
        """Spend one token for a retry; False (and nothing spent) when fewer than one is left."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def credit_success(self) -> None:
        """A first attempt succeeded: earn back ``success_credit`` tokens, up to ``burst``."""
        self._refill()
        self._tokens = min(float(self.settings.burst), self._tokens + self.settings.success_credit)

    def reshape(self, settings: BudgetSettings) -> None:
        """Apply new settings (config hot reload) keeping the current level, capped to the new burst."""
        self._refill()
        self.settings = settings
        self._tokens = min(self._tokens, float(settings.burst))


class RetryBudgets:
    """Buckets by key (provider id, or ``telegram:<account>``), created on first use."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, key: str, settings: BudgetSettings) -> TokenBucket:
        """The bucket for ``key``; settings changes are applied in place (level kept)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(settings, clock=self._clock)
        elif bucket.settings != settings:
            bucket.reshape(settings)
        return bucket

    def snapshot(self) -> dict[str, float]:
        """Tokens per key, for display."""
        return {key: bucket.tokens for key, bucket in self._buckets.items()}
