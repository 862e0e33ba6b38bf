"""Retries pane state: one :class:`OpTimeline` per operation (keyed by ``op_id``) and one
:class:`ProviderGauge` per provider, folded from the retry engine's and provider clients' events.

A batch is folded completely before the pane repaints, so a flood of attempts costs one pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal, TypeVar

from core.events import Event
from core.providers.events import ProviderRateLimits
from core.retry.events import (
    AttemptOutcome,
    CooldownChanged,
    Failover,
    OperationOutcome,
    RetryAttempt,
    RetryOperationFinished,
)

__all__ = ["MAX_OPS", "RUNNING", "AttemptView", "OpOutcome", "OpTimeline", "ProviderGauge", "RetriesChange",
           "RetriesModel"]

MAX_OPS = 200
"""Operations kept; the oldest goes when a new one arrives."""

OpOutcome = OperationOutcome | Literal["running"]
"""An operation's outcome as shown: ``running`` until an attempt or the finish event ends it."""
RUNNING: Literal["running"] = "running"


@dataclasses.dataclass(slots=True)
class AttemptView:
    """One attempt as shown: wall times in seconds, delays in ms, the class and decision."""

    n: int
    start: float
    end: float
    status: int | None
    error_class: str | None
    outcome: AttemptOutcome
    planned_delay_ms: float
    slept_ms: float
    retry_after_ms: float | None = None
    model: str | None = None

    @property
    def style_key(self) -> str:
        return "ok" if self.error_class is None else self.error_class

    @property
    def label(self) -> str:
        """``429 rate_limit`` / ``ok``: the text that goes beside the colour."""
        if self.error_class is None:
            return "ok"
        status = f"{self.status} " if self.status else ""
        return f"{status}{self.error_class}"


_LIMIT_REASONS = {"rate_limit": "rate limit: rateLimitAttempts", "nested": "nested: outer scope retries"}
"""``RetryAttempt.max_attempts_reason`` → the words shown next to the limit."""


@dataclasses.dataclass(slots=True)
class OpTimeline:
    """Everything known about one retried operation. ``outcome`` is ``running`` until an attempt
    ends it (``ok``, ``fail``, ``failover``) or :class:`RetryOperationFinished` says so."""

    op_id: str
    operation: str = ""
    provider: str = ""
    model: str = ""
    max_attempts: int | None = None
    max_attempts_reason: str = ""
    """Why the limit is not the policy's ``attempts`` (``RetryAttempt.max_attempts_reason``)."""
    policy: str | None = None
    attempts: list[AttemptView] = dataclasses.field(default_factory=list)
    outcome: OpOutcome = RUNNING
    error: str | None = None
    failovers: list[str] = dataclasses.field(default_factory=list)
    seq: int = 0
    """Arrival order, for a stable row order and for evicting the oldest."""
    settings_version: str | None = None
    """The tuning in force when the operation ended (from its finish event), else None."""

    @property
    def start(self) -> float | None:
        return self.attempts[0].start if self.attempts else None

    @property
    def end(self) -> float | None:
        return self.attempts[-1].end if self.attempts else None

    def tries_text(self) -> str:
        """``5/10 (rate limit: rateLimitAttempts)``: attempts made, the effective limit, and why
        it is not the policy's ``attempts`` when it is not."""
        if not self.max_attempts:
            return str(len(self.attempts))
        why = _LIMIT_REASONS.get(self.max_attempts_reason, self.max_attempts_reason)
        return f"{len(self.attempts)}/{self.max_attempts}" + (f" ({why})" if why else "")

    def duration_ms(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max(0.0, (self.end - self.start) * 1000)

    def apply_attempt(self, event: RetryAttempt) -> None:
        view = AttemptView(
            n=event.attempt,
            start=event.start,
            end=event.end,
            status=event.status,
            error_class=event.error_class or None,
            outcome=event.outcome,
            planned_delay_ms=float(event.planned_delay_ms),
            slept_ms=float(event.slept_ms),
            retry_after_ms=None if event.retry_after_ms is None else float(event.retry_after_ms),
            model=event.model,
        )
        # The same attempt published again (a replay) replaces the one shown.
        self.attempts = [a for a in self.attempts if a.n != view.n] + [view]
        self.attempts.sort(key=lambda a: a.n)
        self.operation = event.operation
        if event.provider is not None:
            self.provider = event.provider
        if event.model is not None:
            self.model = event.model
        self.max_attempts = event.max_attempts
        self.max_attempts_reason = event.max_attempts_reason
        self.policy = event.policy
        match event.outcome:
            case "ok":
                self.outcome = "ok"
            case "fail" if self.outcome == RUNNING:
                self.outcome = "fail"
            case "failover":
                self.outcome = "failover"
            case _:  # retry, cancelled, or fail after a failover: the row keeps its outcome
                pass

    def apply_finished(self, event: RetryOperationFinished) -> None:
        self.outcome = event.outcome
        self.settings_version = event.settings_version
        if event.error:
            self.error = event.error
        if event.error_class and not self.error:
            self.error = event.error_class


@dataclasses.dataclass(slots=True)
class ProviderGauge:
    """Rate-limit headroom and cooldown of one provider."""

    provider: str
    requests_remaining: int | None = None
    requests_limit: int | None = None
    tokens_remaining: int | None = None
    tokens_limit: int | None = None
    reset_wall: float | None = None
    cooldown_until: float | None = None
    cooldown_reason: str | None = None
    cooldown_level: int | None = None

    def apply_ratelimits(self, event: ProviderRateLimits) -> None:
        """A header that is absent keeps the last value seen; Anthropic reports input tokens
        where OpenAI-style APIs report tokens, so either fills the tokens gauge."""
        if event.requests_remaining is not None:
            self.requests_remaining = event.requests_remaining
        if event.requests_limit is not None:
            self.requests_limit = event.requests_limit
        tokens_remaining = _first(event.tokens_remaining, event.input_tokens_remaining)
        if tokens_remaining is not None:
            self.tokens_remaining = tokens_remaining
        tokens_limit = _first(event.tokens_limit, event.input_tokens_limit)
        if tokens_limit is not None:
            self.tokens_limit = tokens_limit
        reset = _first(event.requests_reset, event.tokens_reset, event.input_tokens_reset)
        if reset is not None:
            self.reset_wall = reset

    def apply_cooldown(self, event: CooldownChanged) -> None:
        until = event.until_wall
        self.cooldown_until = until if until > 0 else None
        self.cooldown_reason = event.reason
        self.cooldown_level = event.level


_T = TypeVar("_T")


def _first(*values: _T | None) -> _T | None:
    return next((v for v in values if v is not None), None)


@dataclasses.dataclass(frozen=True, slots=True)
class RetriesChange:
    """What one batch changed: the operations to redraw, those evicted, whether gauges moved."""

    ops: frozenset[str] = frozenset()
    evicted: tuple[str, ...] = ()
    gauges: bool = False

    def __bool__(self) -> bool:
        return bool(self.ops or self.evicted or self.gauges)


class RetriesModel:
    """Operations (newest :data:`MAX_OPS`) and provider gauges."""

    def __init__(self, max_ops: int = MAX_OPS) -> None:
        self.max_ops = max_ops
        self.ops: dict[str, OpTimeline] = {}
        self.gauges: dict[str, ProviderGauge] = {}
        self._seq = 0

    def apply(self, events: Iterable[Event]) -> RetriesChange:
        ops: set[str] = set()
        gauges = False
        for event in events:
            match event:
                case RetryAttempt():
                    self._op(event.op_id).apply_attempt(event)
                    ops.add(event.op_id)
                case RetryOperationFinished():
                    self._op(event.op_id).apply_finished(event)
                    ops.add(event.op_id)
                case Failover() if event.op_id in self.ops:
                    self.ops[event.op_id].failovers.append(event.to_ref)
                    ops.add(event.op_id)
                case ProviderRateLimits():
                    self._gauge(event.provider).apply_ratelimits(event)
                    gauges = True
                case CooldownChanged():
                    self._gauge(event.provider).apply_cooldown(event)
                    gauges = True
        evicted = self._evict() if ops else ()
        return RetriesChange(frozenset(ops - set(evicted)), evicted, gauges)

    def _op(self, op_id: str) -> OpTimeline:
        op = self.ops.get(op_id)
        if op is None:
            self._seq += 1
            op = self.ops[op_id] = OpTimeline(op_id=op_id, seq=self._seq)
        return op

    def _gauge(self, provider: str) -> ProviderGauge:
        gauge = self.gauges.get(provider)
        if gauge is None:
            gauge = self.gauges[provider] = ProviderGauge(provider)
        return gauge

    def _evict(self) -> tuple[str, ...]:
        extra = len(self.ops) - self.max_ops
        if extra <= 0:
            return ()
        oldest = sorted(self.ops.values(), key=lambda o: o.seq)[:extra]
        for op in oldest:
            del self.ops[op.op_id]
        return tuple(op.op_id for op in oldest)

    @property
    def failed(self) -> int:
        return sum(1 for op in self.ops.values() if op.outcome not in ("ok", RUNNING))

    @property
    def retried(self) -> int:
        return sum(1 for op in self.ops.values() if len(op.attempts) > 1)
