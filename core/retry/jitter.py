"""Backoff delay for one retry: the four jitter modes and the Retry-After hard floor
(docs/design/retry.md#delay-algorithm, docs/design/retry.md#retry-after-as-a-hard-floor,
docs/design/retry.md#jitter-modes).

Why jitter at all: clients that failed together and retry on the same schedule fail together
again (AWS "Exponential Backoff And Jitter", docs/design/retry.md#why-jitter). Why a hard floor: a server that says
"retry after 2 s" rejects an earlier retry, so jitter may only move a hinted wait *later*, and
``maxDelayMs`` never clamps it below the hint.

Pure functions with an injectable ``random`` (returns U in [0, 1)) so tests pin every branch.
"""

from __future__ import annotations

import math
import random as _random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["DelayPlan", "JitterMode", "Random", "exp_delay", "plan_delay", "secure_random"]

JitterMode = Literal["none", "proportional", "full", "decorrelated"]
Random = Callable[[], float]

_SYSTEM = _random.SystemRandom()
secure_random: Random = _SYSTEM.random
"""Default U source: OpenClaw draws jitter from a secure RNG since #57744
(docs/design/retry.md#settings-and-normalisation)."""


@dataclass(frozen=True, slots=True)
class DelayPlan:
    """The planned sleep before one retry.

    ``base_ms`` is the delay before jitter (the exponential term, or ``max(ra, minDelayMs)`` for
    a hint), ``delay_ms`` the sleep after jitter and floor, ``floor_ms`` the hint floor (None
    without a hint). ``delay_ms >= floor_ms`` always holds.
    """

    delay_ms: int
    base_ms: int
    floor_ms: int | None


def exp_delay(retry_n: int, min_delay_ms: int, max_delay_ms: int) -> float:
    """``exp(n) = min(maxDelayMs, minDelayMs × 2^(n−1))`` for retry ``n`` ≥ 1 (docs/design/retry.md#jitter-modes)."""
    cap = max(max_delay_ms, min_delay_ms)
    # 2**(n-1) overflows float math only for absurd n; min() keeps it bounded anyway.
    return float(min(cap, min_delay_ms * 2 ** min(retry_n - 1, 62)))


def plan_delay(
    *,
    mode: JitterMode,
    retry_n: int,
    min_delay_ms: int,
    max_delay_ms: int,
    jitter: float,
    retry_after_jitter: float,
    hint_ms: float | None,
    prev_delay_ms: float | None = None,
    random: Random = secure_random,
) -> DelayPlan:
    """Sleep before retry ``retry_n`` (1 = first retry).

    Without a hint (docs/design/retry.md#jitter-modes, "No hint" column):

    * ``none``: ``exp(n)``;
    * ``proportional``: ``clamp(round(exp(n) × (1 + (2U − 1) × jitter)), min, max)`` — OpenClaw's
      symmetric ±ratio (docs/design/retry.md#delay-algorithm), so ``jitter`` 0.5 is its controller's ``exp × (0.5 +
      U)``;
    * ``full``: ``minDelayMs + U × (exp(n) − minDelayMs)``;
    * ``decorrelated``: ``min(max, uniform(min, 3 × d(n−1)))`` with ``d(0) = minDelayMs``
      (``prev_delay_ms`` is ``d(n−1)``).

    With a hint ``ra`` (finite; the caller handles ``inf`` and over-cap hints,
    docs/design/retry.md#no-silent-long-waits): ``max(ra, minDelayMs) + extra`` with ``extra = 0`` for ``none`` and
    ``ceil(U × retryAfterJitter × ra)`` otherwise — never below the hint
    (docs/design/retry.md#retry-after-as-a-hard-floor), and the exponential term is not added on top
    (docs/design/retry.md#retry-after-as-a-hard-floor).
    """
    if retry_n < 1:
        raise ValueError("retry_n counts retries from 1")
    lo = float(min_delay_ms)
    hi = float(max(max_delay_ms, min_delay_ms))
    if hint_ms is not None:
        if not math.isfinite(hint_ms):
            raise ValueError("an infinite Retry-After is never slept; refuse it before planning")
        floor = math.ceil(max(hint_ms, 0.0))
        base = max(floor, min_delay_ms)
        extra = 0 if mode == "none" else math.ceil(random() * retry_after_jitter * hint_ms)
        return DelayPlan(delay_ms=int(base + extra), base_ms=int(base), floor_ms=int(floor))

    exp = exp_delay(retry_n, min_delay_ms, max_delay_ms)
    if mode == "none":
        delay = exp
    elif mode == "proportional":
        delay = min(hi, max(lo, round(exp * (1 + (2 * random() - 1) * jitter))))
    elif mode == "full":
        delay = lo + random() * (exp - lo)
    elif mode == "decorrelated":
        prev = lo if prev_delay_ms is None else float(prev_delay_ms)
        upper = max(lo, 3 * prev)
        delay = min(hi, lo + random() * (upper - lo))
    else:  # pragma: no cover - Literal guards this; keep a clear error for dynamic callers
        raise ValueError(f"unknown jitter mode {mode!r}")
    return DelayPlan(delay_ms=round(min(hi, max(lo, delay))), base_ms=round(exp), floor_ms=None)
