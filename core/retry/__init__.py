"""The retry engine: one owner for every provider and channel call (docs/design/retry.md,
docs/design/retry.md#clawtop-goes-further in particular).

Public API:

* :class:`RetryEngine` — ``await engine.run(call, policy=…, operation=…, provider=…,
  idempotent=…)`` returns the value; ``run_outcome`` returns ``Outcome(value, record)``; failures
  raise :class:`RetryFailed` subclasses carrying ``.record`` (an :class:`OperationRecord`).
* :class:`RetryPolicy` — ``for_provider`` / ``for_channel`` / ``from_config`` builders.
* :func:`classify` / :class:`ErrorClass` / :class:`Classification` — failure classes
  (docs/design/retry.md#error-classification, docs/design/retry.md#call-site-safety).
* :func:`plan_delay` — jitter modes with Retry-After as a hard floor (docs/design/retry.md#retry-after-as-a-hard-floor,
  docs/design/retry.md#jitter-modes).
* :class:`RetryBudgets` / :class:`TokenBucket` — per-provider retry budget (docs/design/retry.md#retry-budget).
* :class:`CooldownTracker` — auth-profile cooldown ladders (docs/design/retry.md#auth-profile-cooldowns,
  docs/design/retry.md#profile-order).
* :class:`FallbackChain` — model fallback chain (docs/design/retry.md#model-fallback-chain).
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
