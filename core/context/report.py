"""``ContextReport``: every contributor to a session's context, and the distance to each
threshold (docs/design/context.md#report-data, docs/design/context.md#chars-per-token-calibration,
docs/design/context.md#distance-to-every-threshold).

Pure: it takes the pieces (prompt, history estimate, window, ratio, last usage) and computes
figures, so the CLI (stored session), ``/context`` in chat and the dashboard share one source.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from core.config.schema import ClawtopConfig
from core.context.calibration import CharsPerToken, ModelCalibration
from core.context.estimate import CATEGORIES, MessageEstimate, tokens_from_chars
from core.context.events import ContextReportUpdated
from core.context.history import HistoryTotals
from core.context.system_prompt import SystemPrompt
from core.context.window import (
    CONTEXT_WINDOW_HARD_MIN_TOKENS,
    CONTEXT_WINDOW_WARN_BELOW_TOKENS,
    ContextWindow,
)

__all__ = ["ContextReport", "PruneClock", "SessionUsage", "Threshold", "build_report", "prunable_tool_chars"]

REAL_CONVERSATION_ROLES = frozenset({"user", "assistant", "toolResult"})


@dataclass(frozen=True, slots=True)
class SessionUsage:
    """Provider-reported figures of the session's last request (SessionEntry fields,
    docs/design/sessions.md#session-row-fields).

    ``total_tokens`` is OpenClaw's row field: the size of the last prompt; when not given it is
    input + cache read + cache write.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read: int = 0
    cache_write: int = 0
    total_tokens: int | None = None
    total_tokens_fresh: bool = True

    @classmethod
    def from_entry(cls, entry: Any) -> SessionUsage:
        """From a ``core.sessions.index.SessionEntry`` row."""
        return cls(
            input_tokens=entry.input_tokens,
            output_tokens=entry.output_tokens,
            cache_read=entry.cache_read or 0,
            cache_write=entry.cache_write or 0,
            total_tokens=entry.total_tokens,
            total_tokens_fresh=entry.total_tokens_fresh is not False,
        )

    @property
    def prompt_tokens(self) -> int | None:
        """Actual input tokens of the last request (all cache parts included)."""
        if self.input_tokens is None:
            return self.total_tokens
        return self.input_tokens + self.cache_read + self.cache_write

    @property
    def session_total(self) -> int | None:
        """``Session tokens (cached)``: the row's ``totalTokens``, else the prompt size."""
        return self.total_tokens if self.total_tokens is not None else self.prompt_tokens

    @property
    def turn_tokens(self) -> int | None:
        """pi's ``contextTokens`` of the last turn, compared with the compaction threshold
        (docs/design/compaction.md#triggers): prompt + output."""
        prompt = self.prompt_tokens
        return None if prompt is None else prompt + (self.output_tokens or 0)


@dataclass(frozen=True, slots=True)
class PruneClock:
    """TTL state of the prune gate (docs/design/pruning.md#the-ttl-clock): ``ms_since_touch`` None = no cache touch
    yet."""

    mode: str
    ttl_ms: int
    ms_since_touch: float | None = None
    eligible: bool = True


@dataclass(frozen=True, slots=True)
class Threshold:
    """Distance to one threshold, in tokens (``prune``: in ms). ``remaining`` < 0 = crossed;
    ``remaining_pct`` is ``remaining`` as a % of ``limit``."""

    name: str
    current: int
    limit: int
    remaining: int
    remaining_pct: float
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"current": self.current, "limit": self.limit, "remaining": self.remaining,
                "remainingPct": self.remaining_pct, "note": self.note}


def _threshold(name: str, current: int, limit: int, note: str = "") -> Threshold:
    remaining = limit - current
    pct = round(100.0 * remaining / limit, 1) if limit > 0 else 0.0
    return Threshold(name, current, limit, remaining, pct, note)


def prunable_tool_chars(estimates: Sequence[MessageEstimate], keep_last_assistants: int) -> int:
    """Chars of the tool results the pruner may touch: after the first user message, before the
    ``keepLastAssistants``-th assistant from the end (docs/design/pruning.md#the-pruning-algorithm)."""
    start = next((i for i, e in enumerate(estimates) if e.role == "user"), None)
    if start is None:
        return 0
    cutoff = len(estimates)
    if keep_last_assistants > 0:
        seen = 0
        for i in range(len(estimates) - 1, -1, -1):
            if estimates[i].role == "assistant":
                seen += 1
                if seen == keep_last_assistants:
                    cutoff = i
                    break
        else:
            return 0
    return sum(e.chars for e in estimates[start:cutoff] if e.role == "toolResult")


def format_duration(ms: float) -> str:
    """``3m 12s`` style (docs/design/context.md#distance-to-every-threshold)."""
    seconds = max(0, int(ms // 1000))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


@dataclass(frozen=True, slots=True)
class ContextReport:
    """Everything ``/context`` shows. Token figures use ``ratio.ratio`` chars per token."""

    source: Literal["run", "estimate"]
    generated_at: float
    session_id: str
    session_key: str
    model_ref: str
    workspace_dir: str
    bootstrap_max_chars: int
    bootstrap_total_max_chars: int
    sandbox_mode: str
    sandboxed: bool
    prompt: SystemPrompt
    history: HistoryTotals
    window: ContextWindow
    ratio: CharsPerToken
    calibration: ModelCalibration | None
    usage: SessionUsage
    compactable_messages: int
    categories: dict[str, int]
    thresholds: dict[str, Threshold]
    prune_status: str
    memory_flushed_this_cycle: bool | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def tok(self, chars: int) -> int:
        return tokens_from_chars(chars, self.ratio.ratio)

    @property
    def estimated_tokens(self) -> int:
        """Estimate of the whole prompt (system, tool schemas, history)."""
        return sum(v for k, v in self.categories.items() if k not in ("reserved_output", "free"))

    @property
    def tracked_prompt_chars(self) -> int:
        """System prompt chars + tool schema chars (OpenClaw's "tracked prompt estimate")."""
        return self.prompt.chars + self.prompt.schema_chars

    def to_event(self) -> ContextReportUpdated:
        return ContextReportUpdated(
            session_id=self.session_id,
            model=self.model_ref,
            window_tokens=self.window.tokens,
            window_source=self.window.source,
            estimated_tokens=self.estimated_tokens,
            free_tokens=self.categories["free"],
            reserved_output_tokens=self.categories["reserved_output"],
            categories=dict(self.categories),
            thresholds={k: t.remaining for k, t in self.thresholds.items() if k != "prune"},
            chars_per_token=round(self.ratio.ratio, 4),
            calibrated=self.ratio.calibrated,
            actual_input_tokens=self.usage.prompt_tokens,
        )


def build_report(
    config: ClawtopConfig,
    *,
    prompt: SystemPrompt,
    history: HistoryTotals,
    estimates: Sequence[MessageEstimate],
    window: ContextWindow,
    ratio: CharsPerToken,
    calibration: ModelCalibration | None = None,
    usage: SessionUsage | None = None,
    source: Literal["run", "estimate"] = "estimate",
    session_id: str = "",
    session_key: str = "",
    prune_clock: PruneClock | None = None,
    memory_flushed_this_cycle: bool | None = None,
    generated_at: float | None = None,
) -> ContextReport:
    """Compute every figure of the report from already-estimated parts."""
    defaults = config.agents.defaults
    usage = usage or SessionUsage()
    cpt = ratio.ratio

    def tok(chars: int) -> int:
        return tokens_from_chars(chars, cpt)

    pc = prompt.project_context_chars
    base_chars = max(0, prompt.chars - pc - prompt.tool_list_chars - prompt.skills_chars)
    categories: dict[str, int] = {
        "system_prompt": tok(base_chars),
        "project_context": tok(pc),
        "tool_list": tok(prompt.tool_list_chars),
        "skills": tok(prompt.skills_chars),
        "tool_schemas": tok(prompt.schema_chars),
    }
    categories.update({name: tok(history.by_category[name]) for name in CATEGORIES})
    used = sum(categories.values())
    reserved = window.max_output_tokens
    categories["reserved_output"] = reserved
    categories["free"] = max(0, window.tokens - used - reserved)

    current = usage.turn_tokens if usage.turn_tokens is not None else used
    pruning = defaults.context_pruning
    history_tokens = tok(history.chars)
    prunable = prunable_tool_chars(estimates, pruning.keep_last_assistants)
    compaction = defaults.compaction
    reserve = max(compaction.reserve_tokens, compaction.reserve_tokens_floor)
    flush_limit = window.tokens - compaction.reserve_tokens_floor - compaction.memory_flush.soft_threshold_tokens
    clock = prune_clock or PruneClock(mode=pruning.mode, ttl_ms=pruning.ttl_ms)
    prune_status, prune_threshold = _prune_gate(clock)
    thresholds = {
        "prune": prune_threshold,
        "softTrim": _threshold(
            "softTrim", history_tokens, int(window.tokens * pruning.soft_trim_ratio),
            f"history ratio {_ratio(history.chars, window.tokens, cpt)} vs {pruning.soft_trim_ratio}",
        ),
        "hardClear": _threshold(
            "hardClear", history_tokens, int(window.tokens * pruning.hard_clear_ratio),
            f"history ratio {_ratio(history.chars, window.tokens, cpt)} vs {pruning.hard_clear_ratio}; "
            f"prunable tool chars {prunable:,} vs min {pruning.min_prunable_tool_chars:,}",
        ),
        "compaction": _threshold(
            "compaction", current, window.tokens - reserve,
            f"window {window.tokens:,} - reserve {reserve:,}" + ("" if compaction.enabled else " (disabled)"),
        ),
        "memoryFlush": _threshold(
            "memoryFlush", current, flush_limit,
            f"window - {compaction.reserve_tokens_floor:,} - {compaction.memory_flush.soft_threshold_tokens:,}"
            + ("" if compaction.memory_flush.enabled else " (disabled)")
            + ("" if memory_flushed_this_cycle is None
               else f"; flushed this cycle: {'yes' if memory_flushed_this_cycle else 'no'}"),
        ),
    }
    sandbox_mode = getattr(defaults.sandbox, "mode", "off")
    return ContextReport(
        source=source,
        generated_at=generated_at if generated_at is not None else time.time(),
        session_id=session_id,
        session_key=session_key,
        model_ref=window.model_ref,
        workspace_dir=prompt.bootstrap.workspace if prompt.bootstrap else "",
        bootstrap_max_chars=defaults.bootstrap_max_chars,
        bootstrap_total_max_chars=defaults.bootstrap_total_max_chars,
        sandbox_mode=str(sandbox_mode),
        sandboxed=str(sandbox_mode) not in ("off", "none"),
        prompt=prompt,
        history=history.copy(),
        window=window,
        ratio=ratio,
        calibration=calibration,
        usage=usage,
        compactable_messages=sum(1 for e in estimates if e.role in REAL_CONVERSATION_ROLES),
        categories=categories,
        thresholds=thresholds,
        prune_status=prune_status,
        memory_flushed_this_cycle=memory_flushed_this_cycle,
        extras={
            "prunableToolChars": prunable,
            "minPrunableToolChars": pruning.min_prunable_tool_chars,
            "guardLevels": {"warn": CONTEXT_WINDOW_WARN_BELOW_TOKENS, "block": CONTEXT_WINDOW_HARD_MIN_TOKENS},
        },
    )


def _ratio(chars: int, window_tokens: int, cpt: float) -> str:
    return f"{chars / (window_tokens * cpt):.3f}" if window_tokens > 0 else "n/a"


def _prune_gate(clock: PruneClock) -> tuple[str, Threshold]:
    """Human status + threshold of the TTL gate (docs/design/pruning.md#the-ttl-clock,
    docs/design/context.md#distance-to-every-threshold)."""
    since = clock.ms_since_touch
    if clock.mode != "cache-ttl":
        status = f"off (mode={clock.mode})"
    elif not clock.eligible:
        status = "not eligible (provider/model)"
    elif clock.ttl_ms <= 0:
        status = "disabled (ttl 0)"
    elif since is None:
        status = "no cache touch yet (first call never prunes)"
    elif since >= clock.ttl_ms:
        status = "eligible now"
    else:
        status = f"in {format_duration(clock.ttl_ms - since)}"
    current = int(since) if since is not None else 0
    return status, _threshold("prune", current, clock.ttl_ms, f"mode={clock.mode}; {status}")
