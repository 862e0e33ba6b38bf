"""Event kinds of context accounting: report totals, window-guard hits, calibration updates.

No event carries message or prompt text — only sizes (docs/design/retry.md#retry-events), so the store stays small
and nothing private leaks into telemetry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

from core.events.base import Event, register_kind

__all__ = ["ContextCalibrated", "ContextReportUpdated", "ContextWindowGuard", "GuardLevel"]

GuardLevel = Literal["warn", "block"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ContextReportUpdated(Event):
    """A session's context accounting changed. The dashboard's Context pane renders from this.

    ``categories`` maps category → estimated tokens (``system_prompt``, ``project_context``,
    ``tool_schemas``, ``skills``, ``user``, ``assistant_text``, ``thinking``, ``tool_calls``,
    ``tool_results``, ``images``, ``compaction_summaries``, ``other``, ``reserved_output``,
    ``free``). ``thresholds`` maps ``softTrim``/``hardClear``/``compaction``/``memoryFlush`` →
    tokens remaining (negative = crossed). ``actual_input_tokens`` is the provider's figure for
    the last request, when one arrived.
    """

    kind = "context.report"
    session_id: str
    model: str
    window_tokens: int
    window_source: str
    estimated_tokens: int
    free_tokens: int
    reserved_output_tokens: int
    categories: Mapping[str, int]
    thresholds: Mapping[str, int]
    chars_per_token: float
    calibrated: bool = False
    actual_input_tokens: int | None = None


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ContextWindowGuard(Event):
    """The effective window is below the warn (32000) or block (16000) level
    (docs/design/context.md#context-window-resolution); ``level`` is ``warn`` or ``block`` (the run was refused)."""

    kind = "context.window_guard"
    model: str
    tokens: int
    source: str
    level: GuardLevel
    warn_below: int
    block_below: int


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ContextCalibrated(Event):
    """A usage sample updated a model's chars-per-token average (docs/design/context.md#chars-per-token-calibration).

    ``ratio`` is the new moving average, ``sample_ratio`` this request's chars/tokens,
    ``active`` whether the average is now in use (≥ 5 samples), ``error_pct`` how far the
    token estimate made before the response was from the actual count (signed, % of actual).
    """

    kind = "context.calibrated"
    model: str
    ratio: float
    sample_ratio: float
    samples: int
    active: bool
    estimated_tokens: int
    actual_tokens: int
    error_pct: float
