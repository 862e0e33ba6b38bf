"""Replay of recorded retried or failed operations under a candidate retry policy.

Each operation's ``retry.attempt`` rows are fed back through the real :class:`RetryEngine` on a
simulated clock: attempt n takes as long as it took and fails as it failed (an error rebuilt from
the row and checked to classify the same way), and the engine decides — attempts, Retry-After
cap, retry window, delays — as it would have with the candidate policy. Nothing sleeps. Attempts
beyond the recorded ones (a policy that would have gone on after the run gave up) are assumed to
fail like the last recorded one, and the operation says so. Jitter is drawn at U = 0.5 for the
figure shown, at 0 and at the top of its range for the spread. The retry budget starts full.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.provider_errors import ProviderConnectionError, ProviderError, ProviderHTTPError, ProviderTimeoutError
from core.retry.classify import classify
from core.retry.engine import AttemptContext, RetryEngine, fallback_available
from core.retry.events import INFINITE_MS, RetryAttempt, RetryOperationFinished
from core.retry.policy import RetryPolicy
from core.retry.records import OperationRecord, RetryFailed
from core.telemetry.records import StoredEvent
from core.tuning.preview.format import duration

__all__ = ["U_MAX", "RecordedOp", "ReplayRun", "ReplayedOp", "recorded_ops", "replay"]

U_MAX = math.nextafter(1.0, 0.0)
"""The largest jitter draw (U is drawn from [0, 1))."""

_TEXT = {
    "rate_limit": "rate limit", "quota": "daily quota exceeded", "overloaded": "overloaded",
    "server": "internal server error", "timeout": "timed out", "ambiguous": "connection reset",
    "auth": "unauthorized", "billing": "billing", "bad_request": "bad request",
    "context_overflow": "context length exceeded", "connection_before_send": "connection refused",
}


@dataclass(frozen=True, slots=True)
class RecordedOp:
    """One finished operation from the store: its ``retry.finished`` payload and its attempts."""

    finished: Mapping[str, Any]
    attempts: tuple[Mapping[str, Any], ...]

    @property
    def op_id(self) -> str:
        return str(self.finished["op_id"])


@dataclass(frozen=True, slots=True)
class ReplayRun:
    """How an operation went (recorded) or would have gone (replayed)."""

    attempts: int
    outcome: str
    total_ms: int
    decision_reason: str

    def text(self) -> str:
        plural = "s" if self.attempts != 1 else ""
        return f"{self.attempts} attempt{plural}, {self.outcome} in {duration(self.total_ms)}"

    def to_json(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "outcome": self.outcome, "totalMs": self.total_ms,
                "decisionReason": self.decision_reason}


@dataclass(frozen=True, slots=True)
class ReplayedOp:
    """One operation: what happened next to what the candidate policy would have done."""

    op_id: str
    operation: str
    provider: str | None
    failures: tuple[str, ...]
    happened: ReplayRun
    candidate: ReplayRun | None
    fastest: ReplayRun | None
    slowest: ReplayRun | None
    note: str = ""

    def lines(self) -> list[str]:
        where = f" {self.provider}" if self.provider else ""
        out = [f"  op {self.op_id[:10]} ({self.operation}{where}; {', '.join(self.failures)})",
               f"    happened:  {self.happened.text()} ({self.happened.decision_reason})"]
        if self.candidate is not None and self.fastest is not None and self.slowest is not None:
            spread = ("" if self.fastest.total_ms == self.slowest.total_ms
                      else f", {duration(self.fastest.total_ms)}–{duration(self.slowest.total_ms)} over the jitter")
            out.append(f"    candidate: {self.candidate.text()}{spread} ({self.candidate.decision_reason})")
        if self.note:
            out.append(f"    {self.note}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"opId": self.op_id, "operation": self.operation, "provider": self.provider,
                "failures": list(self.failures), "happened": self.happened.to_json(),
                "candidate": None if self.candidate is None else self.candidate.to_json(),
                "fastest": None if self.fastest is None else self.fastest.to_json(),
                "slowest": None if self.slowest is None else self.slowest.to_json(), "note": self.note}


def recorded_ops(finished: Sequence[StoredEvent], attempts: Sequence[StoredEvent], limit: int) -> list[RecordedOp]:
    """The last ``limit`` operations that retried or failed (``finished`` newest first), each
    with its attempt rows in order; operations whose attempts are no longer stored are left out."""
    by_op: dict[str, list[Mapping[str, Any]]] = {}
    for event in attempts:
        if event.kind == RetryAttempt.kind:
            by_op.setdefault(str(event.payload.get("op_id")), []).append(event.payload)
    out: list[RecordedOp] = []
    for event in finished:
        p = event.payload
        if event.kind != RetryOperationFinished.kind or (p.get("attempts", 1) <= 1 and p.get("outcome") == "ok"):
            continue
        rows = sorted(by_op.get(str(p.get("op_id")), []), key=lambda a: int(a.get("attempt") or 0))
        if len(rows) == int(p.get("attempts") or 0):
            out.append(RecordedOp(p, tuple(rows)))
        if len(out) >= limit:
            break
    return out


def _failure(row: Mapping[str, Any]) -> ProviderError:
    """An error the classifier puts in the row's class, with the row's status and hint."""
    cls, status, ra = row.get("error_class") or "unknown", row.get("status"), row.get("retry_after_ms")
    headers = {} if ra is None else {"retry-after-ms": str(INFINITE_MS if ra >= INFINITE_MS else ra)}
    text = _TEXT.get(cls, "replayed failure")
    unsafe = row.get("decision_reason") == "unsafe_to_repeat" and bool(row.get("idempotent"))
    # "replay", not the real provider id: the id only labels, and an id starting with
    # "anthropic" would change how a bare 429 is read.
    kw: dict[str, Any] = {"provider": "replay", "headers": headers, "after_first_token": unsafe}
    if isinstance(status, int):
        return ProviderHTTPError(text, status=status, **kw)
    if cls == "timeout":
        return ProviderTimeoutError(text, **kw)
    if cls == "connection_before_send":
        return ProviderConnectionError(text, request_sent=False, **kw)
    if cls == "ambiguous":
        return ProviderConnectionError(text, **kw)
    return ProviderError(text, **kw)


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)


async def _run(op: RecordedOp, policy: RetryPolicy, u: float) -> ReplayRun:
    clock = _Clock()
    engine = RetryEngine(lambda _event: None, clock=clock, sleep=clock.sleep, wall=clock, random=lambda: u)
    rows = op.attempts
    last = rows[-1]

    async def call(ctx: AttemptContext) -> None:
        row = rows[ctx.attempt - 1] if ctx.attempt <= len(rows) else last
        clock.t += int(row.get("duration_ms") or 0) / 1000
        if ctx.attempt <= len(rows) and row.get("outcome") == "ok":
            return
        raise _failure(row)

    token = fallback_available.set(op.finished.get("outcome") == "failover")
    record: OperationRecord
    try:
        outcome = await engine.run_outcome(call, policy=policy, operation=str(op.finished.get("operation")),
                                           provider=op.finished.get("provider"),
                                           idempotent=bool(rows[0].get("idempotent")), op_id=op.op_id)
        record = outcome.record
    except RetryFailed as failed:
        record = failed.record
    finally:
        fallback_available.reset(token)
    return ReplayRun(len(record.attempts), str(record.outcome), record.total_ms, record.decision_reason)


def _happened(op: RecordedOp) -> ReplayRun:
    f = op.finished
    return ReplayRun(int(f.get("attempts") or 0), str(f.get("outcome")), int(f.get("total_ms") or 0),
                     str(f.get("decision_reason") or ""))


def _labels(op: RecordedOp) -> tuple[str, ...]:
    return tuple("ok" if a.get("outcome") == "ok" else str(a.get("status") or a.get("error_class") or "?")
                 for a in op.attempts)


def _op(op: RecordedOp, runs: tuple[ReplayRun, ReplayRun, ReplayRun] | None, note: str) -> ReplayedOp:
    provider = op.finished.get("provider")
    mid, low, high = runs if runs is not None else (None, None, None)
    return ReplayedOp(op_id=op.op_id, operation=str(op.finished.get("operation")),
                      provider=str(provider) if provider is not None else None, failures=_labels(op),
                      happened=_happened(op), candidate=mid, fastest=low, slowest=high, note=note)


async def _replay_one(op: RecordedOp, policy: RetryPolicy) -> ReplayedOp:
    for row in op.attempts:
        if row.get("outcome") in ("ok", "cancelled"):
            continue
        got = classify(_failure(row)).error_class.value
        if got != (row.get("error_class") or "unknown"):
            return _op(op, None, f"not replayed: a {row.get('error_class')} failure could not be rebuilt ({got})")
    if op.finished.get("outcome") == "cancelled":
        return _op(op, None, "not replayed: it was cancelled")
    mid, low, high = [await _run(op, policy, u) for u in (0.5, 0.0, U_MAX)]
    beyond = max(mid.attempts, high.attempts) > len(op.attempts)
    note = (f"attempts after #{len(op.attempts)} were never made; assumed to fail like #{len(op.attempts)}"
            if beyond else "")
    return _op(op, (mid, low, high), note)


async def _replay_all(ops: Sequence[RecordedOp], policy_of: Callable[[RecordedOp], RetryPolicy]) -> list[ReplayedOp]:
    return [await _replay_one(op, policy_of(op)) for op in ops]


def replay(ops: Sequence[RecordedOp], policy_of: Callable[[RecordedOp], RetryPolicy]) -> list[ReplayedOp]:
    """Replay ``ops`` under the policy ``policy_of`` gives each. Runs its own event loop on a
    simulated clock, so call it in a worker thread (it never waits for real)."""
    return asyncio.run(_replay_all(ops, policy_of))
