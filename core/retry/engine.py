"""The retry engine: one owner for every provider and channel call (docs/design/retry.md#one-retry-owner), built on
tenacity's ``AsyncRetrying`` with our own hooks.

How the tenacity hooks split the decision (tenacity calls them in this order after a failure):

* ``retry=`` — *may this failure be repeated here?* class (docs/design/retry.md#error-classification),
  ``x-should-retry``, and the call site's safety (docs/design/retry.md#call-site-safety: a non-idempotent operation only
  on ``connection_before_send`` and 429);
* ``wait=`` — *how long?* the jitter mode's delay with Retry-After as a hard floor
  (docs/design/retry.md#retry-after-as-a-hard-floor, docs/design/retry.md#jitter-modes);
* ``stop=`` — *can we afford it?* attempts, a Retry-After above ``maxRetryAfterMs``
  (docs/design/retry.md#no-silent-long-waits), the caller's deadline and the policy's window
  (docs/design/retry.md#one-retry-owner), then the retry budget (docs/design/retry.md#retry-budget) — the token is only
  taken when everything else allowed the retry;
* ``before_sleep=`` publishes the attempt's :class:`RetryAttempt`; the ``sleep=`` hook sleeps
  until ``response end + planned delay`` (time spent in between counts,
  docs/design/retry.md#retry-after-as-a-hard-floor) and the next attempt records the measured gap.

The engine owns the deadline: each attempt sees an :class:`AttemptContext` (also readable via
:func:`current_attempt`) whose ``remaining()`` inner layers clamp their timeouts to, and an
attempt still running at the caller's deadline is cancelled — so nothing hangs.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState

from core.deadline import current_scope, scope_var
from core.events.base import Event
from core.provider_errors import ProviderTimeoutError
from core.retry.budget import RetryBudgets
from core.retry.classify import Classification, ErrorClass, classify, is_failover_worthy
from core.retry.events import (
    INFINITE_MS,
    AttemptOutcome,
    OperationOutcome,
    RetryAttempt,
    RetryBudgetExhausted,
    RetryNestedSuppressed,
    RetryOperationFinished,
)
from core.retry.jitter import Random, plan_delay, secure_random
from core.retry.policy import RetryPolicy
from core.retry.records import (
    AttemptRecord,
    NonRetryable,
    OperationRecord,
    Outcome,
    RetryAfterTooLong,
    RetryExhausted,
    RetryFailed,
    human_ms,
)

__all__ = ["AttemptContext", "AttemptDeadlineExceeded", "RetryEngine", "current_attempt", "fallback_available"]

T = TypeVar("T")

fallback_available: contextvars.ContextVar[bool] = contextvars.ContextVar("clawtop_fallback_available", default=False)
"""Set by the fallback chain while it calls a candidate that has a successor, so the engine
fails over at once on an over-long Retry-After instead of failing (docs/design/retry.md#no-silent-long-waits)."""


def current_attempt() -> AttemptContext | None:
    """The retry scope of the running attempt, if any (inner layers clamp timeouts to it through
    :mod:`core.deadline`, which holds it)."""
    scope = current_scope()
    return scope if isinstance(scope, AttemptContext) else None


class AttemptDeadlineExceeded(TimeoutError):
    """The operation's deadline passed while an attempt was running; the attempt was cancelled."""


@dataclass(slots=True)
class AttemptContext:
    """What one attempt knows about itself: numbering and the time it has left."""

    op_id: str
    operation: str
    provider: str | None
    attempt: int
    max_attempts: int
    idempotent: bool
    deadline_mono: float | None
    clock: Callable[[], float] = field(repr=False, default=time.monotonic)

    def remaining(self) -> float | None:
        """Seconds until the deadline (≥ 0), or None when unbounded."""
        if self.deadline_mono is None:
            return None
        return max(0.0, self.deadline_mono - self.clock())

    def timeout(self, default: float) -> float:
        """``default`` seconds clamped to :meth:`remaining` — what an HTTP client should use."""
        left = self.remaining()
        return default if left is None else min(default, left)


@dataclass(slots=True)
class _Decision:
    retry: bool = False
    reason: str = ""
    delay_ms: int = 0
    classification: Classification | None = None


class _Operation:
    """State and tenacity hooks of one ``run`` call."""

    def __init__(self, engine: RetryEngine, call: Callable[[AttemptContext], Awaitable[Any]], *, policy: RetryPolicy,
                 operation: str, provider: str | None, model: str | None, idempotent: bool,
                 deadline_ms: int | None, op_id: str, budget_key: str | None, nested_in: AttemptContext | None) -> None:
        self.e, self.call, self.policy = engine, call, policy
        self.provider, self.model, self.idempotent = provider, model, idempotent
        self.record = OperationRecord(op_id=op_id, operation=operation, provider=provider, policy=policy.describe())
        now = engine.clock()
        self.caller_deadline = now + deadline_ms / 1000 if deadline_ms is not None else None
        self.first_failure: float | None = None
        self.saw_rate_limit = False
        self.prev_delay_ms: float | None = None
        self.decision = _Decision()
        self.nested_in = nested_in
        self.bucket = (engine.budgets.bucket(budget_key or provider or operation.split(":")[0], policy.budget)
                       if policy.budget is not None else None)
        self.budget_key = budget_key or provider or operation.split(":")[0]
        self.has_fallback = fallback_available.get()

    # --- attempts ---------------------------------------------------------------------------

    @property
    def max_attempts(self) -> int:
        return 1 if self.nested_in is not None else self.policy.max_attempts(self.saw_rate_limit)

    @property
    def max_attempts_reason(self) -> str:
        """Why :attr:`max_attempts` differs from the policy's ``attempts`` (see ``RetryAttempt``)."""
        if self.nested_in is not None:
            return "nested"
        return "rate_limit" if self.max_attempts != self.policy.attempts else ""

    def deadline(self) -> float | None:
        """The earlier of the caller's deadline and the policy window (once a failure started it)."""
        window = (self.first_failure + self.policy.deadline_ms / 1000
                  if self.first_failure is not None and self.policy.deadline_ms > 0 else None)
        bounds = [d for d in (self.caller_deadline, window) if d is not None]
        return min(bounds) if bounds else None

    async def attempt(self) -> Any:
        e = self.e
        start = e.clock()
        rec = AttemptRecord(n=len(self.record.attempts) + 1, start_wall=e.wall(), start_mono=start)
        if self.record.attempts:
            rec.slept_ms = max(0, round((start - self.record.attempts[-1].end_mono) * 1000))
        self.record.attempts.append(rec)
        self.decision = _Decision()
        ctx = AttemptContext(self.record.op_id, self.record.operation, self.provider, rec.n, self.max_attempts,
                             self.idempotent, self.caller_deadline, e.clock)
        token = scope_var.set(ctx)
        try:
            left = ctx.remaining()
            if left is None:
                return await self.call(ctx)
            try:
                async with asyncio.timeout(left):
                    return await self.call(ctx)
            except TimeoutError as exc:
                if e.clock() >= (self.caller_deadline or math.inf) - 1e-3:
                    raise AttemptDeadlineExceeded(
                        f"{self.record.operation}: deadline reached during attempt {rec.n}") from exc
                raise
        finally:
            scope_var.reset(token)
            rec.end_mono, rec.end_wall = e.clock(), e.wall()

    # --- tenacity hooks ---------------------------------------------------------------------

    def retry(self, rs: RetryCallState) -> bool:
        """``retry=``: may this failure be repeated by this call site at all?"""
        out = rs.outcome
        if out is None or not out.failed:
            return False
        exc = out.exception()
        if not isinstance(exc, Exception):  # cancellation, KeyboardInterrupt: never retried
            self.decision = _Decision(reason="cancelled")
            return False
        c = classify(exc, now_wall=self.e.wall())
        rec = self.record.attempts[-1]
        rec.status, rec.error_class = c.status, c.error_class.value
        rec.reason, rec.retry_after_ms = c.reason, c.retry_after_ms
        if self.first_failure is None:
            self.first_failure = rec.end_mono
        if c.error_class is ErrorClass.RATE_LIMIT:
            self.saw_rate_limit = True
        self.decision = _Decision(classification=c)
        if c.error_class is ErrorClass.CONTEXT_OVERFLOW:
            self.decision.reason = "context_overflow"
        elif not c.retryable:
            self.decision.reason = "non_transient"
        elif c.after_first_token:
            # output already delivered onward (docs/design/retry.md#call-site-safety)
            self.decision.reason = "unsafe_to_repeat"
        elif not self.idempotent and not (c.error_class is ErrorClass.CONNECTION_BEFORE_SEND or c.status == 429):
            self.decision.reason = "unsafe_to_repeat"
        else:
            return True
        return False

    def wait(self, rs: RetryCallState) -> float:
        """``wait=``: the planned delay in seconds (the hint floor and jitter,
        docs/design/retry.md#retry-after-as-a-hard-floor, docs/design/retry.md#jitter-modes)."""
        c = self.decision.classification
        assert c is not None
        ra = c.retry_after_ms
        if ra is not None and (not math.isfinite(ra) or ra > self.policy.max_retry_after_ms):
            return 0.0  # refused in stop(); never planned, never slept
        p = self.policy
        plan = plan_delay(mode=p.jitter_mode, retry_n=rs.attempt_number, min_delay_ms=p.min_delay_ms,
                          max_delay_ms=p.max_delay_ms, jitter=p.jitter, retry_after_jitter=p.retry_after_jitter,
                          hint_ms=ra, prev_delay_ms=self.prev_delay_ms, random=self.e.random)
        self.decision.delay_ms = plan.delay_ms
        return plan.delay_ms / 1000

    def stop(self, rs: RetryCallState) -> bool:
        """``stop=``: can another attempt be afforded (attempts, hint cap, deadlines, budget)?"""
        d, rec = self.decision, self.record.attempts[-1]
        c = d.classification
        assert c is not None
        ra = c.retry_after_ms
        ready_at = rec.end_mono + d.delay_ms / 1000
        if self.nested_in is not None:
            d.reason = "nested_suppressed"
        elif rs.attempt_number >= self.max_attempts:
            d.reason = "attempts_exhausted"
        elif ra is not None and (not math.isfinite(ra) or ra > self.policy.max_retry_after_ms):
            d.reason = "retry_delay_exceeds_cap"
        elif self.caller_deadline is not None and ready_at >= self.caller_deadline:
            d.reason = "deadline_exceeded"
        elif (self.policy.deadline_ms > 0 and self.first_failure is not None
              and ready_at > self.first_failure + self.policy.deadline_ms / 1000):
            d.reason = "retry_delay_unavailable"
        elif self.bucket is not None and not self.bucket.try_take():
            d.reason = "retry_budget_exhausted"
            self.e.publish(RetryBudgetExhausted(provider=self.budget_key, op_id=self.record.op_id,
                                                operation=self.record.operation, tokens=self.bucket.tokens))
        else:
            d.retry = True
            return False
        return True

    def before_sleep(self, rs: RetryCallState) -> None:
        """``before_sleep=``: the attempt is over and will be retried — publish it."""
        rec = self.record.attempts[-1]
        rec.planned_delay_ms, rec.outcome, rec.decision_reason = self.decision.delay_ms, "retry", "retry"
        self.prev_delay_ms = self.decision.delay_ms
        self._publish_attempt(rec, self.decision.classification, "retry")

    async def sleep(self, seconds: float) -> None:
        """``sleep=``: sleep until the previous response's end + the planned delay."""
        target = self.record.attempts[-1].end_mono + seconds
        left = target - self.e.clock()
        if left > 0:
            await self.e.sleep(left)

    # --- events -----------------------------------------------------------------------------

    def _publish_attempt(self, rec: AttemptRecord, c: Classification | None, outcome: AttemptOutcome) -> None:
        hint = c.hint if c else None
        ra = rec.retry_after_ms
        deadline = self.deadline()
        self.e.publish(RetryAttempt(
            op_id=self.record.op_id, operation=self.record.operation, provider=self.provider, model=self.model,
            attempt=rec.n, max_attempts=self.max_attempts, idempotent=self.idempotent, outcome=outcome,
            error_class=rec.error_class, reason=rec.reason, status=rec.status, planned_delay_ms=rec.planned_delay_ms,
            slept_ms=rec.slept_ms,
            retry_after_ms=None if ra is None else (INFINITE_MS if not math.isfinite(ra) else math.ceil(ra)),
            retry_after_raw=hint.raw if hint else None, retry_after_source=hint.source if hint else None,
            decision_reason=rec.decision_reason, policy=self.record.policy, start=rec.start_wall, end=rec.end_wall,
            duration_ms=round((rec.end_mono - rec.start_mono) * 1000),
            budget_tokens=round(self.bucket.tokens, 3) if self.bucket is not None else None,
            deadline_remaining_ms=None if deadline is None else max(0, int((deadline - self.e.clock()) * 1000)),
            max_attempts_reason=self.max_attempts_reason,
        ))

    def finish(self, outcome: OperationOutcome, error: RetryFailed | None, reason: str) -> None:
        rec = self.record.attempts[-1]
        rec.outcome, rec.decision_reason = outcome, reason
        self.record.outcome, self.record.decision_reason = outcome, reason
        c = self.decision.classification
        if error is not None:
            self.record.error, self.record.error_class = error.message, (c.error_class.value if c else None)
        self._publish_attempt(rec, c, outcome)
        self.e.publish(RetryOperationFinished(
            op_id=self.record.op_id, operation=self.record.operation, provider=self.provider, outcome=outcome,
            attempts=len(self.record.attempts), total_ms=self.record.total_ms, error_class=self.record.error_class,
            decision_reason=reason, error=self.record.error or "", settings_version=self.e.settings_version()))

    def failure(self, exc: Exception) -> RetryFailed:
        """The final error for the caller, with a message that says what happened and why."""
        d = self.decision
        c = d.classification or classify(exc)
        n, what = len(self.record.attempts), self.model or self.provider or self.record.operation
        status = f" HTTP {c.status}" if c.status is not None else ""
        tried = f"{n} attempt{'s' if n != 1 else ''}"
        base = f"{self.record.operation}: {c.error_class.value}{status} ({c.reason}) after {tried}"
        failover = is_failover_worthy(c) and self.has_fallback and d.reason not in ("unsafe_to_repeat",)
        kw: dict[str, Any] = dict(record=self.record, classification=c, decision_reason=d.reason, failover=failover)
        # A provider timeout's own words say which limit expired (first byte, idle, deadline);
        # they are clawtop's text, never the server's, so they are safe to repeat.
        last = f" Last attempt: {exc.message}." if isinstance(exc, ProviderTimeoutError) else ""
        if d.reason == "retry_delay_exceeds_cap":
            ra, cap = c.retry_after_ms or math.inf, self.policy.max_retry_after_ms
            raw = f"{c.hint.source}: {c.hint.raw}" if c.hint else "?"
            msg = (f"{what} {_long_wait_state(c)}: the server asked to wait {ra / 1000:g} s ({human_ms(ra)}; {raw}), "
                   f"above maxRetryAfterMs {cap} ({human_ms(cap)}). "
                   + ("Failing over." if failover else "Not retrying."))
            return RetryAfterTooLong(msg, retry_after_ms=ra, cap_ms=cap, **kw)
        if d.reason == "unsafe_to_repeat":
            why = ("output had already streamed" if c.after_first_token else
                   "the request may have reached the server and the operation is not safe to repeat")
            return NonRetryable(f"{base}; not retried: {why} — it may already have taken effect.{last}", **kw)
        if d.reason in ("non_transient", "context_overflow", "cancelled", "nested_suppressed"):
            extra = {"context_overflow": "; handed back to the caller (compaction)",
                     "nested_suppressed": "; an outer retry owner decides"}.get(d.reason, "; not retryable")
            return NonRetryable(f"{base}{extra}.{last}", **kw)
        detail = {
            "attempts_exhausted": f"all {self.max_attempts} attempts used",
            "deadline_exceeded": "the operation's deadline left no room for another attempt",
            "retry_delay_unavailable": f"the next retry would end past the {self.policy.deadline_ms} ms retry window",
            "retry_budget_exhausted": f"the retry budget for {self.budget_key} is empty",
        }.get(d.reason, d.reason)
        return RetryExhausted(f"{base}; gave up: {detail}.{last}", **kw)


def _long_wait_state(c: Classification) -> str:
    """What the server said about itself when it asked for a wait too long to sleep: its class in
    words, so a 503 with a long Retry-After reads as unavailable, not as a rate limit."""
    status = f" (HTTP {c.status})" if c.status is not None else ""
    match c.error_class:
        case ErrorClass.RATE_LIMIT | ErrorClass.QUOTA:
            return "is rate limited"
        case ErrorClass.OVERLOADED:
            return f"is overloaded{status}"
        case ErrorClass.SERVER:
            return f"is unavailable: server error{status}"
        case ErrorClass.TIMEOUT:
            return f"timed out{status}"
        case _:
            return f"failed: {c.error_class.value}{status}"


class RetryEngine:
    """Runs operations with retries. One instance per gateway; cheap to share.

    ``publish`` receives every retry event (usually ``EventBus.publish``); ``clock`` (monotonic
    seconds), ``sleep``, ``wall`` and ``random`` are injectable so tests can check delay math
    without waiting. ``budgets`` holds the per-provider token buckets.
    """

    def __init__(self, publish: Callable[[Event], None], *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, wall: Callable[[], float] = time.time,
                 random: Random = secure_random, budgets: RetryBudgets | None = None,
                 settings_version: Callable[[], str | None] = lambda: None) -> None:
        self.publish = publish
        self.settings_version = settings_version
        self.clock, self.sleep, self.wall, self.random = clock, sleep, wall, random
        self.budgets = budgets or RetryBudgets(clock=clock)

    async def run(self, call: Callable[[AttemptContext], Awaitable[T]], *, policy: RetryPolicy, operation: str,
                  provider: str | None, idempotent: bool, deadline_ms: int | None = None, op_id: str | None = None,
                  model: str | None = None, budget_key: str | None = None) -> T:
        """Run ``call`` with retries and return its value; raise a :class:`RetryFailed`
        subclass (with ``.record``) when it fails for good. ``idempotent`` has no default on
        purpose: every call site must say whether the operation is safe to repeat
        (docs/design/retry.md#call-site-safety)."""
        return (await self.run_outcome(call, policy=policy, operation=operation, provider=provider,
                                       idempotent=idempotent, deadline_ms=deadline_ms, op_id=op_id, model=model,
                                       budget_key=budget_key)).value

    async def run_outcome(self, call: Callable[[AttemptContext], Awaitable[T]], *, policy: RetryPolicy,
                          operation: str, provider: str | None, idempotent: bool, deadline_ms: int | None = None,
                          op_id: str | None = None, model: str | None = None,
                          budget_key: str | None = None) -> Outcome[T]:
        """Like :meth:`run`, but return the value together with the :class:`OperationRecord`."""
        outer = current_attempt()
        nested = outer if outer is not None and outer.operation == operation else None
        op = _Operation(self, call, policy=policy, operation=operation, provider=provider, model=model,
                        idempotent=idempotent, deadline_ms=deadline_ms, op_id=op_id or uuid.uuid4().hex[:12],
                        budget_key=budget_key, nested_in=nested)
        if nested is not None:
            self.publish(RetryNestedSuppressed(op_id=op.record.op_id, operation=operation, outer_op_id=nested.op_id))
        retrying = AsyncRetrying(sleep=op.sleep, stop=op.stop, wait=op.wait, retry=op.retry,
                                 before_sleep=op.before_sleep, reraise=True)
        try:
            value: T = await retrying(op.attempt)
        except Exception as exc:
            err = op.failure(exc)
            op.finish("failover" if err.failover else "fail", err, op.decision.reason)
            raise err from exc
        except BaseException:
            op.decision.reason = op.decision.reason or "cancelled"
            op.finish("cancelled", None, "cancelled")
            raise
        if op.bucket is not None and len(op.record.attempts) == 1:
            op.bucket.credit_success()
        op.finish("ok", None, "done")
        return Outcome(value, op.record)
