"""Drill-down of one retried operation: every attempt with planned vs slept delay, Retry-After,
status, class and decision (the "why" behind a row of the Retries pane). ``esc`` goes back."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui.formatting import human_ms
from tui.models.retries import OpTimeline
from tui.screens.help import FramedModal
from tui.widgets.retry_timeline import outcome_text

COLUMNS = ("#", "start", "took", "status", "class", "planned", "slept", "retry-after", "decision")


class RetryDetailScreen(FramedModal):
    """Shows a snapshot of the operation taken when it was opened."""

    DEFAULT_CSS = """
    RetryDetailScreen {
        & > Vertical { width: 110; }
        #retry-detail-summary { height: auto; }
        DataTable { height: auto; max-height: 24; }
        .detail--hint { color: $text-muted; height: 1; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close_detail", "Back", id="close-retry-detail")]

    def __init__(self, op: OpTimeline) -> None:
        super().__init__()
        self.op = op

    def compose(self) -> ComposeResult:
        op = self.op
        with Vertical() as box:
            box.border_title = f"Operation {op.op_id}"
            yield Static(self._summary(), id="retry-detail-summary", markup=False)
            yield DataTable(id="retry-detail-attempts", cursor_type="row", zebra_stripes=True)
            yield Static("esc goes back", classes="detail--hint", markup=False)

    def _summary(self) -> str:
        op = self.op
        lines = [
            f"{op.operation or 'operation'} · provider {op.provider or '?'} · model {op.model or '?'}",
            f"outcome {outcome_text(op)} · attempts {op.tries_text()}"
            + f" · total {human_ms(op.duration_ms())}",
        ]
        if op.failovers:
            lines.append("failed over to " + ", ".join(op.failovers))
        if op.error:
            lines.append(f"error: {op.error}")
        if op.policy:
            lines.append(f"policy: {op.policy}")
        if op.settings_version:
            lines.append(f"settings: tuning {op.settings_version}")
        return "\n".join(lines)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        origin = self.op.start or 0.0
        for a in self.op.attempts:
            took = human_ms((a.end - a.start) * 1000)
            table.add_row(
                str(a.n),
                f"+{a.start - origin:.3f} s",
                took,
                str(a.status) if a.status else "—",
                a.error_class or "ok",
                human_ms(a.planned_delay_ms),
                human_ms(a.slept_ms) if a.n > 1 else "—",
                human_ms(a.retry_after_ms) if a.retry_after_ms is not None else "—",
                a.outcome,
                key=str(a.n),
            )
        table.focus()

    def action_close_detail(self) -> None:
        self.dismiss(None)
