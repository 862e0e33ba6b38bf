"""Retries pane: one timeline row per provider operation, per-provider rate-limit gauges and
cooldowns, and a drill-down into every attempt.

Rendering follows dolphie's keyed diff: every row is keyed (``op_id``, provider id), each batch
of events is first folded into state, then only cells whose text changed are rewritten with
``update_cell`` — so a flood of attempts costs one pass, not one repaint per event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.panes.base import Pane
from tui.widgets.retry_timeline import (
    ATTEMPT_KIND,
    CLASS_STYLES,
    COOLDOWN_KINDS,
    FAILOVER_KINDS,
    OP_FINISHED_KINDS,
    RATELIMIT_KINDS,
    OpTimeline,
    ProviderGauge,
    attr,
    classes_text,
    human_ms,
    outcome_text,
    render_timeline,
)

if TYPE_CHECKING:
    from core.events import Event

MAX_OPS = 200
"""Operations kept in the table; the oldest row goes when a new one arrives."""

OP_COLUMNS = ("op", "model", "timeline", "tries", "classes", "outcome", "time")
GAUGE_COLUMNS = ("provider", "requests", "tokens", "reset", "cooldown")


class RetriesPane(Pane):
    PANE_TITLE = "Retries"
    HELP_LINE = "Retries per model call; enter: attempts."
    WAITING = "Waiting for the first provider call: no retries yet."
    HELP = """\
## Retries

One row per model call (operation): its attempts as bars (colour = error class, green =
success), the sleeps between them as dots, `R` where a server's Retry-After set the
sleep, then the final outcome (✓ ok, ✗ failed, ↪ failover). The `classes` column spells
out each attempt's class so colour is never the only signal.

Below: per provider, the rate-limit headroom the provider reported (requests and tokens
remaining, when the bucket resets) and any cooldown with the time left.

`enter` on a row opens every attempt of that operation (planned vs slept delay,
Retry-After, status, class); `esc` goes back.
"""

    DEFAULT_CSS = """
    RetriesPane > #retries-ops {
        height: 1fr;
        background: $surface;
    }
    RetriesPane > #retries-gauges {
        height: auto;
        max-height: 5;
        background: $surface;
    }
    RetriesPane.-empty > DataTable {
        display: none;
    }
    RetriesPane > .pane--waiting {
        display: none;
    }
    RetriesPane.-empty > .pane--waiting {
        display: block;
    }
    """

    def __init__(
        self,
        *,
        id: str | None = None,
        classes: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.add_class("-empty")
        self.wall_clock = wall_clock
        """Wall clock for cooldown and reset countdowns (inject a fixed one in tests)."""
        self.ops: dict[str, OpTimeline] = {}
        self.gauges: dict[str, ProviderGauge] = {}
        self._seq = 0
        self._shown_ops: dict[str, tuple[object, ...]] = {}
        self._shown_gauges: dict[str, tuple[str, ...]] = {}
        self.cell_updates = 0
        """Cells rewritten since mount (tests check that unchanged rows cost nothing)."""
        self._ops_table = DataTable(id="retries-ops", cursor_type="row", zebra_stripes=True)
        self._gauge_table = DataTable(id="retries-gauges", cursor_type="none", show_cursor=False)

    def compose_body(self) -> ComposeResult:
        yield self._ops_table
        yield self._gauge_table

    def on_mount(self) -> None:
        for name in OP_COLUMNS:
            self._ops_table.add_column(name, key=name)
        for name in GAUGE_COLUMNS:
            self._gauge_table.add_column(name, key=name)
        # Countdowns (cooldown left, reset in) move without events: tick once a second, which
        # rewrites only the cells whose text changed.
        self.set_interval(1.0, self._refresh_gauges, name="retries-countdown")
        self._update_subtitle()

    def focus_target(self) -> Widget:
        return self._ops_table

    # -- events -----------------------------------------------------------------------------

    def apply_events(self, events: Sequence[Event]) -> None:
        touched_ops: set[str] = set()
        touched_gauges = False
        for event in events:
            kind = event.kind
            if kind == ATTEMPT_KIND:
                op = self._op(event)
                op.apply_attempt(event)
                touched_ops.add(op.op_id)
            elif kind in OP_FINISHED_KINDS:
                op = self._op(event)
                op.apply_finished(event)
                touched_ops.add(op.op_id)
            elif kind in FAILOVER_KINDS:
                op_id = attr(event, "op_id")
                if op_id is not None and str(op_id) in self.ops:
                    to_ref = attr(event, "to_ref", "to_model", default="?")
                    self.ops[str(op_id)].failovers.append(str(to_ref))
                    touched_ops.add(str(op_id))
            elif kind in RATELIMIT_KINDS:
                self._gauge(event).apply_ratelimits(event)
                touched_gauges = True
            elif kind in COOLDOWN_KINDS:
                self._gauge(event).apply_cooldown(event)
                touched_gauges = True
        if touched_ops:
            self._evict()
            self._refresh_ops(touched_ops)
        if touched_gauges:
            self._refresh_gauges()
        if touched_ops or touched_gauges:
            self.set_class(not self.ops and not self.gauges, "-empty")
            self._update_subtitle()

    def _op(self, event: Event) -> OpTimeline:
        op_id = str(attr(event, "op_id", default="?"))
        op = self.ops.get(op_id)
        if op is None:
            self._seq += 1
            op = self.ops[op_id] = OpTimeline(op_id=op_id, seq=self._seq)
        return op

    def _gauge(self, event: Event) -> ProviderGauge:
        snapshot = attr(event, "snapshot", default=None)
        provider = str(attr(event, "provider", default=None) or attr(snapshot, "provider", default="?"))
        gauge = self.gauges.get(provider)
        if gauge is None:
            gauge = self.gauges[provider] = ProviderGauge(provider)
        return gauge

    def _evict(self) -> None:
        if len(self.ops) <= MAX_OPS:
            return
        for op in sorted(self.ops.values(), key=lambda o: o.seq)[: len(self.ops) - MAX_OPS]:
            del self.ops[op.op_id]
            if op.op_id in self._shown_ops:
                del self._shown_ops[op.op_id]
                self._ops_table.remove_row(op.op_id)

    # -- keyed diff rendering ---------------------------------------------------------------

    def _styles(self) -> dict[str, str]:
        variables = self.app.theme_variables
        return {
            key: " ".join(variables.get(t[1:], "") if t.startswith("$") else t for t in style.split())
            for key, style in CLASS_STYLES.items()
        }

    def _op_cells(self, op: OpTimeline, styles: dict[str, str]) -> tuple[object, ...]:
        tries = f"{len(op.attempts)}/{op.max_attempts}" if op.max_attempts else str(len(op.attempts))
        outcome = outcome_text(op)
        if op.failovers:
            outcome += f" → {op.failovers[-1]}"
        outcome_style = {"ok": styles.get("ok", ""), "fail": styles.get("ambiguous", "")}.get(op.outcome, "")
        return (
            op.op_id[-8:],
            op.model or op.provider,
            render_timeline(op, styles),
            tries,
            classes_text(op),
            Text(outcome, style=outcome_style),
            human_ms(op.duration_ms()),
        )

    def _refresh_ops(self, op_ids: set[str]) -> None:
        table = self._ops_table
        styles = self._styles()
        for op_id in sorted(op_ids, key=lambda k: self.ops[k].seq if k in self.ops else 0):
            op = self.ops.get(op_id)
            if op is None:
                continue
            cells = self._op_cells(op, styles)
            shown = self._shown_ops.get(op_id)
            if shown is None:
                table.add_row(*cells, key=op_id)
                self.cell_updates += len(cells)
            else:
                for column, old, new in zip(OP_COLUMNS, shown, cells, strict=True):
                    if not _same(old, new):
                        table.update_cell(op_id, column, new)
                        self.cell_updates += 1
            self._shown_ops[op_id] = cells

    def _refresh_gauges(self) -> None:
        table = self._gauge_table
        now = self.wall_clock()
        for provider in sorted(self.gauges):
            cells = (provider, *self.gauges[provider].cells(now))
            shown = self._shown_gauges.get(provider)
            if shown is None:
                table.add_row(*cells, key=provider)
                self.cell_updates += len(cells)
            elif shown != cells:
                for column, old, new in zip(GAUGE_COLUMNS, shown, cells, strict=True):
                    if old != new:
                        table.update_cell(provider, column, new)
                        self.cell_updates += 1
            self._shown_gauges[provider] = cells

    def _update_subtitle(self) -> None:
        failed = sum(1 for op in self.ops.values() if op.outcome not in ("ok", "running"))
        retried = sum(1 for op in self.ops.values() if len(op.attempts) > 1)
        self.border_subtitle = f"{len(self.ops)} ops · {retried} retried · {failed} failed"

    # -- drill-down ---------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#retries-ops")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        from tui.screens.retry_detail import RetryDetailScreen

        op = self.ops.get(str(event.row_key.value))
        if op is not None:
            self.app.push_screen(RetryDetailScreen(op))


def _same(old: object, new: object) -> bool:
    """Equal as shown: same text and, for rich text, the same styled spans."""
    if isinstance(old, Text) and isinstance(new, Text):
        return old.plain == new.plain and old.spans == new.spans and old.style == new.style
    return old == new
