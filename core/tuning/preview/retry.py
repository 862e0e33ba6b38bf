"""Retry what-if: the candidate policy's delay schedule, and a replay of recorded operations.

The schedule comes from :func:`core.retry.jitter.plan_delay` itself. Every delay is a
non-decreasing function of the jitter draw U ∈ [0, 1), so its min / median / max over the jitter
distribution are exact at U = 0, 0.5 and the largest float below 1 — except ``decorrelated``
without a hint, whose delay depends on the previous random delay: its bounds are still exact
(all draws at 0, all at the top) but its median is taken from a seeded sample, and the rows say
so. The replay is in :mod:`core.tuning.preview.replay`.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.config.schema import ClawtopConfig
from core.retry.jitter import Random, plan_delay
from core.retry.policy import RetryPolicy
from core.tuning.preview.format import duration, table
from core.tuning.preview.replay import U_MAX, ReplayedOp

__all__ = ["DelayRow", "RetryPreview", "RetrySchedule", "RetryTarget", "affected_targets", "policy_for",
           "schedule"]

SAMPLE_SEED = 11
SAMPLE_RUNS = 2001


@dataclass(frozen=True, slots=True)
class RetryTarget:
    """Whose policy: ``provider`` (a provider id) or ``channel`` (``telegram`` / ``discord``,
    optionally one ``account``)."""

    provider: str | None = None
    channel: str | None = None
    account: str | None = None

    @property
    def label(self) -> str:
        if self.provider is not None:
            return f"provider {self.provider}"
        return f"channel {self.channel}" + (f" account {self.account}" if self.account else "")


def policy_for(config: ClawtopConfig, target: RetryTarget) -> RetryPolicy:
    """The policy the engine would run ``target``'s operations with under ``config``."""
    if target.provider is not None:
        return RetryPolicy.from_config(config, provider=target.provider)
    return RetryPolicy.from_config(config, channel=target.channel, account=target.account)


def affected_targets(current: ClawtopConfig, candidate: ClawtopConfig, changed: Iterable[str]) -> list[RetryTarget]:
    """The policies a change to ``changed`` reaches whose resolved values differ: the primary
    model's provider for ``retry.*``, the provider or channel named in an override path."""
    found: list[RetryTarget] = []
    primary = candidate.agents.defaults.model.primary.partition("/")[0]
    for path in changed:
        parts = path.split(".")
        target: RetryTarget | None = None
        if parts[0] == "retry":
            target = RetryTarget(provider=primary)
        elif parts[:2] == ["models", "providers"] and len(parts) > 3 and parts[3] == "retry":
            target = RetryTarget(provider=parts[2])
        elif parts[0] == "channels" and len(parts) > 2 and parts[2] == "retry":
            target = RetryTarget(channel=parts[1])
        elif parts[0] == "channels" and len(parts) > 4 and parts[2] == "accounts" and parts[4] == "retry":
            target = RetryTarget(channel=parts[1], account=parts[3])
        if target is not None and target not in found and policy_for(current, target) != policy_for(candidate, target):
            found.append(target)
    return found


@dataclass(frozen=True, slots=True)
class DelayRow:
    """The sleep before retry ``retry`` (1 = the first retry), without and with a Retry-After
    hint: (min, median, max) in ms. ``method`` says how the median was found; ``hinted`` is None
    when the hint is above ``maxRetryAfterMs`` (the engine refuses to sleep it)."""

    retry: int
    plain: tuple[int, int, int]
    method: str
    hinted: tuple[int, int, int] | None

    def to_json(self) -> dict[str, Any]:
        return {"retry": self.retry, "minMs": self.plain[0], "medianMs": self.plain[1], "maxMs": self.plain[2],
                "method": self.method,
                "hinted": None if self.hinted is None else dict(zip(("minMs", "medianMs", "maxMs"), self.hinted,
                                                                    strict=True))}


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """The candidate policy's delay schedule for one target, and the worst case against its
    retry window (``deadlineMs`` from the first failure; 0 = no window)."""

    target: RetryTarget
    policy: str
    current_policy: str
    attempts: int
    rate_limit_attempts: int | None
    hint_ms: int
    rows: tuple[DelayRow, ...]
    worst_total_ms: int
    worst_total_hinted_ms: int | None
    current_worst_total_ms: int
    deadline_ms: int
    refused_from: int | None
    """The first retry whose worst-case sleep would end past the window (None: all fit)."""

    def lines(self) -> list[str]:
        out = [f"  {self.target.label}: {self.policy}", f"    was {self.current_policy}"]
        if not self.rows:
            out.append("    attempts 1: no same-model retries (failover at once)")
            return out
        hint = duration(self.hint_ms)
        rows = [["    retry", "min", "median", "max", f"with Retry-After {hint}: min", "median", "max", ""]]
        for r in self.rows:
            refused = ["refused (> maxRetryAfterMs)", "", ""]
            hinted = [duration(v) for v in r.hinted] if r.hinted is not None else refused
            rows.append([f"    {r.retry}", *(duration(v) for v in r.plain), *hinted,
                         "" if r.method == "exact" else r.method])
        out += table(rows)
        if self.rate_limit_attempts is not None and self.rate_limit_attempts > self.attempts:
            out.append(f"    after a 429 up to {self.rate_limit_attempts} attempts (rateLimitAttempts)")
        window = f"the {duration(self.deadline_ms)} retry window" if self.deadline_ms > 0 else "no retry window"
        hinted_total = ("" if self.worst_total_hinted_ms is None
                        else f", {duration(self.worst_total_hinted_ms)} with the hint")
        out.append(f"    worst-case total wait {duration(self.worst_total_ms)}{hinted_total} "
                   f"(was {duration(self.current_worst_total_ms)}) against {window}")
        if self.refused_from is not None:
            out.append(f"    worst case: retry {self.refused_from} would end past the window and is refused "
                       "(retry_delay_unavailable)")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target.label, "policy": self.policy, "currentPolicy": self.current_policy,
                "attempts": self.attempts, "rateLimitAttempts": self.rate_limit_attempts, "hintMs": self.hint_ms,
                "rows": [r.to_json() for r in self.rows], "worstTotalMs": self.worst_total_ms,
                "worstTotalHintedMs": self.worst_total_hinted_ms, "currentWorstTotalMs": self.current_worst_total_ms,
                "deadlineMs": self.deadline_ms, "refusedFrom": self.refused_from}


def _const(u: float) -> Random:
    """A jitter source that always draws ``u``."""
    return lambda: u


def _chain(policy: RetryPolicy, draws: Iterable[float]) -> list[int]:
    """Delays of retries 1…attempts−1 for one sequence of jitter draws, as the engine chains
    them (``decorrelated`` feeds each delay into the next)."""
    out: list[int] = []
    prev: float | None = None
    for n, u in zip(range(1, policy.attempts), draws, strict=False):
        plan = plan_delay(mode=policy.jitter_mode, retry_n=n, min_delay_ms=policy.min_delay_ms,
                          max_delay_ms=policy.max_delay_ms, jitter=policy.jitter,
                          retry_after_jitter=policy.retry_after_jitter, hint_ms=None, prev_delay_ms=prev,
                          random=_const(u))
        out.append(plan.delay_ms)
        prev = plan.delay_ms
    return out


def _hinted(policy: RetryPolicy, n: int, hint_ms: int) -> tuple[int, int, int] | None:
    if hint_ms > policy.max_retry_after_ms:
        return None
    values = [plan_delay(mode=policy.jitter_mode, retry_n=n, min_delay_ms=policy.min_delay_ms,
                         max_delay_ms=policy.max_delay_ms, jitter=policy.jitter,
                         retry_after_jitter=policy.retry_after_jitter, hint_ms=hint_ms,
                         random=_const(u)).delay_ms for u in (0.0, 0.5, U_MAX)]
    return values[0], values[1], values[2]


def _settings(policy: RetryPolicy) -> str:
    """``describe()`` without the policy's name (the target names it)."""
    return policy.describe().partition(": ")[2]


def _worst_total(policy: RetryPolicy) -> int:
    return sum(_chain(policy, [U_MAX] * policy.attempts))


def schedule(target: RetryTarget, current: RetryPolicy, candidate: RetryPolicy, hint_ms: int) -> RetrySchedule:
    """The candidate policy's schedule for ``target``. Pure CPU work."""
    retries = candidate.attempts - 1
    lows = _chain(candidate, [0.0] * retries)
    mids = _chain(candidate, [0.5] * retries)
    highs = _chain(candidate, [U_MAX] * retries)
    method = "exact"
    if candidate.jitter_mode == "decorrelated" and retries > 1:
        rng = random.Random(SAMPLE_SEED)
        runs = [_chain(candidate, [rng.random() for _ in range(retries)]) for _ in range(SAMPLE_RUNS)]
        # Retry 1 draws from a fixed range (d(0) = minDelayMs): its median stays exact.
        mids = mids[:1] + [round(statistics.median(run[i] for run in runs)) for i in range(1, retries)]
        method = f"sampled median (seed {SAMPLE_SEED}, {SAMPLE_RUNS} runs)"
    rows = tuple(DelayRow(n, (lows[n - 1], mids[n - 1], highs[n - 1]), "exact" if n == 1 else method,
                          _hinted(candidate, n, hint_ms)) for n in range(1, retries + 1))
    hinted = [r.hinted[2] for r in rows if r.hinted is not None]
    refused = None
    if candidate.deadline_ms > 0:
        elapsed = 0
        for r in rows:
            elapsed += r.plain[2]
            if elapsed > candidate.deadline_ms:
                refused = r.retry
                break
    return RetrySchedule(
        target=target, policy=_settings(candidate), current_policy=_settings(current), attempts=candidate.attempts,
        rate_limit_attempts=candidate.rate_limit_attempts, hint_ms=hint_ms, rows=rows,
        worst_total_ms=sum(highs), worst_total_hinted_ms=sum(hinted) if len(hinted) == len(rows) and rows else None,
        current_worst_total_ms=_worst_total(current), deadline_ms=candidate.deadline_ms, refused_from=refused,
    )


@dataclass(frozen=True, slots=True)
class RetryPreview:
    """Schedules of the policies a change reaches, and the replayed operations."""

    schedules: tuple[RetrySchedule, ...]
    replays: tuple[ReplayedOp, ...]
    replay_note: str

    def lines(self) -> list[str]:
        out = ["Retry — delay schedule of the candidate policy"]
        for s in self.schedules:
            out += s.lines()
        if not self.schedules:
            out.append("  no retry policy changes with these values")
        out.append("Retry — recorded operations replayed under the candidate policy")
        out += [line for op in self.replays for line in op.lines()]
        if self.replay_note:
            out.append(f"  {self.replay_note}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"schedules": [s.to_json() for s in self.schedules], "replays": [r.to_json() for r in self.replays],
                "replayNote": self.replay_note}
