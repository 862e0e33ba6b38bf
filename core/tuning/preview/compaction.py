"""Compaction what-if: the focused session against the current and the candidate thresholds.

The agent compacts after a turn whose context tokens exceed window − reserve
(:func:`core.compaction.trigger.check_threshold`) and flushes memory first once the projected
prompt reaches window − floor − soft threshold (:func:`core.compaction.memory_flush.plan_flush`);
both are run here with the session's last turn as the agent saw it. The next turn's context is
at least this large, so a crossed threshold means the next turn compacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.compaction.memory_flush import FlushState, plan_flush
from core.compaction.trigger import check_threshold, context_tokens_from_usage
from core.config.schema import ClawtopConfig
from core.context.accountant import session_model_ref
from core.context.window import resolve_context_window
from core.pruning.estimate import CHARS_PER_TOKEN, estimate_message_chars
from core.sessions.model import CompactionEntry
from core.tuning.preview.format import table, tokens
from core.tuning.preview.sources import FocusedSession

__all__ = ["CompactionFigures", "CompactionPreview", "preview_compaction"]


@dataclass(frozen=True, slots=True)
class CompactionFigures:
    """One config's thresholds for the session (tokens); ``remaining`` < 0 = crossed."""

    enabled: bool
    reserve: int
    limit: int
    remaining: int
    compacts: bool
    flush_threshold: int
    flush_reason: str
    flushes: bool

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "reserveTokens": self.reserve, "thresholdTokens": self.limit,
                "remainingTokens": self.remaining, "nextTurnCompacts": self.compacts,
                "flushThresholdTokens": self.flush_threshold, "flushReason": self.flush_reason,
                "nextTurnFlushes": self.flushes}


@dataclass(frozen=True, slots=True)
class CompactionPreview:
    """The session's context size next to the current and candidate compaction thresholds."""

    session_id: str
    model_ref: str
    window_tokens: int
    context_tokens: int
    tokens_source: str
    current: CompactionFigures
    candidate: CompactionFigures

    def lines(self) -> list[str]:
        out = [f"Compaction — session {self.session_id[:8]} ({self.model_ref}, window {tokens(self.window_tokens)} "
               f"tokens): context {tokens(self.context_tokens)} tokens ({self.tokens_source})"]

        def row(label: str, f: Any) -> list[str]:
            return [f"  {label}", str(f(self.current)), str(f(self.candidate))]

        rows = [["", "current", "candidate"],
                row("threshold", lambda c: f"{tokens(c.limit)} (reserve {tokens(c.reserve)})"),
                row("distance", lambda c: f"{tokens(c.remaining)} left" if c.remaining >= 0
                    else f"crossed by {tokens(-c.remaining)}"),
                row("next turn compacts", lambda c: ("yes" if c.compacts else "no")
                    + ("" if c.enabled else " (proactive compaction disabled)")),
                row("memory flush at", lambda c: tokens(c.flush_threshold)),
                row("next turn flushes", lambda c: f"{'yes' if c.flushes else 'no'} ({c.flush_reason})")]
        return out + ["  " + line for line in table(rows)]

    def to_json(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "modelRef": self.model_ref, "windowTokens": self.window_tokens,
                "contextTokens": self.context_tokens, "tokensSource": self.tokens_source,
                "current": self.current.to_json(), "candidate": self.candidate.to_json()}


def _last_usage(focused: FocusedSession) -> Mapping[str, Any] | None:
    for message in reversed(focused.session.messages()):
        raw = message.raw
        if raw.get("role") == "assistant" and isinstance(raw.get("usage"), Mapping):
            usage: Mapping[str, Any] = raw["usage"]
            return usage
    return None


def _figures(config: ClawtopConfig, ref: str, context_tokens: int, usage: Mapping[str, Any] | None,
             focused: FocusedSession) -> tuple[int, CompactionFigures]:
    window = resolve_context_window(config, ref).tokens
    cfg = config.agents.defaults.compaction
    check = check_threshold(context_tokens, window, cfg)
    row = focused.row
    compactions = sum(1 for e in focused.session.entries if isinstance(e, CompactionEntry))
    count = max(compactions, (row.compaction_count or 0) if row is not None else 0)
    state = FlushState(count, row.memory_flush_compaction_count if row is not None else None)
    u = usage or {}
    prompt = int(u.get("input") or 0) + int(u.get("cacheRead") or 0) + int(u.get("cacheWrite") or 0)
    plan = plan_flush(cfg, context_window=window, prompt_tokens=prompt if usage else context_tokens,
                      last_output_tokens=int(u.get("output") or 0), new_prompt_chars=0, state=state,
                      transcript_bytes=focused.session.size or None)
    return window, CompactionFigures(cfg.enabled, check.reserve, check.limit, check.remaining, check.compact,
                                     plan.threshold_tokens, plan.reason, plan.flush)


def preview_compaction(current: ClawtopConfig, candidate: ClawtopConfig, focused: FocusedSession) -> CompactionPreview:
    """Thresholds of both configs for the focused session. Pure CPU work on a loaded session."""
    usage = _last_usage(focused)
    if usage is not None:
        context, source = context_tokens_from_usage(usage), "last turn, provider-reported"
    else:
        chars = sum(estimate_message_chars(m.raw) for m in focused.session.messages())
        context, source = chars // CHARS_PER_TOKEN, "estimated from the transcript, no turn yet"
    ref = session_model_ref(focused.session.messages(), candidate)
    _, cur = _figures(current, ref, context, usage, focused)
    window, cand = _figures(candidate, ref, context, usage, focused)
    return CompactionPreview(focused.id, ref, window, context, source, cur, cand)
