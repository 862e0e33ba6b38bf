"""The model fallback chain: ``agents.defaults.model.primary`` then ``fallbacks``
(docs/design/retry.md#model-fallback-chain).

Why here and not in the agent loop: failing over is a retry decision like any other — it needs
the same classification, it must respect the same replay safety, and the dashboard shows it on
the same per-operation timeline (:class:`Failover` events carry the ``op_id``).

Rules: advance on the failover-worthy classes (:func:`is_failover_worthy`); context overflow is
re-raised at once (compaction's job), as is anything after output streamed; candidates whose
provider is cooling down are skipped (``Failover`` with reason ``cooldown``) unless every one is,
in which case the one that frees up first is probed, at most once per provider per 30 s. While a
candidate with a successor runs, the engine knows a fallback exists (``fallback_available``) and
fails over at once on a Retry-After above its cap instead of failing (docs/design/retry.md#no-silent-long-waits).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from core.config.schema.agents import AgentModelConfig
from core.events.base import Event
from core.retry.classify import Classification, ErrorClass, classify, is_failover_worthy
from core.retry.cooldown import CooldownTracker
from core.retry.engine import fallback_available
from core.retry.events import Failover
from core.retry.records import RetryFailed

__all__ = ["CandidateFailure", "FallbackChain", "FallbackExhausted", "PROBE_THROTTLE_S"]

T = TypeVar("T")

PROBE_THROTTLE_S = 30.0
"""OpenClaw's probe throttle per provider while all candidates cool down (docs/design/retry.md#model-fallback-chain)."""


@dataclass(frozen=True, slots=True)
class CandidateFailure:
    """One candidate's failure in the summary: ref, class, status and message."""

    ref: str
    error_class: str
    status: int | None
    error: str


class FallbackExhausted(Exception):
    """Every candidate failed or was cooling down. ``failures`` lists each attempt;
    ``soonest_available_wall`` is when the first candidate frees up (0 = now)."""

    def __init__(self, message: str, failures: Sequence[CandidateFailure], soonest_available_wall: float) -> None:
        super().__init__(message)
        self.failures = list(failures)
        self.soonest_available_wall = soonest_available_wall


def _provider_of(ref: str) -> str:
    return ref.split("/", 1)[0]


def _classification(exc: BaseException) -> Classification:
    if isinstance(exc, RetryFailed) and exc.classification is not None:
        return exc.classification
    return classify(exc)


class FallbackChain:
    """Walks model refs in order. ``refs`` = primary followed by fallbacks (deduplicated)."""

    def __init__(self, refs: Sequence[str], *, publish: Callable[[Event], None] = lambda e: None,
                 cooldowns: CooldownTracker | None = None, clock: Callable[[], float] = time.time) -> None:
        if not refs:
            raise ValueError("a fallback chain needs at least the primary model")
        self.refs = list(dict.fromkeys(refs))
        self.publish = publish
        self.cooldowns = cooldowns
        self.clock = clock
        self._last_probe: dict[str, float] = {}

    @classmethod
    def from_config(cls, model_config: AgentModelConfig, **kw: Any) -> FallbackChain:
        """From ``agents.defaults.model`` (``primary`` + ``fallbacks``); ``kw`` as for the constructor."""
        return cls([model_config.primary, *model_config.fallbacks], **kw)

    def _plan(self) -> list[str]:
        """Candidates to try now: usable ones in order; if none, the one freeing up first (probe)."""
        cooldowns = self.cooldowns
        if cooldowns is None:
            return list(self.refs)
        usable = [r for r in self.refs
                  if cooldowns.is_available(_provider_of(r), model=r.split("/", 1)[1])]
        if usable:
            return usable
        soonest = min(self.refs, key=lambda r: cooldowns.available_at(_provider_of(r), model=r.split("/", 1)[1]))
        last = self._last_probe.get(_provider_of(soonest))
        if last is not None and self.clock() - last < PROBE_THROTTLE_S:
            return []
        self._last_probe[_provider_of(soonest)] = self.clock()
        return [soonest]

    async def run(self, call_for_model: Callable[[str], Awaitable[T]], *, op_id: str | None = None) -> T:
        """Call ``call_for_model(ref)`` for each candidate until one succeeds.

        Re-raises at once: context overflow, non-failover-worthy errors (bad requests, output
        already streamed), cancellation. Raises :class:`FallbackExhausted` when all fail (with a
        single-model chain, the candidate's own error).
        """
        op = op_id or uuid.uuid4().hex[:12]
        plan = self._plan()
        failures: list[CandidateFailure] = []
        last_exc: Exception | None = None
        for ref in self.refs:
            if ref not in plan:
                self.publish(Failover(op_id=op, from_ref=ref, to_ref=self._next(ref, plan) or "", reason="cooldown"))
        for index, ref in enumerate(plan):
            provider, model = _provider_of(ref), ref.split("/", 1)[1]
            token = fallback_available.set(index < len(plan) - 1)
            try:
                value = await call_for_model(ref)
            except Exception as exc:
                c = _classification(exc)
                if self.cooldowns is not None:
                    self.cooldowns.mark_classified(provider, c, model=model)
                if c.error_class is ErrorClass.CONTEXT_OVERFLOW or not is_failover_worthy(c):
                    raise
                failures.append(CandidateFailure(ref, c.error_class.value, c.status, str(exc)))
                last_exc = exc
                nxt = plan[index + 1] if index + 1 < len(plan) else None
                if nxt is not None:
                    self.publish(Failover(op_id=op, from_ref=ref, to_ref=nxt, reason=c.reason,
                                          error_class=c.error_class.value))
                continue
            finally:
                fallback_available.reset(token)
            if self.cooldowns is not None:
                self.cooldowns.mark_success(provider)
            return value
        soonest = 0.0
        if self.cooldowns is not None:
            soonest = min(self.cooldowns.available_at(_provider_of(r), model=r.split("/", 1)[1]) for r in self.refs)
        tried = "; ".join(f"{f.ref}: {f.error_class}" + (f" HTTP {f.status}" if f.status else "") for f in failures)
        wait = max(0.0, soonest - self.clock())
        msg = (f"all {len(self.refs)} model candidates failed ({tried or 'all cooling down'})"
               + (f"; the first frees up in {wait:.0f} s" if wait > 0 else ""))
        if len(self.refs) == 1 and last_exc is not None:
            raise last_exc  # no fallback configured: the engine's own error says it best
        raise FallbackExhausted(msg, failures, soonest) from last_exc

    def _next(self, ref: str, plan: list[str]) -> str | None:
        after = self.refs[self.refs.index(ref) + 1:]
        return next((r for r in after if r in plan), None)
