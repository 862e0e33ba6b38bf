"""Simulated rate limits and the headers that report them (docs/design/retry.md#rate-limit-headers).

Each model has up to three continuously refilling token buckets, as Anthropic describes its
limiter: requests per minute, input tokens per minute (uncached input + cache writes; cache reads
are free) and output tokens per minute (charged as ``max_tokens`` up front, corrected to the
real count when the reply ends). A bucket holds one minute's allowance and starts full, so a
burst of ``rpm`` requests passes and the next one waits ``60 / rpm`` seconds.

Headers use the real names and formats: Anthropic ``anthropic-ratelimit-{requests,input-tokens,
output-tokens,tokens}-{limit,remaining,reset}`` with RFC 3339 reset times (the moment the bucket
is full again) and OpenAI ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` with Go-style
durations (``12ms``, ``1.5s``, ``6m0s``). Remaining counts are exact (Anthropic rounds token
counts to thousands, which would hide the small limits tests use). Unlimited buckets send none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Callable

__all__ = ["Admission", "RateLimiter", "anthropic_headers", "go_duration", "openai_headers"]

BUCKETS = ("requests", "input_tokens", "output_tokens")


@dataclasses.dataclass(slots=True)
class _Bucket:
    limit: int
    level: float
    updated: float

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + (now - self.updated) * self.limit / 60.0)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (a full minute if it never fits)."""
        if amount <= self.level:
            return 0.0
        if amount > self.limit:
            return 60.0
        return (amount - self.level) * 60.0 / self.limit

    def reset_in(self) -> float:
        """Seconds until the bucket is full again."""
        return (self.limit - self.level) * 60.0 / self.limit


@dataclasses.dataclass(frozen=True, slots=True)
class Admission:
    """Whether a request may run; when not, which bucket ran dry and for how long."""

    allowed: bool
    limited_by: str | None = None
    retry_after_s: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class BucketState:
    """One bucket as reported in headers."""

    limit: int
    remaining: int
    reset_s: float


class RateLimiter:
    """Per-model buckets for the configured limits (0 = unlimited)."""

    def __init__(self, *, rpm: int, input_tpm: int, output_tpm: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = {"requests": rpm, "input_tokens": input_tpm, "output_tokens": output_tpm}
        self._clock = clock
        self._models: dict[str, dict[str, _Bucket]] = {}

    @property
    def active(self) -> bool:
        """True when any limit is configured."""
        return any(self._limits.values())

    def _buckets(self, model: str) -> dict[str, _Bucket]:
        buckets = self._models.get(model)
        now = self._clock()
        if buckets is None:
            buckets = {name: _Bucket(limit, float(limit), now) for name, limit in self._limits.items() if limit > 0}
            self._models[model] = buckets
        for bucket in buckets.values():
            bucket.refill(now)
        return buckets

    def admit(self, model: str, *, input_tokens: int, output_estimate: int) -> Admission:
        """Take one request, its input and its estimated output, or refuse all three."""
        buckets = self._buckets(model)
        cost = {"requests": 1, "input_tokens": input_tokens, "output_tokens": output_estimate}
        waits = {name: bucket.wait_for(cost[name]) for name, bucket in buckets.items()}
        short = {name: wait for name, wait in waits.items() if wait > 0}
        if short:
            name = max(short, key=short.__getitem__)
            return Admission(False, name, short[name])
        for name, bucket in buckets.items():
            bucket.level -= cost[name]
        return Admission(True)

    def settle(self, model: str, *, output_estimate: int, output_tokens: int) -> None:
        """Correct the output charge once the real count is known (refund or extra charge)."""
        bucket = self._buckets(model).get("output_tokens")
        if bucket is not None:
            bucket.level = min(bucket.limit, bucket.level + output_estimate - output_tokens)

    def state(self, model: str) -> dict[str, BucketState]:
        """The configured buckets of ``model`` right now."""
        return {
            name: BucketState(bucket.limit, max(0, math.floor(bucket.level)), bucket.reset_in())
            for name, bucket in self._buckets(model).items()
        }


def _combined(state: dict[str, BucketState]) -> BucketState | None:
    """Input and output together (Anthropic's ``tokens-*`` and OpenAI's ``*-tokens``)."""
    parts = [state[name] for name in ("input_tokens", "output_tokens") if name in state]
    if not parts:
        return None
    return BucketState(sum(p.limit for p in parts), sum(p.remaining for p in parts), max(p.reset_s for p in parts))


def _rfc3339(seconds_from_now: float) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=math.ceil(seconds_from_now))
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def anthropic_headers(state: dict[str, BucketState]) -> list[tuple[str, str]]:
    """``anthropic-ratelimit-*`` headers for the configured buckets."""
    named = {
        "requests": state.get("requests"),
        "input-tokens": state.get("input_tokens"),
        "output-tokens": state.get("output_tokens"),
        "tokens": _combined(state),
    }
    headers: list[tuple[str, str]] = []
    for name, bucket in named.items():
        if bucket is not None:
            headers += [
                (f"anthropic-ratelimit-{name}-limit", str(bucket.limit)),
                (f"anthropic-ratelimit-{name}-remaining", str(bucket.remaining)),
                (f"anthropic-ratelimit-{name}-reset", _rfc3339(bucket.reset_s)),
            ]
    return headers


def openai_headers(state: dict[str, BucketState]) -> list[tuple[str, str]]:
    """``x-ratelimit-*`` headers for the configured buckets."""
    headers: list[tuple[str, str]] = []
    for name, bucket in (("requests", state.get("requests")), ("tokens", _combined(state))):
        if bucket is not None:
            headers += [
                (f"x-ratelimit-limit-{name}", str(bucket.limit)),
                (f"x-ratelimit-remaining-{name}", str(bucket.remaining)),
                (f"x-ratelimit-reset-{name}", go_duration(bucket.reset_s)),
            ]
    return headers


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration`` text at millisecond precision: ``0s``, ``12ms``, ``1.5s``, ``6m0s``."""
    ms = max(0, round(seconds * 1000))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
