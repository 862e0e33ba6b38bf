"""Drill-down of one sandbox container: its limits, hardening, recent samples, limit hits and
exec log (the "why" behind a row of the Sandbox pane). ``esc`` goes back.

Shows a snapshot of the pane's state taken when it was opened, like the retry detail: a modal
that kept changing under the reader would be harder to read than one that is re-opened.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui.models.sandbox import NOT_ISOLATED, ContainerState
from tui.screens.help import FramedModal
from tui.widgets.sandbox_cells import exec_cells, human_bytes, short_hardening

SAMPLE_COLUMNS = ("#", "cpu %", "memory", "pids", "throttled", "state")
EXEC_COLUMNS = ("container", "command", "exit", "took", "note")
SAMPLES_SHOWN = 12


class SandboxDetailScreen(FramedModal):
    """One container's limits, hardening, last samples and exec log."""

    DEFAULT_CSS = """
    SandboxDetailScreen {
        & > Vertical { width: 110; }
        #sandbox-detail-summary { height: auto; }
        #sandbox-detail-isolation { height: auto; color: $text-error; text-style: bold; }
        DataTable { height: auto; max-height: 14; }
        .detail--hint { color: $text-muted; height: 1; }
        .detail--heading { height: 1; text-style: bold; margin-top: 1; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close_detail", "Back", id="close-sandbox-detail")]

    def __init__(self, state: ContainerState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        state = self.state
        with Vertical() as box:
            box.border_title = f"Sandbox {state.name}"
            if not state.isolated:
                yield Static(f"{NOT_ISOLATED}: host processes (process fallback) — no network, filesystem "
                             "or capability isolation; only rlimits apply.", id="sandbox-detail-isolation",
                             markup=False)
            yield Static(self.summary(), id="sandbox-detail-summary", markup=False)
            yield Static("Recent samples", classes="detail--heading", markup=False)
            yield DataTable(id="sandbox-detail-samples", cursor_type="row", zebra_stripes=True)
            yield Static("Exec log", classes="detail--heading", markup=False)
            yield DataTable(id="sandbox-detail-execs", cursor_type="none", show_cursor=False)
            yield Static("esc goes back", classes="detail--hint", markup=False)

    def summary(self) -> str:
        """Backend, scope, limits, hardening, limit hits and live limit changes, as lines."""
        s = self.state
        backend = s.backend if s.isolated else f"{s.backend} — {NOT_ISOLATED}"
        cpus = f"{s.cpus:g} cpus" if s.cpus else "cpus unlimited"
        lines = [
            f"backend {backend} · scope {s.scope or '?'}",
            f"limits: {cpus} · memory {human_bytes(s.memory_limit)} · pids {s.pids_limit or '∞'}",
            f"hardening: {short_hardening(s.hardening)}",
        ]
        if s.memory_swap:
            lines[1] += f" · memory+swap {human_bytes(s.memory_swap)}"
        if s.hits:
            lines.append("limit hits: " + "; ".join(f"{limit} ({detail})" for limit, detail in list(s.hits)[-5:]))
        else:
            lines.append("limit hits: none")
        if s.updates:
            lines.append("live limit changes: " + "; ".join(s.updates[-3:]))
        return "\n".join(lines)

    def on_mount(self) -> None:
        samples = self.query_one("#sandbox-detail-samples", DataTable)
        samples.add_columns(*SAMPLE_COLUMNS)
        recent = list(self.state.samples)[-SAMPLES_SHOWN:]
        for n, sample in enumerate(reversed(recent), start=1):
            samples.add_row(
                str(n),
                f"{sample.cpu_percent:.1f}",
                f"{human_bytes(sample.memory_bytes)} / {human_bytes(sample.memory_limit_bytes)}",
                f"{sample.pids} / {sample.pids_limit or '∞'}",
                str(sample.throttled_periods),
                "stale" if sample.stale else "fresh",
                key=str(n),
            )
        execs = self.query_one("#sandbox-detail-execs", DataTable)
        execs.add_columns(*EXEC_COLUMNS)
        for n, event in enumerate(reversed(list(self.state.execs)[-SAMPLES_SHOWN:]), start=1):
            execs.add_row(*exec_cells(event), key=str(n))
        samples.focus()

    def action_close_detail(self) -> None:
        self.dismiss(None)
