"""What an operation leaves behind: per-attempt records, the operation record, the final errors.

Why records and not only events: ``clawtop send --json`` prints the attempts of *its* operation,
and a caller that got an error wants to say exactly what happened ("3 attempts, the server asked
to wait 120 s"). The record is the same facts the events carry, returned to the caller.

API choice: :meth:`RetryEngine.run` returns the value; :meth:`RetryEngine.run_outcome` returns an
:class:`Outcome` (value + record); every failure raises a :class:`RetryFailed` subclass carrying
``.record`` (cancellation is the exception: ``CancelledError`` propagates unchanged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from core.retry.classify import Classification, ErrorClass
from core.retry.events import AttemptOutcome, OperationOutcome

__all__ = [
    "AttemptRecord",
    "NonRetryable",
    "OperationRecord",
    "Outcome",
    "RetryAfterTooLong",
    "RetryExhausted",
    "RetryFailed",
    "human_ms",
]

T = TypeVar("T")


@dataclass(slots=True)
class AttemptRecord:
    """One attempt. ``slept_ms`` is the measured gap between the previous attempt's end and this
    attempt's start (0 for the first); ``planned_delay_ms`` the sleep planned *after* this
    attempt (0 unless ``outcome == "retry"``). ``retry_after_ms`` is the server's hint seen on
    this attempt's failure (``inf`` when unrepresentable)."""

    n: int
    start_wall: float
    start_mono: float
    end_wall: float = 0.0
    end_mono: float = 0.0
    status: int | None = None
    error_class: str | None = None
    reason: str | None = None
    planned_delay_ms: int = 0
    slept_ms: int = 0
    retry_after_ms: float | None = None
    outcome: AttemptOutcome | Literal["pending"] = "pending"
    decision_reason: str = ""

    def as_json(self) -> dict[str, Any]:
        """The ``clawtop send --json`` shape: ``{start, end, status, class, plannedDelayMs,
        sleptMs, retryAfterMs}`` (wall-clock seconds; ``retryAfterMs`` null when none, and
        ``-1`` when the server's wait was unrepresentable)."""
        ra = self.retry_after_ms
        return {
            "start": self.start_wall,
            "end": self.end_wall,
            "status": self.status,
            "class": self.error_class,
            "plannedDelayMs": self.planned_delay_ms,
            "sleptMs": self.slept_ms,
            "retryAfterMs": None if ra is None else (-1 if not math.isfinite(ra) else math.ceil(ra)),
        }


@dataclass(slots=True)
class OperationRecord:
    """All attempts of one operation and how it ended (``ok`` | ``fail`` | ``failover`` |
    ``cancelled``; ``pending`` while running)."""

    op_id: str
    operation: str
    provider: str | None
    policy: str = ""
    attempts: list[AttemptRecord] = field(default_factory=list)
    outcome: OperationOutcome | Literal["pending"] = "pending"
    error: str | None = None
    error_class: str | None = None
    decision_reason: str = ""

    @property
    def total_ms(self) -> int:
        """First attempt start → last attempt end."""
        if not self.attempts:
            return 0
        return round((self.attempts[-1].end_mono - self.attempts[0].start_mono) * 1000)

    def as_json(self) -> dict[str, Any]:
        return {
            "opId": self.op_id,
            "operation": self.operation,
            "provider": self.provider,
            "outcome": self.outcome,
            "error": self.error,
            "class": self.error_class,
            "attempts": [a.as_json() for a in self.attempts],
        }


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A successful operation's value and its record."""

    value: T
    record: OperationRecord


def human_ms(ms: float) -> str:
    """``130320000`` → ``36h 12m``; ``120000`` → ``2m``; ``1500`` → ``1.5 s``."""
    if not math.isfinite(ms):
        return "forever"
    if ms < 60_000:
        return f"{ms / 1000:g} s"
    total_m = int(ms // 60_000)
    h, m = divmod(total_m, 60)
    s = int((ms % 60_000) // 1000)
    if h:
        return f"{h}h {m}m" if m else f"{h}h"
    return f"{m}m {s}s" if s else f"{m}m"


class RetryFailed(Exception):
    """An operation failed for good. ``record`` holds every attempt; ``classification`` the last
    failure's verdict; ``decision_reason`` why no further attempt was made; ``failover`` True
    when a fallback should take over (the class is failover-worthy and replay is still safe).
    The original exception is ``__cause__``."""

    def __init__(self, message: str, *, record: OperationRecord, classification: Classification | None,
                 decision_reason: str, failover: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.record = record
        self.classification = classification
        self.decision_reason = decision_reason
        self.failover = failover

    @property
    def error_class(self) -> ErrorClass | None:
        return self.classification.error_class if self.classification else None

    @property
    def status(self) -> int | None:
        return self.classification.status if self.classification else None


class NonRetryable(RetryFailed):
    """The failure is not retryable here: its class (``non_transient``, ``context_overflow``) or
    the call site's safety (``unsafe_to_repeat``)."""


class RetryExhausted(RetryFailed):
    """Retryable, but no further attempt fits: ``attempts_exhausted``, ``deadline_exceeded``,
    ``retry_delay_unavailable``, ``retry_budget_exhausted``."""


class RetryAfterTooLong(RetryExhausted):
    """The server asked for a wait above ``maxRetryAfterMs``; it was not slept
    (docs/design/retry.md#no-silent-long-waits). ``retry_after_ms`` is the requested wait (may be ``inf``), ``cap_ms``
    the limit."""

    def __init__(self, message: str, *, retry_after_ms: float, cap_ms: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after_ms = retry_after_ms
        self.cap_ms = cap_ms
