"""Folding retry events into per-operation timelines, and drawing one as a line of text.

The Retries pane and its detail screen share this module: the pane keeps one :class:`OpTimeline`
per operation (keyed by ``op_id``) and one :class:`ProviderGauge` per provider, and folds every
batch of bus events into them before it repaints (so a flood of attempts costs one repaint).

Events are read by attribute name rather than by class, so the UI does not import the core's
event classes (the core may grow fields; the pane shows what it knows).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rich.text import Text

ATTEMPT_KIND = "retry.attempt"
OP_FINISHED_KINDS = frozenset({"retry.finished"})
COOLDOWN_KINDS = frozenset({"retry.cooldown"})
FAILOVER_KINDS = frozenset({"retry.failover"})
RATELIMIT_KINDS = frozenset({"provider.ratelimits"})

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

OUTCOME_GLYPHS: Mapping[str, str] = {
    "ok": "✓ ok",
    "success": "✓ ok",
    "done": "✓ ok",
    "fail": "✗ failed",
    "failed": "✗ failed",
    "error": "✗ failed",
    "failover": "↪ failover",
    "cancelled": "■ cancelled",
    "running": "… running",
}


def attr(obj: Any, *names: str, default: Any = None) -> Any:
    """The first attribute (or mapping key) of ``names`` that ``obj`` has and is not None."""
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return default


def _norm_class(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = getattr(value, "value", None) or str(value)
    return str(text).split(".")[-1].lower()


@dataclasses.dataclass(slots=True)
class AttemptView:
    """One attempt as shown: wall times in seconds, delays in ms, the class and decision."""

    n: int
    start: float
    end: float | None
    status: int | None
    error_class: str | None
    outcome: str
    planned_delay_ms: float | None = None
    slept_ms: float | None = None
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


@dataclasses.dataclass(slots=True)
class OpTimeline:
    """Everything known about one retried operation."""

    op_id: str
    operation: str = ""
    provider: str = ""
    model: str = ""
    max_attempts: int | None = None
    policy: Any = None
    attempts: list[AttemptView] = dataclasses.field(default_factory=list)
    outcome: str = "running"
    error: str | None = None
    failovers: list[str] = dataclasses.field(default_factory=list)
    seq: int = 0
    """Arrival order, for a stable row order and for evicting the oldest."""

    @property
    def start(self) -> float | None:
        return self.attempts[0].start if self.attempts else None

    @property
    def end(self) -> float | None:
        return self.attempts[-1].end if self.attempts else None

    def duration_ms(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max(0.0, (self.end - self.start) * 1000)

    def apply_attempt(self, event: Any) -> None:
        n = int(attr(event, "attempt", "n", default=len(self.attempts) + 1))
        view = AttemptView(
            n=n,
            start=float(attr(event, "start", default=getattr(event, "wall", 0.0))),
            end=_opt_float(attr(event, "end")),
            status=attr(event, "status"),
            error_class=_norm_class(attr(event, "error_class")),
            outcome=str(attr(event, "outcome", default="")),
            planned_delay_ms=_opt_float(attr(event, "planned_delay_ms")),
            slept_ms=_opt_float(attr(event, "slept_ms")),
            retry_after_ms=_opt_float(attr(event, "retry_after_ms")),
            model=attr(event, "model"),
        )
        # An attempt event can be re-published (start, then end): the newest wins.
        self.attempts = [a for a in self.attempts if a.n != n] + [view]
        self.attempts.sort(key=lambda a: a.n)
        self.operation = str(attr(event, "operation", default=self.operation))
        self.provider = str(attr(event, "provider", default=self.provider))
        self.model = str(attr(event, "model", default=self.model) or "")
        self.max_attempts = attr(event, "max_attempts", default=self.max_attempts)
        self.policy = attr(event, "policy", default=self.policy)
        decision = view.outcome
        if decision in ("ok", "success", "done"):
            self.outcome = "ok"
        elif decision in ("fail", "failed", "error") and self.outcome == "running":
            self.outcome = "fail"
        elif decision == "failover":
            self.outcome = "failover"

    def apply_finished(self, event: Any) -> None:
        outcome = attr(event, "outcome")
        if outcome is not None:
            self.outcome = str(outcome)
        error = attr(event, "error")
        if error:
            self.error = str(error)
        error_class = _norm_class(attr(event, "error_class"))
        if error_class and not self.error:
            self.error = error_class


def _opt_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@dataclasses.dataclass(slots=True)
class ProviderGauge:
    """Rate-limit headroom and cooldown of one provider."""

    provider: str
    requests_remaining: int | None = None
    requests_limit: int | None = None
    tokens_remaining: int | None = None
    tokens_limit: int | None = None
    reset_wall: float | None = None
    reset_text: str | None = None
    cooldown_until: float | None = None
    cooldown_reason: str | None = None
    cooldown_level: Any = None

    def apply_ratelimits(self, event: Any) -> None:
        snap = attr(event, "snapshot", default=event)
        self.requests_remaining = attr(snap, "requests_remaining", default=self.requests_remaining)
        self.requests_limit = attr(snap, "requests_limit", default=self.requests_limit)
        self.tokens_remaining = attr(snap, "tokens_remaining", "input_tokens_remaining",
                                     default=self.tokens_remaining)
        self.tokens_limit = attr(snap, "tokens_limit", "input_tokens_limit", default=self.tokens_limit)
        reset = attr(snap, "requests_reset", "tokens_reset", "input_tokens_reset")
        if isinstance(reset, (int, float)):
            self.reset_wall, self.reset_text = float(reset), None
        elif reset is not None:
            self.reset_wall, self.reset_text = None, str(reset)

    def apply_cooldown(self, event: Any) -> None:
        until = _opt_float(attr(event, "until_wall"))
        self.cooldown_until = until if until and until > 0 else None
        self.cooldown_reason = attr(event, "reason", default=None)
        self.cooldown_level = attr(event, "level", default=None)

    def cells(self, now: float) -> tuple[str, str, str, str]:
        """(requests, tokens, reset, cooldown) as shown; times relative to ``now`` (wall)."""
        requests = _fraction(self.requests_remaining, self.requests_limit)
        tokens = _fraction(self.tokens_remaining, self.tokens_limit)
        if self.reset_wall is not None:
            reset = f"in {human_ms((self.reset_wall - now) * 1000)}" if self.reset_wall > now else "now"
        else:
            reset = self.reset_text or "—"
        if self.cooldown_until is not None and self.cooldown_until > now:
            left = human_ms((self.cooldown_until - now) * 1000)
            why = f" {self.cooldown_reason}" if self.cooldown_reason else ""
            cooldown = f"{left} left{why}"
        else:
            cooldown = "none"
        return requests, tokens, reset, cooldown


def _fraction(remaining: Any, limit: Any) -> str:
    if remaining is None:
        return "—"
    return f"{remaining:,}/{limit:,}" if isinstance(limit, int) else f"{remaining:,}"


def human_ms(ms: float | None) -> str:
    """``850 ms``, ``2.1 s``, ``3m 05s``: durations as people read them."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


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
    return OUTCOME_GLYPHS.get(op.outcome, op.outcome)


def classes_text(op: OpTimeline) -> str:
    """Each attempt's label in order, e.g. ``429 rate_limit → ok``."""
    labels = [a.label for a in op.attempts]
    return " → ".join(labels) if len(labels) <= 3 else f"{labels[0]} → … → {labels[-1]} ({len(labels)})"
