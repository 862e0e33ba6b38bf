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
from textual.widgets import DataTable

from tui.formatting import human_ms, settings_cell
from tui.models.retries import OpTimeline, ProviderGauge, RetriesModel
from tui.models.tune import Scope, retry_scope
from tui.panes.base import Pane, same_cell
from tui.screens.retry_detail import RetryDetailScreen
from tui.widgets.retry_timeline import (
    CLASS_STYLES,
    classes_text,
    gauge_cells,
    outcome_text,
    render_timeline,
)

if TYPE_CHECKING:
    from core.events import Event
    from core.view import GatewayView

OP_COLUMNS = ("op", "model", "timeline", "tries", "classes", "outcome", "time")
SETTINGS_COLUMN = "settings"
"""Added once an operation that ran under a tuning ends: which tuning's settings it ran with."""
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

`t` opens the Tune screen for the retry policy: the global `retry.*` and the
highlighted call's provider overrides. A `settings` column appears once an operation ran
under a tuning.
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
        gateway: GatewayView,
        *,
        id: str | None = None,
        classes: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(gateway, id=id, classes=classes)
        self.add_class("-empty")
        self.wall_clock = wall_clock
        """Wall clock for cooldown and reset countdowns (inject a fixed one in tests)."""
        self.model = RetriesModel()
        self._shown_ops: dict[str, tuple[object, ...]] = {}
        self._shown_gauges: dict[str, tuple[str, ...]] = {}
        self.cell_updates = 0
        """Cells rewritten since mount (tests check that unchanged rows cost nothing)."""
        self._op_columns: tuple[str, ...] = OP_COLUMNS
        self._ops_table: DataTable[object] = DataTable(id="retries-ops", cursor_type="row", zebra_stripes=True)
        self._gauge_table: DataTable[object] = DataTable(id="retries-gauges", cursor_type="none", show_cursor=False)

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

    def tune_scope(self) -> Scope:
        """The retry policy of the highlighted operation's provider (its overrides, then the
        global one); with no row, the global policy."""
        table = self._ops_table
        op = None
        if table.row_count:
            try:
                op = self.ops.get(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))
            except Exception:  # noqa: BLE001 — no valid cursor yet
                op = None
        return retry_scope(op.provider if op is not None and op.provider else None)

    # -- events -----------------------------------------------------------------------------

    @property
    def ops(self) -> dict[str, OpTimeline]:
        return self.model.ops

    @property
    def gauges(self) -> dict[str, ProviderGauge]:
        return self.model.gauges

    def apply_events(self, events: Sequence[Event]) -> None:
        change = self.model.apply(events)
        if not change:
            return
        for op_id in change.evicted:
            if self._shown_ops.pop(op_id, None) is not None:
                self._ops_table.remove_row(op_id)
        if change.ops:
            self._refresh_ops(set(change.ops))
        if change.gauges:
            self._refresh_gauges()
        self.set_class(not self.ops and not self.gauges, "-empty")
        self._update_subtitle()

    # -- keyed diff rendering ---------------------------------------------------------------

    def _styles(self) -> dict[str, str]:
        variables = self.app.theme_variables
        return {
            key: " ".join(variables.get(t[1:], "") if t.startswith("$") else t for t in style.split())
            for key, style in CLASS_STYLES.items()
        }

    def _op_cells(self, op: OpTimeline, styles: dict[str, str]) -> tuple[object, ...]:
        tries = op.tries_text()
        outcome = outcome_text(op)
        if op.failovers:
            outcome += f" → {op.failovers[-1]}"
        outcome_style = {"ok": styles.get("ok", ""), "fail": styles.get("ambiguous", "")}.get(op.outcome, "")
        cells: tuple[object, ...] = (
            op.op_id[-8:],
            op.model or op.provider,
            render_timeline(op, styles),
            tries,
            classes_text(op),
            Text(outcome, style=outcome_style),
            human_ms(op.duration_ms()),
        )
        if SETTINGS_COLUMN in self._op_columns:
            cells += (settings_cell(op.settings_version),)
        return cells

    def _show_settings_column(self) -> None:
        """The first operation run under a tuning adds the settings column (existing rows: —)."""
        self._ops_table.add_column(SETTINGS_COLUMN, key=SETTINGS_COLUMN, default="—")
        self._op_columns = (*OP_COLUMNS, SETTINGS_COLUMN)
        self._shown_ops = {key: (*cells, "—") for key, cells in self._shown_ops.items()}

    def _refresh_ops(self, op_ids: set[str]) -> None:
        table = self._ops_table
        if SETTINGS_COLUMN not in self._op_columns and any(
                op.settings_version for key in op_ids if (op := self.ops.get(key)) is not None):
            self._show_settings_column()
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
                for column, old, new in zip(self._op_columns, shown, cells, strict=True):
                    if not same_cell(old, new):
                        table.update_cell(op_id, column, new)
                        self.cell_updates += 1
            self._shown_ops[op_id] = cells

    def _refresh_gauges(self) -> None:
        table = self._gauge_table
        now = self.wall_clock()
        for provider in sorted(self.gauges):
            cells = (provider, *gauge_cells(self.gauges[provider], now))
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
        model = self.model
        self.border_subtitle = f"{len(model.ops)} ops · {model.retried} retried · {model.failed} failed"

    # -- drill-down ---------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#retries-ops")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        op = self.ops.get(str(event.row_key.value))
        if op is not None:
            self.app.push_screen(RetryDetailScreen(op))
