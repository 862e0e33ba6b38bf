"""What a chat turn returns (or raises), and its JSON form for ``clawtop send --json``.

The JSON shape lives here, next to the types, so the CLI and any later API print the same keys:
``{reply, model, usage, stopReason, ttftMs, latencyMs, opId, turnId, sessionId, toolCalls,
attempts, error}``.
``attempts`` lists every attempt of every model tried, in order, each as the retry engine's
``{start, end, status, class, plannedDelayMs, sleptMs, retryAfterMs}`` plus ``n``, ``model``,
``opId`` and ``outcome``; ``start``/``end`` are wall-clock Unix seconds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from core.providers.call import ModelCallFailed
from core.providers.types import Usage
from core.retry.records import OperationRecord

__all__ = ["TurnFailed", "TurnResult", "turn_json", "usage_json"]


@dataclasses.dataclass(frozen=True, slots=True)
class TurnResult:
    """A finished turn. ``model`` is the ref that answered; ``record`` its retry operation,
    ``records`` every operation of the turn (failed candidates first). ``ttft_ms`` and
    ``latency_ms`` are measured from the moment the turn started (retries and failover
    included: what the user waited), not per HTTP call."""

    reply: str
    usage: Usage
    model: str
    stop_reason: str | None
    ttft_ms: float | None
    latency_ms: float
    record: OperationRecord
    records: list[OperationRecord]
    models: list[str]
    """The model ref of each operation in ``records``."""
    turn_id: str = ""
    session_id: str = ""
    """The transcript the turn was stored in (``clawtop send --session``)."""
    session_key: str = ""
    tool_calls: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """One summary per tool call of the turn: ``toolCallId``, ``name``, ``input``, ``isError``,
    ``chars`` (result size), ``iteration``."""
    last_usage: Usage | None = None
    """Usage of the turn's last model call (what the context accounting compares to its
    estimate); ``usage`` is the sum over all calls (what the turn cost)."""


class TurnFailed(ModelCallFailed):
    """A turn ended without an answer: the model call's failure (see
    :class:`~core.providers.call.ModelCallFailed`) plus the session it belonged to."""

    def __init__(self, message: str, *, error_class: str, model: str, records: list[OperationRecord],
                 models: list[str] | None = None, status: int | None = None, reason: str = "",
                 partial_reply: str = "") -> None:
        super().__init__(message, error_class=error_class, model=model, records=records, models=models,
                         status=status, reason=reason, partial_reply=partial_reply)
        self.session_id: str | None = None
        """Set by the agent runner: the session the failed turn belonged to."""

    @classmethod
    def of(cls, failure: ModelCallFailed) -> TurnFailed:
        """The turn-level error for a failed model call (the same object if it already is one)."""
        if isinstance(failure, TurnFailed):
            return failure
        return cls(failure.message, error_class=failure.error_class, model=failure.model,
                   records=failure.records, models=failure.models, status=failure.status,
                   reason=failure.reason, partial_reply=failure.partial_reply)


def usage_json(usage: Usage | None) -> dict[str, Any]:
    u = usage or Usage()
    return {
        "inputTokens": u.input_tokens,
        "outputTokens": u.output_tokens,
        "cacheReadTokens": u.cache_read_tokens,
        "cacheWriteTokens": u.cache_write_tokens,
        "estimated": u.estimated,
    }


def _attempts(records: list[OperationRecord], models: list[str]) -> list[dict[str, Any]]:
    rows = []
    for record, model in zip(records, models, strict=True):
        for attempt in record.attempts:
            rows.append({
                "n": attempt.n,
                **attempt.as_json(),
                "outcome": attempt.outcome,
                "reason": attempt.decision_reason or None,
                "model": model,
                "opId": record.op_id,
            })
    return rows


def turn_json(outcome: TurnResult | TurnFailed) -> dict[str, Any]:
    """The ``clawtop send --json`` document for a turn that succeeded or failed."""
    if isinstance(outcome, TurnResult):
        return {
            "reply": outcome.reply,
            "model": outcome.model,
            "usage": usage_json(outcome.usage),
            "stopReason": outcome.stop_reason,
            "ttftMs": outcome.ttft_ms,
            "latencyMs": outcome.latency_ms,
            "opId": outcome.record.op_id,
            "turnId": outcome.turn_id,
            "sessionId": outcome.session_id or None,
            "toolCalls": outcome.tool_calls,
            "attempts": _attempts(outcome.records, outcome.models),
            "error": None,
        }
    record = outcome.record
    return {
        "reply": outcome.partial_reply or None,
        "model": outcome.model,
        "usage": usage_json(None),
        "stopReason": None,
        "ttftMs": None,
        "latencyMs": None,
        "opId": record.op_id if record is not None else None,
        "turnId": None,
        "sessionId": outcome.session_id,
        "toolCalls": [],
        "attempts": _attempts(outcome.records, outcome.models),
        "error": {
            "class": outcome.error_class,
            "status": outcome.status,
            "reason": outcome.reason or None,
            "message": outcome.message,
        },
    }
