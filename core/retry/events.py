"""Event kinds of the retry engine (docs/design/retry.md#retry-events), rendered as a timeline per ``op_id`` by
the Retries pane and persisted by the telemetry store.

Timeline contract:

* every attempt publishes exactly **one** :class:`RetryAttempt`, when the attempt has ended and
  the engine has decided what comes next (``outcome``: ``ok`` | ``retry`` | ``fail`` |
  ``failover`` | ``cancelled``). It is published *before* the backoff sleep, so the pane sees a failure at once;
* ``planned_delay_ms`` is the sleep planned **after** this attempt (0 unless ``outcome`` is
  ``retry``); ``slept_ms`` is the measured sleep that **preceded** this attempt (0 for the
  first). Planned vs actual for one sleep is therefore ``planned_delay_ms`` of attempt n next to
  ``slept_ms`` of attempt n+1 — the same convention as the ``plannedDelayMs`` /
  ``sleptBeforeMs`` fields of docs/design/retry.md#retry-events;
* one :class:`RetryOperationFinished` closes the operation.

No event carries an API key, a URL with credentials or message text. An infinite or
unrepresentable Retry-After is reported as :data:`INFINITE_MS`.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.events.base import Event, register_kind

__all__ = [
    "INFINITE_MS",
    "AttemptOutcome",
    "CooldownLane",
    "OperationOutcome",
    "CooldownChanged",
    "Failover",
    "RetryAttempt",
    "RetryBudgetExhausted",
    "RetryNestedSuppressed",
    "RetryOperationFinished",
]

INFINITE_MS = 2**53 - 1
"""Stand-in for an infinite wait in events (JSON has no Infinity)."""

OperationOutcome = Literal["ok", "fail", "failover", "cancelled"]
"""How an operation ended."""
AttemptOutcome = Literal["ok", "retry", "fail", "failover", "cancelled"]
"""What the engine decided after an attempt: the operation's outcome, or ``retry``."""
CooldownLane = Literal["cooldown", "disabled", "blocked", "cleared"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryAttempt(Event):
    """One attempt of one operation ended, and what the engine decided next.

    ``start``/``end`` are wall-clock seconds of the attempt; ``policy`` a short text such as
    ``"attempts=3 min=1000 max=30000 jitter=proportional"``; ``decision_reason`` uses OpenClaw's
    names (``non_transient``, ``retry_budget_exhausted``, ``retry_delay_unavailable``,
    ``retry_delay_exceeds_cap``, ``deadline_exceeded`` …) plus ``unsafe_to_repeat`` and
    ``attempts_exhausted``.
    """

    kind = "retry.attempt"
    op_id: str
    operation: str
    provider: str | None
    model: str | None
    attempt: int
    max_attempts: int
    idempotent: bool
    outcome: AttemptOutcome
    error_class: str | None
    reason: str | None
    status: int | None
    planned_delay_ms: int
    slept_ms: int
    retry_after_ms: int | None
    retry_after_raw: str | None
    retry_after_source: str | None
    decision_reason: str
    policy: str
    start: float
    end: float
    duration_ms: int
    budget_tokens: float | None
    deadline_remaining_ms: int | None
    max_attempts_reason: str = ""
    """Why ``max_attempts`` is what it is: ``""`` the policy's ``attempts``; ``"rate_limit"`` raised to
    the policy's ``rateLimitAttempts`` after a rate limit; ``"nested"`` one attempt, because an outer
    retry scope owns the retries. Empty in rows stored before the field existed."""


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryOperationFinished(Event):
    """An operation is over: ``outcome`` ``ok`` | ``fail`` | ``failover`` | ``cancelled``;
    ``error`` is the final, user-readable message (empty on success)."""

    kind = "retry.finished"
    op_id: str
    operation: str
    provider: str | None
    outcome: OperationOutcome
    attempts: int
    total_ms: int
    error_class: str | None = None
    decision_reason: str = ""
    error: str = ""
    settings_version: str | None = None
    """The id of the tuning in force when the operation ended (docs/design/tuning.md#settings-version), else
    None."""


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CooldownChanged(Event):
    """An auth profile's availability changed (docs/design/retry.md#auth-profile-cooldowns).

    ``lane``: ``cooldown`` (regular ladder), ``disabled`` (billing / auth_permanent ladders),
    ``blocked`` (provider-reported reset), ``cleared`` (success or expiry). ``until_wall`` is the
    wall-clock end (0 when cleared); ``level`` the failure count the ladder used.
    """

    kind = "retry.cooldown"
    provider: str
    profile: str
    reason: str
    until_wall: float
    level: int
    lane: CooldownLane = "cooldown"
    model: str | None = None


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Failover(Event):
    """The fallback chain moved from one model ref to the next (or skipped one that cools down:
    ``reason`` ``cooldown``)."""

    kind = "retry.failover"
    op_id: str
    from_ref: str
    to_ref: str
    reason: str
    error_class: str | None = None


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryBudgetExhausted(Event):
    """A retry was refused because the provider's (or channel account's) bucket was empty."""

    kind = "retry.budget_exhausted"
    provider: str
    op_id: str = ""
    operation: str = ""
    tokens: float = 0.0


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryNestedSuppressed(Event):
    """A runner found an active retry scope for the same operation and ran one attempt only, so
    retries do not stack (docs/design/retry.md#one-retry-owner)."""

    kind = "retry.nested_suppressed"
    op_id: str
    operation: str
    outer_op_id: str
