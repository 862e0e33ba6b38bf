"""Drawing the Retries pane's state: an operation's attempts as one line of coloured bars, its
outcome and classes as text, a provider gauge as table cells.

The state itself is folded in :mod:`tui.models.retries`; the pane and its detail screen share
these renderers.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from tui.formatting import human_ms
from tui.models.retries import OpOutcome, OpTimeline, ProviderGauge

TIMELINE_WIDTH = 24
"""Characters of the attempt/sleep bar in the table."""

CLASS_STYLES: Mapping[str, str] = {
    "ok": "$success",
    "rate_limit": "$warning",
    "quota": "$warning",
    "overloaded": "$warning",
    "server": "$error",
    "timeout": "$error",
    "connection_before_send": "$secondary",
    "ambiguous": "$error",
    "auth": "$error",
    "billing": "$error",
    "bad_request": "$error",
    "context_overflow": "$error",
    "unknown": "$error",
    "cancelled": "dim",
}
"""Colour per error class; every coloured bar also has the class written beside it."""

OUTCOME_GLYPHS: Mapping[OpOutcome, str] = {
    "ok": "✓ ok",
    "fail": "✗ failed",
    "failover": "↪ failover",
    "cancelled": "■ cancelled",
    "running": "… running",
}
"""Glyph per operation outcome: ``RetryOperationFinished.outcome`` (``ok`` | ``fail`` |
``failover`` | ``cancelled``), or ``running`` while no attempt has ended the operation."""


def render_timeline(op: OpTimeline, styles: Mapping[str, str], width: int = TIMELINE_WIDTH) -> Text:
    """Attempts as coloured bars, sleeps as dots, ``R`` where a Retry-After set the sleep, then
    the outcome glyph. Lengths are proportional to time within the operation (each attempt gets
    at least one cell, so a fast attempt never vanishes)."""
    line = Text(no_wrap=True, overflow="crop")
    attempts = op.attempts
    if not attempts:
        return line
    start = attempts[0].start
    end = max((a.end or a.start) for a in attempts)
    total = max(end - start, 1e-6)
    cells_left = max(width - len(attempts), 0)  # each attempt's guaranteed cell
    previous_end = start
    hinted = False  # the sleep after an attempt is the one its Retry-After hint set
    for attempt in attempts:
        gap = max(attempt.start - previous_end, 0.0)
        if gap > 0 or attempt.n > 1:
            dots = min(cells_left, round(gap / total * width))
            cells_left -= dots
            if hinted:
                line.append("R", style=f"bold {styles.get('rate_limit', '')}")
                dots = max(dots - 1, 0)
            line.append("·" * dots, style="dim")
        length = (attempt.end or attempt.start) - attempt.start
        extra = min(cells_left, max(round(length / total * width) - 1, 0))
        cells_left -= extra
        line.append("█" * (1 + extra), style=styles.get(attempt.style_key, ""))
        previous_end = attempt.end or attempt.start
        hinted = bool(attempt.retry_after_ms)
    return line


def outcome_text(op: OpTimeline) -> str:
    return OUTCOME_GLYPHS[op.outcome]


def classes_text(op: OpTimeline) -> str:
    """Each attempt's label in order, e.g. ``429 rate_limit → ok``."""
    labels = [a.label for a in op.attempts]
    return " → ".join(labels) if len(labels) <= 3 else f"{labels[0]} → … → {labels[-1]} ({len(labels)})"


def gauge_cells(gauge: ProviderGauge, now: float) -> tuple[str, str, str, str]:
    """(requests, tokens, reset, cooldown) as shown; times relative to ``now`` (wall)."""
    requests = _fraction(gauge.requests_remaining, gauge.requests_limit)
    tokens = _fraction(gauge.tokens_remaining, gauge.tokens_limit)
    if gauge.reset_wall is not None:
        reset = f"in {human_ms((gauge.reset_wall - now) * 1000)}" if gauge.reset_wall > now else "now"
    else:
        reset = "—"
    if gauge.cooldown_until is not None and gauge.cooldown_until > now:
        left = human_ms((gauge.cooldown_until - now) * 1000)
        why = f" {gauge.cooldown_reason}" if gauge.cooldown_reason else ""
        cooldown = f"{left} left{why}"
    else:
        cooldown = "none"
    return requests, tokens, reset, cooldown


def _fraction(remaining: int | None, limit: int | None) -> str:
    if remaining is None:
        return "—"
    return f"{remaining:,}/{limit:,}" if limit is not None else f"{remaining:,}"
