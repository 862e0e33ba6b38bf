"""The retry engine: one owner for every provider and channel call (retry spec, §16 in particular).

Public API:

* :class:`RetryEngine` — ``await engine.run(call, policy=…, operation=…, provider=…,
  idempotent=…)`` returns the value; ``run_outcome`` returns ``Outcome(value, record)``; failures
  raise :class:`RetryFailed` subclasses carrying ``.record`` (an :class:`OperationRecord`).
* :class:`RetryPolicy` — ``for_provider`` / ``for_channel`` / ``from_config`` builders.
* :func:`classify` / :class:`ErrorClass` / :class:`Classification` — failure classes (§8, §16.3).
* :func:`plan_delay` — jitter modes with Retry-After as a hard floor (§16.1, §16.5).
* :class:`RetryBudgets` / :class:`TokenBucket` — per-provider retry budget (§16.6).
* :class:`CooldownTracker` — auth-profile cooldown ladders (§10.1–10.3).
* :class:`FallbackChain` — model fallback chain (§10.4).
* Events in :mod:`core.retry.events`.
"""

from core.retry.budget import BudgetSettings, RetryBudgets, TokenBucket
from core.retry.classify import Classification, ErrorClass, classify, is_failover_worthy
from core.retry.cooldown import CooldownTracker, ProfileState
from core.retry.engine import AttemptContext, AttemptDeadlineExceeded, RetryEngine, current_attempt
from core.retry.events import (
    CooldownChanged,
    Failover,
    RetryAttempt,
    RetryBudgetExhausted,
    RetryNestedSuppressed,
    RetryOperationFinished,
)
from core.retry.failover import FallbackChain, FallbackExhausted
from core.retry.jitter import DelayPlan, plan_delay
from core.retry.policy import RetryPolicy
from core.retry.records import (
    AttemptRecord,
    NonRetryable,
    OperationRecord,
    Outcome,
    RetryAfterTooLong,
    RetryExhausted,
    RetryFailed,
)
from core.retry.retry_after import RetryAfterHint, hint_from_exception, hint_from_headers, parse_retry_after

__all__ = [
    "AttemptContext",
    "AttemptDeadlineExceeded",
    "AttemptRecord",
    "BudgetSettings",
    "Classification",
    "CooldownChanged",
    "CooldownTracker",
    "DelayPlan",
    "ErrorClass",
    "Failover",
    "FallbackChain",
    "FallbackExhausted",
    "NonRetryable",
    "OperationRecord",
    "Outcome",
    "ProfileState",
    "RetryAfterHint",
    "RetryAfterTooLong",
    "RetryAttempt",
    "RetryBudgetExhausted",
    "RetryBudgets",
    "RetryEngine",
    "RetryExhausted",
    "RetryFailed",
    "RetryNestedSuppressed",
    "RetryOperationFinished",
    "RetryPolicy",
    "TokenBucket",
    "classify",
    "current_attempt",
    "hint_from_exception",
    "hint_from_headers",
    "is_failover_worthy",
    "parse_retry_after",
    "plan_delay",
]
